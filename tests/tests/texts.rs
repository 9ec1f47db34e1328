//! Texts end to end: `billingd` sends a payment link by text through Twilio's API (a fake
//! Twilio with the real request shape, errors and signed callbacks), keeps the carrier's
//! report on the notification, and honours a STOP reply.

use std::time::{Duration, Instant};

use billing_blackbox::{Options, Service, Store, free_port};
use billing_testservers::twilio::FakeTwilio;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The number texts leave from.
const FROM: &str = "+15005550006";
/// Ada's mobile number.
const ADA: &str = "+14155552671";

/// Polls `read` until it answers something, for at most ten seconds.
async fn eventually<T, F, Fut>(what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = read().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `billingd serve` texting through `twilio`, its delivery worker polling often.
fn texting_through(twilio: &FakeTwilio) -> Options {
    Options::default().args(&[
        "--twilio-account-sid",
        twilio.account_sid(),
        "--twilio-auth-token",
        twilio.auth_token(),
        "--twilio-from",
        FROM,
        "--twilio-api-base",
        &twilio.base_url(),
        "--mail-poll-ms",
        "50",
    ])
}

#[tokio::test]
async fn a_texted_link_is_delivered_reported_and_a_stop_is_honoured() {
    let twilio = FakeTwilio::start().await.expect("the fake Twilio starts");
    let port = free_port();
    let callbacks = format!("http://127.0.0.1:{port}/v1/webhooks/texts");
    let service = Service::launch(Store::Sqlite, texting_through(&twilio).port(port));
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "80.00")
        .await;
    let saved = service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada", "email": "ada@example.com", "phone": "+1 415 555 2671"}),
        )
        .await;
    assert_eq!(saved.json["phone"], ADA, "{saved:?}");

    let link = service
        .post(
            &acme,
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["b-1"], "send_email": false, "send_text": true}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    let url = link.json["url"].as_str().expect("a url").to_owned();
    let text_id = link.json["text_notification_id"]
        .as_str()
        .expect("a text")
        .to_owned();

    // The worker sends it through Twilio's API, asking for status callbacks to us.
    let sent = eventually("the text", || async {
        twilio.sent().into_iter().find(|text| text.to == ADA)
    })
    .await;
    assert_eq!(sent.from.as_deref(), Some(FROM));
    assert!(sent.body.contains(&url), "{}", sent.body);
    assert!(
        sent.body
            .starts_with("Acme Cleaning: you have 80.00 USD to pay.")
    );
    assert_eq!(sent.status_callback.as_deref(), Some(callbacks.as_str()));
    let notification = format!("/v1/notifications/{text_id}");
    let delivery = eventually("the text marked sent", || async {
        let read = service.get(&acme, &notification).await.json;
        (read["delivery"]["state"] == "sent").then_some(read)
    })
    .await;
    assert_eq!(delivery["channel"], "text");
    assert_eq!(delivery["delivery"]["server_reply"], sent.sid.as_str());

    // Twilio reports the delivery, signed; a forged report is refused and changes nothing.
    let mut forged = twilio
        .status_callback(&sent.sid, "undelivered", Some("30003"))
        .expect("a callback");
    forged.signature = "AAAA".into();
    assert_eq!(twilio.post(&forged).await.expect("posted"), 403);
    let delivered = twilio
        .status_callback(&sent.sid, "delivered", None)
        .expect("a callback");
    assert_eq!(twilio.post(&delivered).await.expect("posted"), 200);
    let late = twilio
        .status_callback(&sent.sid, "sent", None)
        .expect("a callback");
    assert_eq!(twilio.post(&late).await.expect("posted"), 200);
    let read = service.get(&acme, &notification).await.json;
    assert_eq!(read["carrier"]["status"], "delivered", "{read}");
    assert_eq!(read["carrier"]["error_code"], Value::Null);

    // Ada replies STOP: no text can be asked for her any more; START lifts it.
    let stop = twilio.receive_text(ADA, FROM, "stop", &callbacks);
    assert_eq!(twilio.post(&stop).await.expect("posted"), 200);
    let ask = || {
        service.post(
            &acme,
            "/v1/card-requests",
            json!({"customer": "ada", "send_email": false, "send_text": true}),
        )
    };
    let refused = ask().await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(refused.json["code"], "texts_refused");
    let start = twilio.receive_text(ADA, FROM, "START", &callbacks);
    assert_eq!(twilio.post(&start).await.expect("posted"), 200);
    assert_eq!(ask().await.status, StatusCode::CREATED);
    eventually("the card request texted", || async {
        let texts = twilio.sent();
        (texts.len() == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_number_twilio_refuses_is_given_up_with_its_reason() {
    let twilio = FakeTwilio::start().await.expect("the fake Twilio starts");
    twilio.add_landline(ADA);
    let service = Service::launch(Store::Sqlite, texting_through(&twilio));
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "80.00")
        .await;
    service
        .post(
            &acme,
            "/v1/customers",
            json!({"id": "ada", "name": "Ada", "phone": ADA}),
        )
        .await;
    let link = service
        .post(
            &acme,
            "/v1/card-requests",
            json!({"customer": "ada", "send_email": false, "send_text": true}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    let notification = format!(
        "/v1/notifications/{}",
        link.json["text_notification_id"].as_str().expect("a text")
    );
    let failed = eventually("the text given up", || async {
        let read = service.get(&acme, &notification).await.json;
        (read["delivery"]["state"] == "failed").then_some(read)
    })
    .await;
    assert_eq!(failed["delivery"]["retry_at"], Value::Null, "{failed}");
    assert!(
        failed["delivery"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("21614")),
        "{failed}"
    );
}
