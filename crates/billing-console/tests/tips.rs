//! A tip staff add when they charge a card from a booking's page: charged with the amount,
//! shown as a line of the booking and in its payment history, once however often the form is
//! sent; never with a collection, never when the card declines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::*;

fn charge_form(page: &Reply, amount: &str, tip: &str) -> String {
    format!(
        "csrf={}&key={}&source=card%3Apm_card_visa&amount={amount}&tip={tip}",
        page.field("charge-form", "csrf"),
        page.field("charge-form", "key")
    )
}

#[tokio::test]
async fn staff_add_a_tip_when_they_charge_and_the_booking_shows_it_once() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(r#"id="charge-tip" name="tip""#));
    let form = charge_form(&page, "50.00", "7.50");
    // A double click: the same form twice. One charge, one tip.
    for _ in 0..2 {
        let sent = h
            .post(
                "/console/bookings/a-2/charges",
                &form,
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(
            sent.header("location"),
            "/console/bookings/a-2?result=charged"
        );
    }
    assert_eq!(h.gateway.count("charge"), 2, "a-1's advance and this one");
    let after = h.get("/console/bookings/a-2", Some(&session)).await;
    assert!(
        after
            .text
            .contains("<tr><td>Tip</td><td>Tip</td><td class=\"num\">7.50 USD</td></tr>"),
        "{}",
        after.text
    );
    assert_eq!(after.text.matches("<td>Tip</td><td>Tip</td>").count(), 1);
    assert!(after.text.contains("Card charge with a tip of 7.50 USD"));
    assert!(after.text.contains(r#"<dd id="price">57.50 USD</dd>"#));
    assert!(after.text.contains(r#"<dd id="balance">0.00 USD</dd>"#));
}

#[tokio::test]
async fn a_tip_with_a_collection_or_beyond_the_charge_is_refused_and_nothing_is_charged() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    let cash = format!(
        "csrf={}&key={}&source=cash&amount=50.00&tip=5.00",
        page.field("collect-form", "csrf"),
        page.field("collect-form", "key")
    );
    for form in [
        cash,
        charge_form(&page, "50.00", "50.01"),
        charge_form(&page, "50.00", "-1"),
        charge_form(&page, "50.00", "five"),
    ] {
        let sent = h
            .post(
                "/console/bookings/a-2/charges",
                &form,
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(
            sent.header("location"),
            "/console/bookings/a-2?result=tip",
            "{form}"
        );
    }
    assert_eq!(h.gateway.count("charge"), 1, "only a-1's advance");
    let after = h
        .get("/console/bookings/a-2?result=tip", Some(&session))
        .await;
    assert!(after.text.contains("That tip cannot be added"));
    assert!(!after.text.contains("<td>Tip</td>"));
    assert!(after.text.contains(r#"<dd id="balance">50.00 USD</dd>"#));
}
