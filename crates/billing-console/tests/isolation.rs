//! Staff of one business never see or change another's data, on every console route: a
//! Globex member sent to each of Acme's bookings, payments and customers gets the same "not
//! found" as for an unknown id (or, for the lists and the bulk forms, nothing of Acme's), and
//! Acme's records are unchanged afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::customer::Customer;
use billing_core::ids::{BookingId, CustomerId};
use billing_core::staff::StaffRole;
use common::*;

#[tokio::test]
async fn a_member_of_another_business_sees_and_changes_nothing_on_any_route() {
    let h = Harness::new().await;
    // Acme's own customer (Globex has a `cust-1` of its own, none called `acme-only`).
    h.billing
        .put_customer(
            &h.acme,
            Customer {
                id: CustomerId::new("acme-only").unwrap(),
                name: "Acme Only".into(),
                email: Some("only@acme.example".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    let acme_booking = h
        .billing
        .booking(&h.acme, &BookingId::new("a-1").unwrap())
        .await
        .unwrap();
    let acme_payment = acme_booking.payments[0].id.to_string();
    let globex = h
        .member_as(&h.globex, "hank@globex.example", StaffRole::Owner)
        .await;
    let page = h.get("/console/bookings", Some(&globex)).await;
    assert!(!page.text.contains("a-1"), "{}", page.text);
    let csrf = page.csrf();

    for path in [
        "/console/bookings/a-1".to_owned(),
        "/console/bookings/a-2".to_owned(),
        "/console/customers/acme-only".to_owned(),
    ] {
        let seen = h.get(&path, Some(&globex)).await;
        assert_eq!(seen.status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(!seen.text.contains("Deep clean"), "GET {path}");
    }
    for (path, list) in [
        ("/console/bookings?q=a-", "bookings"),
        ("/console/bookings?customer=acme-only", "bookings"),
        ("/console/customers", "customers"),
    ] {
        let seen = h.get(path, Some(&globex)).await;
        assert_eq!(seen.status, StatusCode::OK, "GET {path}");
        assert!(
            !seen.text.contains("id=\"booking-a-")
                && !seen.text.contains("id=\"customer-acme-only"),
            "GET {path} shows Acme's {list}: {}",
            seen.text
        );
    }

    let posts = [
        (
            "/console/bookings/a-2/charges".to_owned(),
            format!("csrf={csrf}&key=x1&source=card%3Apm_card_visa&amount=5.00"),
        ),
        (
            "/console/bookings/a-2/charges".to_owned(),
            format!("csrf={csrf}&key=x2&source=cash&amount=5.00"),
        ),
        (
            "/console/bookings/a-2/line-items".to_owned(),
            format!("csrf={csrf}&lines=1&kind=extra&label=X&amount=5.00"),
        ),
        (
            "/console/bookings/a-2/payment-link".to_owned(),
            format!("csrf={csrf}&amount="),
        ),
        (
            format!("/console/payments/{acme_payment}/refund"),
            format!("csrf={csrf}&key=x3&booking=a-1&amount=5.00"),
        ),
        (
            format!("/console/payments/{acme_payment}/capture"),
            format!("csrf={csrf}&key=x4&booking=a-1&amount=5.00"),
        ),
        (
            format!("/console/payments/{acme_payment}/release"),
            format!("csrf={csrf}&booking=a-1"),
        ),
        (
            "/console/customers/acme-only/card-request".to_owned(),
            format!("csrf={csrf}"),
        ),
        (
            "/console/customers/acme-only/card-request-text".to_owned(),
            format!("csrf={csrf}"),
        ),
        (
            "/console/customers/acme-only/portal-link".to_owned(),
            format!("csrf={csrf}"),
        ),
        (
            "/console/customers/acme-only/portal-link-text".to_owned(),
            format!("csrf={csrf}"),
        ),
        (
            "/console/customers/acme-only/payment-link-text".to_owned(),
            format!("csrf={csrf}&booking=a-1"),
        ),
        (
            "/console/customers/acme-only/cards/default".to_owned(),
            format!("csrf={csrf}&payment_method=pm_card_visa"),
        ),
        (
            "/console/customers/acme-only/cards/remove".to_owned(),
            format!("csrf={csrf}&payment_method=pm_card_visa"),
        ),
        (
            "/console/customers/acme-only/charge-card".to_owned(),
            format!("csrf={csrf}&key=x5&source=card%3Apm_card_visa&booking=a-1"),
        ),
        (
            "/console/customers/acme-only/payment-link".to_owned(),
            format!("csrf={csrf}&booking=a-1"),
        ),
        (
            "/console/customers/acme-only/new-card".to_owned(),
            format!("csrf={csrf}&booking=a-1"),
        ),
        (
            "/console/customers/acme-only/payment-option".to_owned(),
            format!("csrf={csrf}"),
        ),
    ];
    for (path, form) in &posts {
        let sent = h.post(path, form, Some(&globex), SAME_SITE).await;
        let location = sent.header("location").to_owned();
        assert!(
            sent.status == StatusCode::NOT_FOUND
                || (sent.status == StatusCode::SEE_OTHER && location.ends_with("result=not-done")),
            "POST {path}: {} {location} {}",
            sent.status,
            sent.text
        );
    }
    // The bulk forms: Acme's bookings are not found, nothing is charged.
    let preview = h
        .post(
            "/console/bookings/bulk",
            &format!("csrf={csrf}&booking=a-1&booking=a-2"),
            Some(&globex),
            SAME_SITE,
        )
        .await;
    assert!(
        preview.text.contains("2 could not be found"),
        "{}",
        preview.text
    );
    let charged = h
        .post(
            "/console/bookings/bulk/charge",
            &format!("csrf={csrf}&key=x6&booking=a-1&booking=a-2"),
            Some(&globex),
            SAME_SITE,
        )
        .await;
    assert!(
        charged.text.contains("0 charged, 2 not charged."),
        "{}",
        charged.text
    );

    // Acme's records as they were.
    assert_eq!(h.gateway.count("charge"), 1, "only a-1's advance");
    assert_eq!(h.gateway.count("refund"), 0);
    let after = h
        .billing
        .booking(&h.acme, &BookingId::new("a-1").unwrap())
        .await
        .unwrap();
    assert_eq!(after.payments, acme_booking.payments);
    let a2 = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap();
    assert_eq!(a2.account.line_items.len(), 1);
    assert!(a2.payments.is_empty());
    for customer in ["acme-only", "cust-1"] {
        let links = h
            .billing
            .customer_links(&h.acme, &CustomerId::new(customer).unwrap(), 10)
            .await
            .unwrap();
        assert!(links.is_empty(), "{customer}: {links:?}");
    }
    let cards = h
        .billing
        .cards(&h.acme, &CustomerId::new("cust-1").unwrap())
        .await
        .unwrap();
    assert_eq!(cards.len(), 1, "Acme's card still on file");
}
