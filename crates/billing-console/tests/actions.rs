//! The console's actions over HTTP (in process): charges and collections that happen once,
//! holds captured and released, refunds by owners only, a customer's profile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::billing::PaymentSource;
use billing_core::ids::BookingId;
use billing_core::money::Amount;
use billing_core::staff::StaffRole;
use common::*;

#[tokio::test]
async fn staff_charge_a_card_once_however_often_the_form_is_sent() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("id=\"recent-charge\""), "never charged");
    assert!(
        page.text.contains("Visa ending 4242 (default)"),
        "{}",
        page.text
    );
    assert_eq!(
        page.field("charge-form", "amount"),
        "50.00",
        "the balance, filled in"
    );
    let form = format!(
        "csrf={}&key={}&source=card%3Apm_card_visa&amount=50.00",
        page.field("charge-form", "csrf"),
        page.field("charge-form", "key")
    );
    // A double click: the same form twice. One charge.
    for _ in 0..2 {
        let sent = h
            .post(
                "/console/bookings/a-2/charges",
                &form,
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
        assert_eq!(
            sent.header("location"),
            "/console/bookings/a-2?result=charged"
        );
    }
    assert_eq!(h.gateway.count("charge"), 2, "a-1's advance and this one");
    let after = h
        .get("/console/bookings/a-2?result=charged", Some(&session))
        .await;
    assert!(
        after.text.contains("The charge was successful."),
        "{}",
        after.text
    );
    assert!(
        after
            .text
            .contains("id=\"status-badge\" class=\"badge paid\">Charged in full")
    );
    assert!(
        after.text.contains("id=\"recent-charge\""),
        "a warning before another"
    );
    assert_ne!(
        after.field("charge-form", "key"),
        page.field("charge-form", "key"),
        "a new form, a new key"
    );
    // A text of the attacker's choosing never reaches the page through the address.
    let crafted = h
        .get("/console/bookings/a-2?result=%3Cscript%3E", Some(&session))
        .await;
    assert!(!crafted.text.contains("id=\"flash\""));
}

