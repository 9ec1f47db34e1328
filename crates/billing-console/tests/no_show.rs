//! "Mark as a no-show" on a booking's page: the fee charged once however often the form is
//! sent, and a business without a no-show fee told so, with nothing done.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::automation::{PaymentSettings, Share};
use billing_core::money::{Currency, Money};
use common::*;

#[tokio::test]
async fn staff_mark_a_no_show_and_the_fee_is_charged_once() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let form = format!("csrf={}", page.field("no-show-form", "csrf"));
    let refused = h
        .post(
            "/console/bookings/a-2/no-show",
            &form,
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        refused.header("location"),
        "/console/bookings/a-2?result=no-show-no-fee"
    );
    assert_eq!(h.gateway.count("charge"), 1, "only a-1's advance");

    let settings = PaymentSettings {
        no_show_fee: Some(Share::fixed(Money::from_minor(2_000, Currency::USD)).unwrap()),
        ..PaymentSettings::default()
    };
    h.billing
        .set_payment_settings(&h.acme, settings)
        .await
        .unwrap();
    for _ in 0..2 {
        let sent = h
            .post(
                "/console/bookings/a-2/no-show",
                &form,
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(
            sent.header("location"),
            "/console/bookings/a-2?result=no-show"
        );
    }
    assert_eq!(h.gateway.count("charge"), 2, "a-1's advance and one fee");
    let after = h
        .get("/console/bookings/a-2?result=no-show", Some(&session))
        .await;
    assert!(after.text.contains("Marked as a no-show"), "{}", after.text);
    assert!(after.text.contains(r#"<dd id="paid">20.00 USD</dd>"#));
    // A form from another site does nothing.
    let forged = h
        .post(
            "/console/bookings/a-2/no-show",
            "csrf=forged",
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}
