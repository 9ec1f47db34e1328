//! "Charge Customer" on a customer's profile: the card on file for chosen bookings, a new card
//! or a payment link for them, and "Create Payment Option". Over HTTP in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::ids::{BookingId, CustomerId};
use common::*;

#[tokio::test]
async fn the_card_on_file_charges_the_chosen_bookings_once() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/customers/cust-1", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("id=\"owing-a-1\""), "{}", page.text);
    assert!(page.text.contains("due 150.00 USD"), "{}", page.text);
    assert!(page.text.contains("id=\"owing-a-2\""), "{}", page.text);
    let form = format!(
        "csrf={}&key={}&source=card%3Apm_card_visa&booking=a-2",
        page.field("profile-charge-form", "csrf"),
        page.field("profile-charge-form", "key"),
    );
    for _ in 0..2 {
        let done = h
            .post(
                "/console/customers/cust-1/charge-card",
                &form,
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert!(
            done.text.contains("1 charged, 0 not charged."),
            "{}",
            done.text
        );
    }
    assert_eq!(h.gateway.count("charge"), 2, "a-1's advance, and a-2 once");
    let a1 = h
        .billing
        .booking(&h.acme, &BookingId::new("a-1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        a1.summary.balance.balance_due.to_string(),
        "150.00 USD",
        "not chosen"
    );
    let after = h.get("/console/customers/cust-1", Some(&session)).await;
    assert!(
        !after.text.contains("id=\"owing-a-2\""),
        "paid: {}",
        after.text
    );
}

#[tokio::test]
async fn a_payment_link_a_new_card_and_a_payment_option_go_through_the_hosted_pages() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/customers/cust-1", Some(&session)).await;
    let csrf = page.field("profile-charge-form", "csrf");
    let emailed = h
        .post(
            "/console/customers/cust-1/payment-link",
            &format!("csrf={csrf}&booking=a-1&booking=a-2"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        emailed.header("location"),
        "/console/customers/cust-1?result=link-sent"
    );
    let links = h
        .billing
        .customer_links(&h.acme, &CustomerId::new("cust-1").unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    assert!(
        format!("{:?}", links[0].purpose).contains("200.00"),
        "both bookings' balances: {:?}",
        links[0].purpose
    );
    let new_card = h
        .post(
            "/console/customers/cust-1/new-card",
            &format!("csrf={csrf}&booking=a-2"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(new_card.status, StatusCode::SEE_OTHER);
    assert!(
        new_card
            .header("location")
            .starts_with("https://pay.example.com/"),
        "the pay page's card form: {}",
        new_card.header("location")
    );
    let option = h
        .post(
            "/console/customers/cust-1/payment-option",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(option.status, StatusCode::SEE_OTHER);
    assert!(
        option
            .header("location")
            .starts_with("https://pay.example.com/"),
        "the card page: {}",
        option.header("location")
    );
    assert_eq!(
        h.gateway.count("charge"),
        1,
        "nothing charged by the console itself"
    );
    // The new card's link and the payment option's are for the member at the desk: their
    // last page leads back to the profile. The emailed link's does not.
    let links = h
        .billing
        .customer_links(&h.acme, &CustomerId::new("cust-1").unwrap(), 10)
        .await
        .unwrap();
    let backs: Vec<Option<&str>> = links
        .iter()
        .map(|link| link.desk_return.as_ref().map(|b| b.as_str()))
        .collect();
    assert_eq!(
        backs,
        [
            Some("/console/customers/cust-1"),
            Some("/console/customers/cust-1"),
            None
        ],
        "newest first"
    );
}

#[tokio::test]
async fn bookings_of_another_customer_or_business_are_never_chosen() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/customers/cust-1", Some(&session)).await;
    let csrf = page.field("profile-charge-form", "csrf");
    let theirs = h
        .post(
            "/console/customers/cust-1/charge-card",
            &format!("csrf={csrf}&key=k-1&source=card%3Apm_card_visa&booking=g-1"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        theirs.header("location"),
        "/console/customers/cust-1?result=none-chosen"
    );
    let globex = h.member(&h.globex, "hank@globex.example").await;
    let page = h.get("/console/customers/cust-1", Some(&globex)).await;
    assert!(
        !page.text.contains("a-1"),
        "Globex sees its own cust-1 only"
    );
    let globex_csrf = page.field("profile-charge-form", "csrf");
    let crossed = h
        .post(
            "/console/customers/cust-1/charge-card",
            &format!(
                "csrf={globex_csrf}&key=k-2&source=card%3Apm_card_visa&booking=a-1&booking=a-2"
            ),
            Some(&globex),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        crossed.header("location"),
        "/console/customers/cust-1?result=none-chosen"
    );
    let no_token = h
        .post(
            "/console/customers/cust-1/payment-option",
            "csrf=",
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(h.gateway.count("charge"), 1, "only a-1's advance");
}