#[tokio::test]
async fn staff_record_cash_and_checks_and_forged_or_foreign_charges_do_nothing() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-1", Some(&session)).await;
    assert_eq!(page.field("collect-form", "amount"), "150.00");
    let csrf = page.field("collect-form", "csrf");
    let key = page.field("collect-form", "key");
    // The wrong CSRF token, then another business's booking: nothing recorded.
    let forged = h
        .post(
            "/console/bookings/a-1/charges",
            &format!(
                "csrf={}&key={key}&source=cash&amount=150.00",
                "f".repeat(64)
            ),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let foreign = h
        .post(
            "/console/bookings/g-1/charges",
            &format!("csrf={csrf}&key=other-{key}&source=cash&amount=10.00"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let too_much = h
        .post(
            "/console/bookings/a-1/charges",
            &format!("csrf={csrf}&key=big-{key}&source=cash&amount=900.00"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        too_much.header("location"),
        "/console/bookings/a-1?result=amount"
    );
    let check = h
        .post(
            "/console/bookings/a-1/charges",
            &format!("csrf={csrf}&key={key}&source=check&reference=1234&amount=150.00"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        check.header("location"),
        "/console/bookings/a-1?result=collected"
    );
    let after = h
        .get("/console/bookings/a-1?result=collected", Some(&session))
        .await;
    assert!(after.text.contains("The collection was recorded."));
    assert!(after.text.contains(">Charged in full<"), "{}", after.text);
    assert!(after.text.contains("<td>Collection</td>"));
    let globex = h
        .billing
        .booking(&h.globex, &BookingId::new("g-1").unwrap())
        .await
        .unwrap();
    assert!(
        globex.payments.is_empty(),
        "the other business's booking was not touched"
    );
}

async fn hold(h: &Harness, booking: &str, amount: &str) -> String {
    h.billing
        .authorize(
            &h.acme,
            billing_core::billing::AuthorizeBooking {
                booking: BookingId::new(booking).unwrap(),
                amount: Some(Amount::parse(amount).unwrap()),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .unwrap()
        .payment
        .id
        .to_string()
}

#[tokio::test]
async fn holds_are_captured_or_released_and_only_owners_refund() {
    let h = Harness::new().await;
    let staff = h.member(&h.acme, "grace@acme.example").await;
    let held = hold(&h, "a-2", "50.00").await;
    let page = h.get("/console/bookings/a-2", Some(&staff)).await;
    assert!(page.text.contains(">Authorized<"), "{}", page.text);
    let row = format!("payment-{held}");
    assert_eq!(
        page.field(&row, "amount"),
        "50.00",
        "what the hold can capture"
    );
    let csrf = page.field(&row, "csrf");
    let key = page.field(&row, "key");
    // Part of it captured (the rest released with it).
    let captured = h
        .post(
            &format!("/console/payments/{held}/capture"),
            &format!("csrf={csrf}&key={key}&booking=a-2&amount=30.00"),
            Some(&staff),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        captured.header("location"),
        "/console/bookings/a-2?result=captured"
    );
    let after = h.get("/console/bookings/a-2", Some(&staff)).await;
    assert!(
        after.text.contains("id=\"paid\">30.00 USD"),
        "{}",
        after.text
    );
    assert!(after.text.contains("id=\"held\">0.00 USD"));
    assert!(
        !after.text.contains("/refund\""),
        "staff see no refund form"
    );
    // Staff cannot refund, even by posting the form themselves.
    let capture_id = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap()
        .payments
        .iter()
        .find(|p| p.kind.name() == billing_core::payment::KindName::Capture)
        .map(|p| p.id.to_string())
        .expect("the capture");
    let not_owner = h
        .post(
            &format!("/console/payments/{capture_id}/refund"),
            &format!("csrf={csrf}&key=r-{key}&booking=a-2&amount=10.00"),
            Some(&staff),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        not_owner.header("location"),
        "/console/bookings/a-2?result=not-owner"
    );
    // An owner refunds part of it.
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let page = h.get("/console/bookings/a-2", Some(&owner)).await;
    let row = format!("payment-{capture_id}");
    assert_eq!(page.field(&row, "amount"), "30.00", "what can be refunded");
    let refunded = h
        .post(
            &format!("/console/payments/{capture_id}/refund"),
            &format!(
                "csrf={}&key={}&booking=a-2&amount=10.00",
                page.field(&row, "csrf"),
                page.field(&row, "key")
            ),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        refunded.header("location"),
        "/console/bookings/a-2?result=refunded"
    );
    let after = h.get("/console/bookings/a-2", Some(&owner)).await;
    assert!(
        after.text.contains("id=\"refunded\">10.00 USD"),
        "{}",
        after.text
    );

    // A hold released.
    let other = hold(&h, "a-1", "100.00").await;
    let page = h.get("/console/bookings/a-1", Some(&staff)).await;
    let released = h
        .post(
            &format!("/console/payments/{other}/release"),
            &format!("csrf={}&booking=a-1", page.csrf()),
            Some(&staff),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        released.header("location"),
        "/console/bookings/a-1?result=released"
    );
    let after = h.get("/console/bookings/a-1", Some(&staff)).await;
    assert!(
        after.text.contains("id=\"held\">0.00 USD"),
        "{}",
        after.text
    );
    // Another business's member cannot touch Acme's payments.
    let globex = h
        .member_as(&h.globex, "boss@globex.example", StaffRole::Owner)
        .await;
    let theirs = h.get("/console/bookings", Some(&globex)).await;
    let foreign = h
        .post(
            &format!("/console/payments/{capture_id}/refund"),
            &format!("csrf={}&key=x&booking=g-1&amount=1.00", theirs.csrf()),
            Some(&globex),
            SAME_SITE,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "as good as unknown");
    let still = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap();
    assert_eq!(still.summary.balance.refunded.to_string(), "10.00 USD");
}

#[tokio::test]
async fn a_customers_profile_shows_cards_what_they_owe_and_the_emails_sent() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/customers", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("id=\"customer-cust-1\""));
    let profile = h.get("/console/customers/cust-1", Some(&session)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text);
    assert!(profile.text.contains("id=\"customer-name\">Ada Lovelace"));
    assert!(
        profile
            .text
            .contains("Visa ending 4242 · expires 12/2034 · <strong>default</strong>")
    );
    assert!(
        profile.text.contains("id=\"owes\">200.00 USD"),
        "{}",
        profile.text
    );
    assert!(profile.text.contains("id=\"no-notifications\""));
    // "Send Email": a card request, in the notifications section.
    let forged = h
        .post(
            "/console/customers/cust-1/card-request",
            &format!("csrf={}", "0".repeat(64)),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let sent = h
        .post(
            "/console/customers/cust-1/card-request",
            &format!("csrf={}", profile.field("card-request-form", "csrf")),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        sent.header("location"),
        "/console/customers/cust-1?result=card-request-sent"
    );
    let after = h
        .get(
            "/console/customers/cust-1?result=card-request-sent",
            Some(&session),
        )
        .await;
    assert!(after.text.contains("The card request was emailed."));
    assert!(
        after.text.contains("<td>Card request</td>"),
        "{}",
        after.text
    );
    assert!(after.text.contains("<td>Queued</td>"));
    // Their bookings, from the profile's link.
    let bookings = h
        .get("/console/bookings?customer=cust-1", Some(&session))
        .await;
    assert!(bookings.text.contains("booking-a-1") && bookings.text.contains("booking-a-2"));
    let unknown = h.get("/console/customers/nobody", Some(&session)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
