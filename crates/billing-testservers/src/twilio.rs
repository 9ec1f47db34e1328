//! A fake Twilio Messages API for tests, in process on a free loopback port.
//!
//! It takes the real API's request (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded, HTTP basic auth with the account SID and auth token) and answers as Twilio
//! does: `201` with a Message resource, or Twilio's error body
//! `{"code", "message", "more_info", "status"}` for what Twilio refuses (20003 bad credentials,
//! 21604/21603/21602 a missing `To`, `From` or `Body`, 21211 a `To` that is not E.164, 21614 a
//! landline, 21617 a body over 1,600 characters, 21610 a number that replied STOP). It records
//! every message sent, and posts status callbacks and incoming texts signed with
//! `X-Twilio-Signature` as Twilio does (its own signing code, so that it checks the adapter's
//! rather than sharing it).

use std::collections::{BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{Value, json};
use sha1::Sha1;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Twilio's default opt-out keywords: a reply of one of these stops every text to the number.
const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
/// Twilio's default opt-in keywords.
const OPT_IN: &[&str] = &["START", "UNSTOP", "YES"];

/// One message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentText {
    /// Its id (`SM` and 32 hex digits).
    pub sid: String,
    /// The recipient, as sent (E.164).
    pub to: String,
    /// `From`, when the request named a sender.
    pub from: Option<String>,
    /// `MessagingServiceSid`, when the request named a messaging service.
    pub messaging_service_sid: Option<String>,
    /// The text.
    pub body: String,
    /// `StatusCallback`, where its status changes are posted.
    pub status_callback: Option<String>,
    /// Its status now (`queued`, then as [`FakeTwilio::post_status`] moves it).
    pub status: String,
}

/// A callback as Twilio would post it: where, the form body, and its `X-Twilio-Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCallback {
    /// The URL it goes to (the message's `StatusCallback`, or the number's inbound URL).
    pub url: String,
    /// The form parameters, in the order posted.
    pub params: Vec<(String, String)>,
    /// The body: `params`, form-encoded.
    pub body: String,
    /// The `X-Twilio-Signature` header's value.
    pub signature: String,
}

#[derive(Debug, Default)]
struct Books {
    sent: Vec<SentText>,
    opted_out: BTreeSet<String>,
    landlines: BTreeSet<String>,
    /// Refusals to answer the next requests with, first in first out: `(HTTP status, code)`.
    faults: VecDeque<(u16, u32)>,
}

#[derive(Debug)]
struct Shared {
    account_sid: String,
    auth_token: String,
    books: Mutex<Books>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Books> {
    // A test that panicked while holding the lock leaves the books as they were.
    shared.books.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running fake Twilio, stopped on drop. Must be started inside a Tokio runtime.
#[derive(Debug)]
pub struct FakeTwilio {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    http: reqwest::Client,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl FakeTwilio {
    /// Starts the fake on a free port of 127.0.0.1 with a new account SID and auth token.
    pub async fn start() -> crate::Result<FakeTwilio> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(crate::error::io("binding the fake Twilio's port"))?;
        let addr = listener
            .local_addr()
            .map_err(crate::error::io("the fake Twilio's address"))?;
        let shared = Arc::new(Shared {
            account_sid: format!("AC{}", hex_digits(32)),
            auth_token: hex_digits(32),
            books: Mutex::new(Books::default()),
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(Arc::clone(&shared));
        let (stop, mut stopped) = watch::channel(false);
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stopped| *stopped).await;
        });
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| crate::Error::Io {
                context: "the fake Twilio's callback client".into(),
                source: std::io::Error::other(e),
            })?;
        Ok(FakeTwilio {
            shared,
            addr,
            stop,
            task: Some(task),
            http,
        })
    }

    /// The API's base URL (`http://127.0.0.1:PORT`), in place of `https://api.twilio.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The account SID the fake accepts (`AC…`).
    pub fn account_sid(&self) -> &str {
        &self.shared.account_sid
    }

