//! Texts: customers' mobile numbers, links texted, and the text provider's callbacks.

use billing_core::ports::NotificationLog;

use crate::common::*;

impl Harness {
    /// A callback from the text provider, signed (or not) as the fake verifier reads it.
    async fn text_callback(&self, form: &str, signature: &str) -> Reply {
        self.send(
            Request::post("/v1/webhooks/texts")
                .header("x-test-signature", signature)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn phone_numbers_are_checked_and_kept_in_e164() {
    let h = Harness::new().await;
    let created = h
        .post(
            "/v1/customers",
            json!({"id": "c1", "name": "Ada", "phone": "(415) 555-2671", "phone_region": "US"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["phone"], "+14155552671");
    assert_eq!(
        h.get("/v1/customers/c1").await.json["phone"],
        "+14155552671"
    );
    for (body, code) in [
        (
            json!({"id": "c1", "name": "Ada", "phone": "555-2671"}),
            "invalid_phone",
        ),
        (
            json!({"id": "c1", "name": "Ada", "phone": "+1 415 555"}),
            "invalid_phone",
        ),
        (
            json!({"id": "c1", "name": "Ada", "phone": "+14155552671 ext. 2"}),
            "invalid_phone",
        ),
        (
            json!({"id": "c1", "name": "Ada", "phone": "4155552671", "phone_region": "XX"}),
            "invalid_phone",
        ),
        (
            json!({"id": "c1", "name": "Ada", "phone_region": "US"}),
            "invalid_request",
        ),
    ] {
        h.post("/v1/customers", body.clone())
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    // Refused input changed nothing.
    assert_eq!(
        h.get("/v1/customers/c1").await.json["phone"],
        "+14155552671"
    );
    let cleared = h
        .post("/v1/customers", json!({"id": "c1", "name": "Ada"}))
        .await;
    assert_eq!(cleared.json["phone"], Value::Null);
}

#[tokio::test]
async fn a_texted_link_is_logged_and_its_delivery_follows_the_provider() {
    let h = Harness::new().await;
    h.seed("c1", "", "b1", "50.00").await;
    // Texts need a number.
    h.post(
        "/v1/payment-links",
        json!({"customer": "c1", "bookings": ["b1"], "send_email": false, "send_text": true}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_phone_number");
    let customer = h.get("/v1/customers/c1").await.json;
    h.post(
        "/v1/customers",
        json!({"id": "c1", "name": customer["name"], "email": "ada@example.com",
               "phone": "+14155552671"}),
    )
    .await;
    let link = h
        .post(
            "/v1/payment-links",
            json!({"customer": "c1", "bookings": ["b1"], "send_text": true}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.text);
    assert!(link.json["notification_id"].is_string(), "emailed too");
    let text_id = link.json["text_notification_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = h.get(&format!("/v1/notifications/{text_id}")).await;
    assert_eq!(text.json["channel"], "text");
    assert_eq!(text.json["to"], "+14155552671");
    assert_eq!(text.json["kind"], "payment_link");
    assert_eq!(text.json["carrier"], Value::Null);

    // The provider took it (as the delivery worker records it), then reports on it.
    let business = BusinessId::new("alpha").unwrap();
    let id = NotificationId::new(&text_id).unwrap();
    h.store
        .mark_sent(&business, &id, h.billing.now(), "SM0001")
        .await
        .unwrap();
    h.text_callback("ref=SM0001&status=delivered", "forged")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "invalid_signature");
    assert_eq!(
        h.get(&format!("/v1/notifications/{text_id}")).await.json["carrier"],
        Value::Null,
        "a forged report changes nothing"
    );
    for status in ["sent", "delivered", "sent"] {
        let ack = h
            .text_callback(&format!("ref=SM0001&status={status}"), "good")
            .await;
        assert_eq!(ack.status, StatusCode::OK, "{}", ack.text);
        assert!(ack.content_type().starts_with("text/xml"));
        assert!(ack.text.contains("<Response></Response>"));
    }
    let carrier = &h.get(&format!("/v1/notifications/{text_id}")).await.json["carrier"];
    assert_eq!(
        carrier["status"], "delivered",
        "a late report never goes back"
    );
    // Another business sees none of it.
    h.get_as(KEY_B, &format!("/v1/notifications/{text_id}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "notification_not_found");
}

#[tokio::test]
async fn a_stop_reply_refuses_later_texts_until_start() {
    let h = Harness::new().await;
    h.seed("c1", "", "b1", "50.00").await;
    h.post(
        "/v1/customers",
        json!({"id": "c1", "name": "Ada", "phone": "+14155552671"}),
    )
    .await;
    let ask = || {
        h.post(
            "/v1/card-requests",
            json!({"customer": "c1", "send_email": false, "send_text": true}),
        )
    };
    assert_eq!(ask().await.status, StatusCode::CREATED);
    let stop = h
        .text_callback("from=%2B14155552671&intent=stop", "good")
        .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text);
    ask()
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "texts_refused");
    h.text_callback("from=%2B14155552671&intent=start", "good")
        .await;
    assert_eq!(ask().await.status, StatusCode::CREATED);
}
