//! The money moves a crash campaign kills `billingd` in the middle of: what each needs first
//! (made by a process that is not armed), and the request that reaches the armed gateway call.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Fallible;
use super::api::{Answer, Api, dollars};
use super::process::POLL;
use super::rng::Rng;

/// The operations a recovery point is armed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A staff charge of a booking's saved card.
    Charge,
    /// A hold placed on a booking's saved card.
    Hold,
    /// A capture of a hold, whole or in part.
    Capture,
    /// A hold released.
    Release,
    /// A refund of a charge, whole or in part.
    Refund,
    /// A customer paying on a payment link's page.
    LinkPayment,
    /// One booking's charge within a bulk charge.
    BulkCharge,
}

impl Kind {
    /// Every kind, in the table's order.
    pub const ALL: [Kind; 7] = [
        Kind::Charge,
        Kind::Hold,
        Kind::Capture,
        Kind::Release,
        Kind::Refund,
        Kind::LinkPayment,
        Kind::BulkCharge,
    ];

    /// Its name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Hold => "hold",
            Kind::Capture => "capture",
            Kind::Release => "release",
            Kind::Refund => "refund",
            Kind::LinkPayment => "link payment",
            Kind::BulkCharge => "bulk charge",
        }
    }

    /// The gateway operation armed (`BILLINGD_CHAOS_PAUSE`'s second part).
    pub fn operation(self) -> &'static str {
        match self {
            Kind::Charge | Kind::LinkPayment | Kind::BulkCharge => "charge",
            Kind::Hold => "authorize",
            Kind::Capture => "capture",
            Kind::Release => "cancel",
            Kind::Refund => "refund",
        }
    }
}

/// Where, around the gateway call, `billingd` is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Point {
    /// The payment recorded pending, the gateway not asked.
    BeforeGateway,
    /// The gateway did it; its answer not recorded.
    AfterGateway,
}

impl Point {
    /// Both points.
    pub const ALL: [Point; 2] = [Point::BeforeGateway, Point::AfterGateway];

    /// The name in `BILLINGD_CHAOS_PAUSE` and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Point::BeforeGateway => "before_gateway",
            Point::AfterGateway => "after_gateway",
        }
    }
}

/// The request that reaches the armed call.
#[derive(Debug, Clone)]
enum Request {
    /// A POST to the API, under an idempotency key.
    Api {
        path: String,
        body: Value,
        key: String,
    },
    /// The pay page's form.
    PayPage { url: String },
}

/// A step ready to run: its booking(s) exist, and what it acts on is in place.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What is killed.
    pub kind: Kind,
    /// Where.
    pub point: Point,
    /// Which call of the operation pauses (a bulk charge's nth booking; else the first).
    pub nth: i64,
    /// The bookings it acts on.
    pub bookings: Vec<String>,
    /// The payment link it pays, if any (`lnk_...`).
    pub link: Option<String>,
    request: Request,
}

impl Prepared {
    /// The value of `BILLINGD_CHAOS_PAUSE`.
    pub fn pause(&self) -> String {
        format!(
            "{}:{}:{}",
            self.point.name(),
            self.kind.operation(),
            self.nth
        )
    }

    /// Sends the request that reaches the armed call; it never answers when the pause holds.
    pub async fn send(&self, api: &Api) -> Fallible<Answer> {
        match &self.request {
            Request::Api { path, body, key } => {
                api.call(
                    reqwest::Method::POST,
                    path,
                    Some(body.clone()),
                    Some(key.as_str()),
                )
                .await
            }
            Request::PayPage { url } => api.pay_link(url, "pm_card_visa").await,
        }
    }
}

/// The customers with saved cards that staff charge.
pub const CUSTOMERS: [(&str, &str); 3] = [
    ("cust-ana", "pm_card_visa"),
    ("cust-ben", "pm_card_mastercard"),
    ("cust-cho", "pm_card_visa"),
];

/// Makes the run's customers and their cards.
pub async fn customers(api: &Api) -> Fallible<()> {
    for (id, card) in CUSTOMERS {
        api.customer_with_card(id, card).await?;
    }
    Ok(())
}

/// A booking's price: Stripe's USD minimum is 0.50, and a partial amount must leave as much.
fn price(rng: &mut Rng) -> i64 {
    rng.between(20, 400) * 100 + rng.between(0, 99)
}

/// Part of `whole`, at least 0.50 and leaving at least 0.50.
fn part(rng: &mut Rng, whole: i64) -> i64 {
    rng.between(50, (whole - 50).max(50))
}

/// A customer of the run, chosen at random.
fn customer(rng: &mut Rng) -> &'static str {
    rng.pick(&CUSTOMERS).map_or(CUSTOMERS[0].0, |c| c.0)
}