    /// The account's auth token: the password of basic auth, and the key callbacks are
    /// signed with.
    pub fn auth_token(&self) -> &str {
        &self.shared.auth_token
    }

    /// Every message accepted so far, in order.
    pub fn sent(&self) -> Vec<SentText> {
        lock(&self.shared).sent.clone()
    }

    /// Marks `number` (E.164) as a landline: texts to it are refused with 21614.
    pub fn add_landline(&self, number: &str) {
        lock(&self.shared).landlines.insert(number.to_owned());
    }

    /// Answers the next request with `status` and Twilio error `code` instead of handling it
    /// (429 with 20429 "Too Many Requests", 500 with 20500, 503 with 20503…), once.
    pub fn fail_next(&self, status: u16, code: u32) {
        lock(&self.shared).faults.push_back((status, code));
    }

    /// True when `number` replied an opt-out keyword and has not opted in since.
    pub fn is_opted_out(&self, number: &str) -> bool {
        lock(&self.shared).opted_out.contains(number)
    }

    /// `from` texts `body` to `to`, one of our numbers: Twilio's default opt-out handling
    /// applies (STOP and the like refuse further texts to `from` with 21610; START, UNSTOP or
    /// YES lift it), and the incoming message is returned as Twilio would post it, signed, to
    /// `inbound_url` (the number's "a message comes in" webhook).
    pub fn receive_text(
        &self,
        from: &str,
        to: &str,
        body: &str,
        inbound_url: &str,
    ) -> SignedCallback {
        let keyword = body.trim().to_ascii_uppercase();
        {
            let mut books = lock(&self.shared);
            if OPT_OUT.contains(&keyword.as_str()) {
                books.opted_out.insert(from.to_owned());
            } else if OPT_IN.contains(&keyword.as_str()) {
                books.opted_out.remove(from);
            }
        }
        let sid = format!("SM{}", hex_digits(32));
        let mut params = vec![
            ("ToCountry", "US"),
            ("SmsMessageSid", sid.as_str()),
            ("NumMedia", "0"),
            ("SmsSid", sid.as_str()),
            ("SmsStatus", "received"),
            ("Body", body),
            ("To", to),
            ("NumSegments", "1"),
            ("MessageSid", sid.as_str()),
            ("AccountSid", self.shared.account_sid.as_str()),
            ("From", from),
            ("ApiVersion", "2010-04-01"),
        ];
        if OPT_OUT.contains(&keyword.as_str()) {
            params.push(("OptOutType", "STOP"));
        } else if OPT_IN.contains(&keyword.as_str()) {
            params.push(("OptOutType", "START"));
        }
        self.signed(inbound_url, &params)
    }

