//! The notifications of a customer, and their delivery.

use billing_core::ports::{DeliveryFailure, NotificationLog};

use crate::common::*;

#[tokio::test]
async fn notifications_are_listed_after_a_link_email() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let id = link["notification_id"].as_str().unwrap().to_owned();
    let log = h.get("/v1/customers/c1/notifications").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    assert_eq!(
        log.json["data"],
        json!([{
            "id": id, "kind": "payment_link", "channel": "email", "customer": "c1",
            "to": "ada@example.com", "subject": "payment_link",
            "queued_at": "2026-01-15T09:00:00Z", "delivery": {"state": "queued"},
            "carrier": null,
        }])
    );
    let one = h.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json, log.json["data"][0]);
    h.get_as(KEY_B, &format!("/v1/notifications/{id}"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "notification_not_found");
    h.get_as(KEY_B, "/v1/customers/c1/notifications")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    h.get("/v1/customers/nobody/notifications")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");

    // Delivery, as the worker records it.
    let business = BusinessId::new("alpha").unwrap();
    let ntf = NotificationId::new(&id).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-15T09:01:00Z")
        .unwrap()
        .to_utc();
    h.store
        .mark_failed(
            &business,
            &ntf,
            &DeliveryFailure {
                at,
                reason: "451 4.3.0 try later".into(),
                attempts: 1,
                retry_at: Some(at + Duration::minutes(1)),
            },
        )
        .await
        .unwrap();
    let failed = h.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(
        failed.json["delivery"],
        json!({"state": "failed", "at": "2026-01-15T09:01:00Z", "reason": "451 4.3.0 try later",
               "attempts": 1, "retry_at": "2026-01-15T09:02:00Z"})
    );
    h.store
        .mark_sent(
            &business,
            &ntf,
            at + Duration::minutes(2),
            "250 2.0.0 queued as 4F2A",
        )
        .await
        .unwrap();
    let sent = h.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(
        sent.json["delivery"],
        json!({"state": "sent", "at": "2026-01-15T09:03:00Z", "server_reply": "250 2.0.0 queued as 4F2A"})
    );

    // Newest first, with the limit.
    h.link(&["b2"]).await;
    let log = h.get("/v1/customers/c1/notifications?limit=1").await;
    let data = log.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_ne!(data[0]["id"], id);
}
