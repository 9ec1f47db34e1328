//! The Twilio adapter against the fake Twilio of `billing-testservers`: the request it sends,
//! each kind of refusal, and the signed callbacks it verifies.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use billing_core::phone::PhoneNumber;
use billing_core::ports::{
    OutboundText, ReplyIntent, TextCallbacks, TextError, TextEvent, TextSender, TextStatus,
    TextStatusReport,
};
use billing_testservers::FakeTwilio;
use billing_twilio::{TwilioCallbacks, TwilioTexts};

const FROM: &str = "+14155550100";
const CALLBACK: &str = "https://billing.example.com/texts/status?business=b1";

fn text(to: &str, body: &str) -> OutboundText {
    OutboundText {
        to: PhoneNumber::from_e164(to).expect("an E.164 number"),
        body: body.into(),
    }
}

fn texts(fake: &FakeTwilio) -> TwilioTexts {
    TwilioTexts::builder(fake.account_sid(), fake.auth_token())
        .from(FROM)
        .status_callback(CALLBACK)
        .api_base(fake.base_url())
        .build()
        .expect("the fake's settings")
}

#[tokio::test]
async fn sends_a_text_in_twilios_request_shape() {
    let fake = FakeTwilio::start().await.unwrap();
    let receipt = texts(&fake)
        .send(&text(
            "+14155552671",
            "Acme: pay 20.00 USD at https://pay.example/l/1 — thanks",
        ))
        .await
        .unwrap();
    assert!(receipt.reference.starts_with("SM") && receipt.reference.len() == 34);
    assert_eq!(receipt.status, TextStatus::Queued);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].sid, receipt.reference);
    assert_eq!(sent[0].to, "+14155552671");
    assert_eq!(sent[0].from.as_deref(), Some(FROM));
    assert_eq!(
        sent[0].body,
        "Acme: pay 20.00 USD at https://pay.example/l/1 — thanks"
    );
    assert_eq!(sent[0].status_callback.as_deref(), Some(CALLBACK));
}

#[tokio::test]
async fn sends_through_a_messaging_service() {
    let fake = FakeTwilio::start().await.unwrap();
    let service = "MG0123456789abcdef0123456789abcdef";
    let texts = TwilioTexts::builder(fake.account_sid(), fake.auth_token())
        .messaging_service(service)
        .api_base(fake.base_url())
        .build()
        .unwrap();
    let receipt = texts.send(&text("+14155552671", "hi")).await.unwrap();
    // A messaging service answers `accepted`: still waiting for a sender.
    assert_eq!(receipt.status, TextStatus::Queued);
    let sent = fake.sent();
    assert_eq!(sent[0].messaging_service_sid.as_deref(), Some(service));
    assert_eq!(sent[0].from, None);
    assert_eq!(sent[0].status_callback, None);
}

#[tokio::test]
async fn a_recipient_who_replied_stop_has_opted_out_until_start() {
    let fake = FakeTwilio::start().await.unwrap();
    let texts = texts(&fake);
    let inbound = fake.receive_text("+14155552671", FROM, "Stop", "https://b.example/in");
    assert!(fake.is_opted_out("+14155552671"));
    // The adapter reads the reply Twilio posts as an opt-out.
    let event = TwilioCallbacks::new(fake.auth_token())
        .verify(&inbound.url, inbound.body.as_bytes(), &inbound.signature)
        .unwrap();
    let TextEvent::Inbound(reply) = event else {
        panic!("not an inbound text: {event:?}");
    };
    assert_eq!(reply.intent, ReplyIntent::OptOut);
    assert_eq!(reply.from.as_str(), "+14155552671");

    let error = texts.send(&text("+14155552671", "hi")).await.unwrap_err();
    assert!(matches!(error, TextError::OptedOut(_)), "{error:?}");
    assert!(error.reason().contains("21610"), "{error}");
    assert!(!error.is_temporary());

    fake.receive_text("+14155552671", FROM, "START", "https://b.example/in");
    texts.send(&text("+14155552671", "hi again")).await.unwrap();
}

