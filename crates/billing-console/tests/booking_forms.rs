//! A booking's line form (an extra or a discount, added once however often it is sent) and its
//! payment link, over HTTP in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::ids::BookingId;
use common::*;

#[tokio::test]
async fn an_extra_then_a_discount_adjust_the_price_and_a_double_click_adds_once() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    assert_eq!(page.field("line-form", "lines"), "1");
    let form = format!(
        "csrf={}&lines=1&kind=extra&label=Inside+the+fridge&amount=25.00",
        page.field("line-form", "csrf")
    );
    let first = h
        .post(
            "/console/bookings/a-2/line-items",
            &form,
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
    assert_eq!(
        first.header("location"),
        "/console/bookings/a-2?result=line-added"
    );
    let again = h
        .post(
            "/console/bookings/a-2/line-items",
            &form,
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        again.header("location"),
        "/console/bookings/a-2?result=line-changed"
    );
    let view = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap();
    assert_eq!(view.account.line_items.len(), 2, "added once");
    assert_eq!(view.summary.balance.price.to_string(), "75.00 USD");

    let page = h
        .get("/console/bookings/a-2?result=line-added", Some(&session))
        .await;
    assert!(page.text.contains("Inside the fridge"), "{}", page.text);
    assert!(page.text.contains("The line was added"), "{}", page.text);
    assert_eq!(
        page.field("charge-form", "amount"),
        "75.00",
        "the new balance"
    );
    let discount = format!(
        "csrf={}&lines={}&kind=discount&label=Loyalty&amount=5.00",
        page.field("line-form", "csrf"),
        page.field("line-form", "lines")
    );
    h.post(
        "/console/bookings/a-2/line-items",
        &discount,
        Some(&session),
        SAME_SITE,
    )
    .await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    assert_eq!(page.field("charge-form", "amount"), "70.00");

    // Nonsense changes nothing.
    for bad in [
        "kind=extra&label=&amount=5.00",
        "kind=extra&label=Oven&amount=-5.00",
        "kind=service&label=Oven&amount=5.00",
        "kind=discount&label=Too+much&amount=500.00",
    ] {
        let sent = h
            .post(
                "/console/bookings/a-2/line-items",
                &format!("csrf={}&lines=3&{bad}", page.field("line-form", "csrf")),
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(
            sent.header("location"),
            "/console/bookings/a-2?result=line-invalid",
            "{bad}"
        );
    }
    let view = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap();
    assert_eq!(view.account.line_items.len(), 3);
}

#[tokio::test]
async fn line_forms_need_the_session_token_and_the_business_own_booking() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    let csrf = page.field("line-form", "csrf");
    let no_token = h
        .post(
            "/console/bookings/a-2/line-items",
            "csrf=&lines=1&kind=extra&label=X&amount=1.00",
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    for path in [
        "/console/bookings/g-1/line-items",
        "/console/bookings/g-1/payment-link",
    ] {
        let theirs = h
            .post(
                path,
                &format!("csrf={csrf}&lines=1&kind=extra&label=X&amount=1.00"),
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{path}");
    }
    let globex = h
        .billing
        .booking(&h.globex, &BookingId::new("g-1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        globex.account.line_items.len(),
        1,
        "Globex's booking untouched"
    );
}

#[tokio::test]
async fn a_payment_link_for_the_booking_is_emailed_to_the_customer() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-1", Some(&session)).await;
    assert!(
        page.text
            .contains("href=\"https://dashboard.stripe.com/test/payments/pi_"),
        "See in Stripe, for the advance: {}",
        page.text
    );
    let sent = h
        .post(
            "/console/bookings/a-1/payment-link",
            &format!("csrf={}&amount=", page.field("link-form", "csrf")),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    assert_eq!(
        sent.header("location"),
        "/console/bookings/a-1?result=link-sent"
    );
    let links = h
        .billing
        .customer_links(
            &h.acme,
            &billing_core::ids::CustomerId::new("cust-1").unwrap(),
            10,
        )
        .await
        .unwrap();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(
        format!("{:?}", links[0].purpose).contains("150.00"),
        "all that is due: {:?}",
        links[0].purpose
    );
    let too_much = h
        .post(
            "/console/bookings/a-1/payment-link",
            &format!("csrf={}&amount=900.00", page.field("link-form", "csrf")),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        too_much.header("location"),
        "/console/bookings/a-1?result=amount"
    );
}
