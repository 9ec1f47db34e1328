//! Talking to the two processes over HTTP: `billingd`'s API and hosted pages as a business and
//! a customer would, and the fake Stripe's control API (`/_fake/...`) as Stripe's dashboard,
//! the card networks and the test's own eyes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::Fallible;

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The body.
    pub text: String,
}

impl Answer {
    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer when it is 2xx; else an error naming `what`.
    pub fn expect_ok(self, what: &str) -> Fallible<Answer> {
        if self.ok() {
            Ok(self)
        } else {
            Err(format!("{what}: {} {}", self.status, self.text))
        }
    }
}

/// How many times a set-up step that Stripe's faults left unanswered is made again.
const SET_UP_ATTEMPTS: u32 = 5;

fn client() -> Fallible<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        // The pay page answers with pages, never a redirect the campaign must follow.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

async fn read(response: reqwest::Response) -> Fallible<Answer> {
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer { status, json, text })
}

/// `billingd`'s API, as one business (its API key).
#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    /// The API at `base` with the business's key.
    pub fn new(base: &str, key: &str) -> Fallible<Api> {
        Ok(Api {
            client: client()?,
            base: base.to_owned(),
            key: key.to_owned(),
        })
    }

    /// A request; `Err` only when no answer came (the process was killed, say).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Fallible<Answer> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: no answer: {e}"))?;
        read(response).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Fallible<Answer> {
        self.call(Method::GET, path, None, None).await
    }

    /// POST.
    pub async fn post(&self, path: &str, body: Value) -> Fallible<Answer> {
        self.call(Method::POST, path, Some(body), None).await
    }

    /// PUT.
    pub async fn put(&self, path: &str, body: Value) -> Fallible<Answer> {
        self.call(Method::PUT, path, Some(body), None).await
    }

    /// The customer's form on a payment link's page, paying with a test card of Stripe's
    /// (what Stripe.js would have made).
    pub async fn pay_link(&self, url: &str, payment_method: &str) -> Fallible<Answer> {
        let response = self
            .client
            .post(url)
            .form(&[("payment_method", payment_method)])
            .send()
            .await
            .map_err(|e| format!("POST {url}: no answer: {e}"))?;
        read(response).await
    }

    /// A customer with an email address and a saved test card.
    pub async fn customer_with_card(&self, id: &str, card: &str) -> Fallible<()> {
        let body = json!({"id": id, "name": format!("Customer {id}"), "email": format!("{id}@example.com")});
        self.post("/v1/customers", body)
            .await?
            .expect_ok("a customer")?;
        // Stripe's faults reach the set-up too: a card whose attachment was not answered
        // (5xx) is attached again, as a person would (attaching it twice is no error), so
        // that the campaign starts from its intended state.
        let path = format!("/v1/customers/{id}/payment-methods");
        let mut attempts = 0;
        loop {
            attempts += 1;
            let answer = self.post(&path, json!({"payment_method": card})).await?;
            if answer.status < 500 || attempts == SET_UP_ATTEMPTS {
                answer.expect_ok("a card")?;
                return Ok(());
            }
        }
    }

    /// A USD booking of `customer` priced `cents`.
    pub async fn booking(&self, id: &str, customer: &str, cents: i64) -> Fallible<()> {
        let body = json!({
            "customer": customer,
            "currency": "USD",
            "line_items": [{"kind": "service", "label": "Home cleaning", "amount": dollars(cents)}],
        });
        self.put(&format!("/v1/bookings/{id}"), body)
            .await?
            .expect_ok("a booking")?;
        Ok(())
    }

    /// Every booking of the business, with its payments.
    pub async fn bookings(&self) -> Fallible<Vec<Value>> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(last) => format!("/v1/bookings?limit=100&after={last}"),
                None => "/v1/bookings?limit=100".to_owned(),
            };
            let page = self.get(&path).await?.expect_ok("the bookings")?;
            let Some(summaries) = page.json["data"].as_array() else {
                return Err(format!("the bookings: no data in {}", page.text));
            };
            for summary in summaries {
                let id = summary["id"].as_str().unwrap_or_default();
                let booking = self
                    .get(&format!("/v1/bookings/{id}"))
                    .await?
                    .expect_ok("a booking")?;
                found.push(booking.json);
            }
            match page.json["next_after"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(found),
            }
        }
    }
}