#[tokio::test]
async fn what_twilio_refuses_for_good_is_permanent() {
    let fake = FakeTwilio::start().await.unwrap();
    let texts = texts(&fake);
    // A valid number the account cannot text: a landline.
    fake.add_landline("+14155552672");
    let error = texts.send(&text("+14155552672", "hi")).await.unwrap_err();
    assert!(matches!(error, TextError::Permanent(_)), "{error:?}");
    assert!(error.reason().contains("21614"), "{error}");
    // An empty body (Twilio's 21602).
    let error = texts.send(&text("+14155552671", "")).await.unwrap_err();
    assert!(matches!(error, TextError::Permanent(_)), "{error:?}");
    assert!(error.reason().contains("21602"), "{error}");
    // Too long (21617).
    let error = texts
        .send(&text("+14155552671", &"x".repeat(1601)))
        .await
        .unwrap_err();
    assert!(error.reason().contains("21617"), "{error}");
    // An invalid number (21211), as Twilio would refuse one that slipped past the checks.
    fake.fail_next(400, 21211);
    let error = texts.send(&text("+14155552671", "hi")).await.unwrap_err();
    assert!(matches!(error, TextError::Permanent(_)), "{error:?}");
    assert!(error.reason().contains("21211"), "{error}");
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn rate_limits_outages_and_bad_credentials_are_temporary() {
    let fake = FakeTwilio::start().await.unwrap();
    let texts = texts(&fake);
    for (status, code) in [(429, 20429), (500, 20500), (503, 20503)] {
        fake.fail_next(status, code);
        let error = texts.send(&text("+14155552671", "hi")).await.unwrap_err();
        assert!(error.is_temporary(), "{status}: {error:?}");
        assert!(error.reason().contains(&code.to_string()), "{error}");
    }
    // And the next attempt goes through.
    texts.send(&text("+14155552671", "hi")).await.unwrap();

    let wrong = TwilioTexts::builder(fake.account_sid(), "not the token")
        .from(FROM)
        .api_base(fake.base_url())
        .build()
        .unwrap();
    let error = wrong.send(&text("+14155552671", "hi")).await.unwrap_err();
    assert!(error.is_temporary(), "{error:?}");
    assert!(error.reason().contains("20003"), "{error}");
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn an_unreachable_twilio_is_temporary() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let texts = TwilioTexts::builder("AC0123456789abcdef0123456789abcdef", "token")
        .from(FROM)
        .api_base(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let error = texts.send(&text("+14155552671", "hi")).await.unwrap_err();
    assert!(error.is_temporary(), "{error:?}");
}

/// What a receiver of callbacks saw: the events it accepted, and how many it refused.
#[derive(Clone, Default)]
struct Received {
    url: String,
    events: Arc<Mutex<Vec<TextEvent>>>,
    refused: Arc<Mutex<usize>>,
    callbacks: Option<Arc<TwilioCallbacks>>,
}

async fn receive(State(seen): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(callbacks) = &seen.callbacks else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let signature = headers
        .get(callbacks.signature_header())
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match callbacks.verify(&seen.url, &body, signature) {
        Ok(event) => {
            seen.events.lock().expect("not poisoned").push(event);
            StatusCode::NO_CONTENT
        }
        Err(_) => {
            *seen.refused.lock().expect("not poisoned") += 1;
            StatusCode::FORBIDDEN
        }
    }
}

#[tokio::test]
async fn signed_status_callbacks_are_verified_and_tampered_ones_refused() {
    let fake = FakeTwilio::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/texts/status?business=b1",
        listener.local_addr().unwrap()
    );
    let seen = Received {
        url: url.clone(),
        callbacks: Some(Arc::new(TwilioCallbacks::new(fake.auth_token()))),
        ..Received::default()
    };
    let app = axum::Router::new()
        .route("/texts/status", post(receive))
        .with_state(seen.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let texts = TwilioTexts::builder(fake.account_sid(), fake.auth_token())
        .from(FROM)
        .status_callback(&url)
        .api_base(fake.base_url())
        .build()
        .unwrap();
    let receipt = texts.send(&text("+14155552671", "hi")).await.unwrap();

    let sent = fake
        .status_callback(&receipt.reference, "sent", None)
        .unwrap();
    assert_eq!(fake.post(&sent).await.unwrap(), 204);
    let failed = fake
        .status_callback(&receipt.reference, "undelivered", Some("30003"))
        .unwrap();
    assert_eq!(fake.post(&failed).await.unwrap(), 204);
    assert_eq!(
        *seen.events.lock().unwrap(),
        vec![
            TextEvent::Status(TextStatusReport {
                reference: receipt.reference.clone(),
                status: TextStatus::Sent,
                error_code: None,
            }),
            TextEvent::Status(TextStatusReport {
                reference: receipt.reference.clone(),
                status: TextStatus::Undelivered,
                error_code: Some("30003".into()),
            }),
        ]
    );

    // A body changed on the way: refused.
    let mut tampered = fake
        .status_callback(&receipt.reference, "delivered", None)
        .unwrap();
    tampered.body = tampered.body.replace("undelivered", "delivered");
    tampered.body = tampered.body.replace("=delivered", "=failed");
    assert_eq!(fake.post(&tampered).await.unwrap(), 403);
    // Signed with another account's token: refused.
    let mut forged = fake
        .status_callback(&receipt.reference, "delivered", None)
        .unwrap();
    forged.signature = billing_testservers::twilio::twilio_signature(
        "someone else's token",
        &forged.url,
        &forged.params,
    );
    assert_eq!(fake.post(&forged).await.unwrap(), 403);
    // Not signed at all: refused.
    forged.signature = String::new();
    assert_eq!(fake.post(&forged).await.unwrap(), 403);
    assert_eq!(*seen.refused.lock().unwrap(), 3);
    assert_eq!(seen.events.lock().unwrap().len(), 2);
    server.abort();
}