/// What a step needs first, made with the unarmed process at `api`: step `number` of the run.
pub async fn prepare(
    api: &Api,
    rng: &mut Rng,
    number: usize,
    kind: Kind,
    point: Point,
) -> Fallible<Prepared> {
    let booking = format!("s{number:02}-{}", kind.operation());
    let key = format!("chaos-s{number:02}");
    let cents = price(rng);
    let payer = customer(rng);
    let mut nth = 1;
    let mut link = None;
    let mut bookings = vec![booking.clone()];
    let request = match kind {
        Kind::Charge | Kind::Hold => {
            api.booking(&booking, payer, cents).await?;
            let amount = rng.chance(50).then(|| dollars(part(rng, cents)));
            let route = if kind == Kind::Charge {
                "charges"
            } else {
                "authorizations"
            };
            Request::Api {
                path: format!("/v1/bookings/{booking}/{route}"),
                body: json!({"amount": amount}),
                key,
            }
        }
        Kind::Capture | Kind::Release => {
            api.booking(&booking, payer, cents).await?;
            let placed = api
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/bookings/{booking}/authorizations"),
                    Some(json!({})),
                    Some(&format!("{key}-hold")),
                )
                .await?;
            let hold = settled(api, placed, "authorized").await?;
            if kind == Kind::Release {
                Request::Api {
                    path: format!("/v1/payments/{hold}/cancel"),
                    body: json!({}),
                    key,
                }
            } else {
                let body = match rng.between(0, 2) {
                    0 => json!({}),
                    1 => json!({"amount": dollars(part(rng, cents)), "final": true}),
                    _ => json!({"amount": dollars(part(rng, cents)), "final": false}),
                };
                Request::Api {
                    path: format!("/v1/payments/{hold}/captures"),
                    body,
                    key,
                }
            }
        }
        Kind::Refund => {
            api.booking(&booking, payer, cents).await?;
            let made = api
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/bookings/{booking}/charges"),
                    Some(json!({})),
                    Some(&format!("{key}-charge")),
                )
                .await?;
            let charge = settled(api, made, "succeeded").await?;
            let amount = rng.chance(50).then(|| dollars(part(rng, cents)));
            Request::Api {
                path: format!("/v1/payments/{charge}/refunds"),
                body: json!({"amount": amount, "reason": "requested_by_customer"}),
                key,
            }
        }
        Kind::LinkPayment => {
            // A customer of their own, so that their receipts count this link's alone.
            let customer = format!("cust-link-s{number:02}");
            let body = json!({"id": customer, "name": "Link Payer", "email": format!("{customer}@example.com")});
            api.post("/v1/customers", body)
                .await?
                .expect_ok("a link's customer")?;
            api.booking(&booking, &customer, cents).await?;
            let issued = api
                .post(
                    "/v1/payment-links",
                    json!({"customer": customer, "bookings": [booking], "send_email": false}),
                )
                .await?
                .expect_ok("a payment link")?;
            // The link's fields are at the top of the answer, beside its URL.
            let id = issued.json["id"]
                .as_str()
                .ok_or_else(|| format!("a payment link without an id: {}", issued.text))?;
            link = Some(id.to_owned());
            let url = issued.json["url"]
                .as_str()
                .ok_or_else(|| format!("a payment link without a URL: {}", issued.text))?;
            Request::PayPage {
                url: url.to_owned(),
            }
        }
        Kind::BulkCharge => {
            let count = rng.between(2, 5);
            bookings.clear();
            for i in 1..=count {
                let id = format!("{booking}-{i}");
                let payer = customer(rng);
                api.booking(&id, payer, price(rng)).await?;
                bookings.push(id);
            }
            nth = rng.between(1, count);
            Request::Api {
                path: "/v1/charges/bulk".to_owned(),
                body: json!({"bookings": bookings}),
                key,
            }
        }
    };
    Ok(Prepared {
        kind,
        point,
        nth,
        bookings,
        link,
        request,
    })
}

/// The payment a preparing command made, once it is in `state`: a lost answer leaves it
/// pending, and it is reconciled until the gateway's record settles it (30 s at most).
async fn settled(api: &Api, answer: Answer, state: &str) -> Fallible<String> {
    let answer = answer.expect_ok("a preparing payment")?;
    let id = answer.json["payment"]["id"]
        .as_str()
        .ok_or_else(|| format!("no payment in {}", answer.text))?
        .to_owned();
    let mut now = answer.json["payment"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while now == "pending" && Instant::now() < deadline {
        tokio::time::sleep(POLL * 4).await;
        let answer = api
            .post(&format!("/v1/payments/{id}/reconcile"), json!({}))
            .await?;
        if let Some(state) = answer.json["payment"]["state"].as_str() {
            now = state.to_owned();
        }
    }
    if now == state {
        Ok(id)
    } else {
        Err(format!("preparing payment {id} ended {now}, not {state}"))
    }
}