/// The fake Stripe's control API.
#[derive(Debug, Clone)]
pub struct Fake {
    client: reqwest::Client,
    base: String,
}

impl Fake {
    /// The control API of the fake at `base`.
    pub fn new(base: &str) -> Fallible<Fake> {
        Ok(Fake {
            client: client()?,
            base: base.to_owned(),
        })
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Fallible<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}/_fake/{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("fake {method} {path}: {e}"))?;
        let answer = read(response).await?;
        Ok(answer.expect_ok(&format!("fake {method} {path}"))?.json)
    }

    /// POST to the control API.
    pub async fn post(&self, path: &str, body: Value) -> Fallible<Value> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Its own records: every PaymentIntent with its refunds and disputes.
    pub async fn state(&self) -> Fallible<Value> {
        self.send(Method::GET, "state", None).await
    }

    /// How many webhook deliveries are still to be made (or retried).
    pub async fn deliveries_pending(&self) -> Fallible<u64> {
        let webhooks = self.send(Method::GET, "webhooks", None).await?;
        Ok(webhooks["pending"].as_u64().unwrap_or(0))
    }

    /// Every event the fake emitted on the platform account, oldest first, read through its
    /// Stripe API (`GET /v1/events`, newest first, a page at a time) with `secret_key`.
    pub async fn events(&self, secret_key: &str) -> Fallible<Vec<Value>> {
        let mut newest_first: Vec<Value> = Vec::new();
        loop {
            let mut url = format!("{}/v1/events?limit=100", self.base);
            if let Some(last) = newest_first.last().and_then(|e| e["id"].as_str()) {
                url.push_str("&starting_after=");
                url.push_str(last);
            }
            let response = self
                .client
                .get(&url)
                .bearer_auth(secret_key)
                .send()
                .await
                .map_err(|e| format!("fake GET /v1/events: {e}"))?;
            let page = read(response).await?.expect_ok("fake GET /v1/events")?;
            let data = page.json["data"].as_array().cloned().unwrap_or_default();
            let more = page.json["has_more"] == Value::Bool(true) && !data.is_empty();
            newest_first.extend(data);
            if !more {
                break;
            }
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    /// The delivery attempts so far.
    pub async fn delivery_attempts(&self) -> Fallible<Vec<Value>> {
        let webhooks = self.send(Method::GET, "webhooks", None).await?;
        Ok(webhooks["attempts"].as_array().cloned().unwrap_or_default())
    }
}

/// `cents` as the API's decimal string (`"12.34"`).
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// A money object's amount (`{"amount": "12.34", ...}`) in cents.
pub fn cents(money: &Value) -> Fallible<i64> {
    let text = money["amount"]
        .as_str()
        .or_else(|| money.as_str())
        .ok_or_else(|| format!("not an amount: {money}"))?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let bad = || format!("not an amount of cents: {text:?}");
    if fraction.len() > 2 || units.is_empty() {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<2}").parse().map_err(|_| bad())?
    };
    let value = units * 100 + fraction;
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_and_written() {
        assert_eq!(dollars(1234), "12.34");
        assert_eq!(dollars(5), "0.05");
        assert_eq!(dollars(-250), "-2.50");
        assert_eq!(cents(&json!({"amount": "12.34"})).ok(), Some(1234));
        assert_eq!(cents(&json!({"amount": "12.3"})).ok(), Some(1230));
        assert_eq!(cents(&json!({"amount": "-0.05"})).ok(), Some(-5));
        assert_eq!(cents(&json!({"amount": "7"})).ok(), Some(700));
        assert!(cents(&json!({"amount": "1.234"})).is_err());
        assert!(cents(&json!({})).is_err());
    }
}