    /// Moves message `sid` to `status` (`sent`, `delivered`, `undelivered`, `failed`) with
    /// Twilio's `error_code`, and returns its status callback as Twilio would post it; `None`
    /// for an unknown message or one sent without a `StatusCallback`.
    pub fn status_callback(
        &self,
        sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> Option<SignedCallback> {
        let sent = {
            let mut books = lock(&self.shared);
            let sent = books.sent.iter_mut().find(|sent| sent.sid == sid)?;
            sent.status = status.to_owned();
            sent.clone()
        };
        let url = sent.status_callback.as_deref()?;
        let from = sent.from.as_deref().unwrap_or("+15005550006");
        let mut params = vec![
            ("AccountSid", self.shared.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
            ("From", from),
            ("MessageSid", sid),
            ("MessageStatus", status),
            ("SmsSid", sid),
            ("SmsStatus", status),
            ("To", sent.to.as_str()),
        ];
        if let Some(service) = sent.messaging_service_sid.as_deref() {
            params.push(("MessagingServiceSid", service));
        }
        if let Some(code) = error_code {
            params.push(("ErrorCode", code));
        }
        Some(self.signed(url, &params))
    }

    /// Posts `callback` as Twilio does (form-encoded, with `X-Twilio-Signature`) and returns
    /// the HTTP status the receiver answered.
    pub async fn post(&self, callback: &SignedCallback) -> crate::Result<u16> {
        let response = self
            .http
            .post(&callback.url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", &callback.signature)
            .header("User-Agent", "TwilioProxy/1.1")
            .body(callback.body.clone())
            .send()
            .await
            .map_err(|e| crate::Error::Io {
                context: format!("posting a Twilio callback to {}", callback.url),
                source: std::io::Error::other(e),
            })?;
        Ok(response.status().as_u16())
    }

    fn signed(&self, url: &str, params: &[(&str, &str)]) -> SignedCallback {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        SignedCallback {
            url: url.to_owned(),
            signature: twilio_signature(&self.shared.auth_token, url, &params),
            body,
            params,
        }
    }
}

/// Twilio's signature: base64(HMAC-SHA1(auth token, URL + each param's name and value, sorted
/// by name)).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        // HMAC takes keys of any length.
        return String::new();
    };
    let mut data = url.to_owned();
    let mut sorted: Vec<_> = params.iter().collect();
    sorted.sort();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn hex_digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// Twilio's error answer.
fn refusal(status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

/// E.164 as Twilio checks it first: `+`, a country code not starting with 0, 8 to 15 digits.
fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn authorized(shared: &Shared, headers: &HeaderMap, account: &str) -> bool {
    let Some(credentials) = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
    else {
        return false;
    };
    let expected = format!("{}:{}", shared.account_sid, shared.auth_token);
    credentials == expected && account == shared.account_sid
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some((status, code)) = lock(&shared).faults.pop_front() {
        return refusal(status, code, "Injected by the test");
    }
    if !authorized(&shared, &headers, &account) {
        return refusal(401, 20003, "Authenticate");
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    };
    let Some(to) = get("To") else {
        return refusal(400, 21604, "A 'To' phone number is required.");
    };
    let from = get("From");
    let service = get("MessagingServiceSid");
    if from.is_none() && service.is_none() {
        return refusal(400, 21603, "A 'From' phone number is required.");
    }
    let Some(text) = get("Body") else {
        return refusal(400, 21602, "Message body is required.");
    };
    if !is_e164(&to) {
        return refusal(400, 21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    if text.chars().count() > 1600 {
        return refusal(
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let mut books = lock(&shared);
    if books.landlines.contains(&to) {
        return refusal(
            400,
            21614,
            &format!("'To' number {to} is not a valid mobile number"),
        );
    }
    if books.opted_out.contains(&to) {
        return refusal(400, 21610, "Attempt to send to unsubscribed recipient");
    }
    let sid = format!("SM{}", hex_digits(32));
    // A messaging service accepts first and picks a sender later.
    let status = if service.is_some() {
        "accepted"
    } else {
        "queued"
    };
    let sent = SentText {
        sid: sid.clone(),
        to,
        from,
        messaging_service_sid: service,
        body: text,
        status_callback: get("StatusCallback"),
        status: status.to_owned(),
    };
    books.sent.push(sent.clone());
    (
        StatusCode::CREATED,
        axum::Json(resource(&shared.account_sid, &sent)),
    )
        .into_response()
}

/// The Message resource as Twilio's API answers it.
fn resource(account_sid: &str, sent: &SentText) -> Value {
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{}", sent.sid);
    json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": sent.body,
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": null,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": sent.from,
        "messaging_service_sid": sent.messaging_service_sid,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": sent.sid,
        "status": sent.status,
        "subresource_uris": { "media": format!("{uri}/Media.json") },
        "to": sent.to,
        "uri": format!("{uri}.json"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_twilios_documented_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn e164_shapes() {
        assert!(is_e164("+14155552671"));
        for bad in [
            "14155552671",
            "+0123456789",
            "+1415",
            "+1 415 555 2671",
            "+1234567890123456",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
