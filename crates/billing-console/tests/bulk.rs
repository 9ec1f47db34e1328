//! "Charge selected" from the bookings list: the preview says how many, the total and which
//! have no card; the confirmation charges each once, however often it is sent, and shows each
//! booking's result. Over HTTP in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::Customer;
use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::testkit::Scripted;
use common::*;

/// `a-3`, for a customer with no card on file.
async fn booking_without_card(h: &Harness) {
    let customer = CustomerId::new("cust-2").unwrap();
    h.billing
        .put_customer(
            &h.acme,
            Customer {
                id: customer.clone(),
                name: "No Card".into(),
                email: None,
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    let account = BookingAccount::new(
        BookingId::new("a-3").unwrap(),
        customer,
        Currency::USD,
        vec![
            LineItem::new(
                LineItemKind::Service,
                "Windows",
                Money::from_minor(3_000, Currency::USD),
            )
            .unwrap(),
        ],
    )
    .unwrap();
    h.billing.put_booking(&h.acme, account).await.unwrap();
}

#[tokio::test]
async fn charge_selected_previews_then_charges_each_once_with_its_own_result() {
    let h = Harness::new().await;
    booking_without_card(&h).await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/bookings", Some(&session)).await;
    assert!(list.text.contains("id=\"select-a-1\""), "{}", list.text);
    let csrf = list.field("bulk-form", "csrf");
    let preview = h
        .post(
            "/console/bookings/bulk",
            &format!("csrf={csrf}&booking=a-1&booking=a-2&booking=a-3&booking=g-1"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(
        preview.text.contains(
            "2 bookings will be charged: <strong class=\"bulk-total\">200.00 USD</strong>"
        ),
        "{}",
        preview.text
    );
    assert!(
        preview.text.contains("1 has no card on file"),
        "{}",
        preview.text
    );
    assert!(
        preview.text.contains("1 could not be found"),
        "Globex's booking is not Acme's: {}",
        preview.text
    );
    assert!(!preview.text.contains("g-1"), "{}", preview.text);
    assert_eq!(h.gateway.count("charge"), 1, "a preview charges nothing");

    let key = preview.field("bulk-confirm", "key");
    let confirm = format!("csrf={csrf}&key={key}&booking=a-1&booking=a-2");
    // One of the two cards declines.
    h.gateway
        .script(Scripted::Decline("insufficient_funds".into()));
    let results = h
        .post(
            "/console/bookings/bulk/charge",
            &confirm,
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.text);
    assert!(
        results.text.contains("1 charged, 1 not charged."),
        "{}",
        results.text
    );
    assert!(results.text.contains("Declined"), "{}", results.text);
    // Sent again (a double click, a reload): replayed, nothing more charged.
    let again = h
        .post(
            "/console/bookings/bulk/charge",
            &confirm,
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert!(
        again.text.contains("1 charged, 1 not charged."),
        "{}",
        again.text
    );
    assert_eq!(h.gateway.count("charge"), 3, "a-1's advance and the two");
    // The charge is the member's.
    let charged = ["a-1", "a-2"]
        .into_iter()
        .find(|id| results.text.contains(&format!("id=\"result-{id}\"><td><a href=\"/console/bookings/{id}\">{id}</a></td><td><span class=\"result success\">")))
        .expect("one charged");
    let page = h
        .get(&format!("/console/bookings/{charged}"), Some(&session))
        .await;
    assert!(
        page.text.contains("Grace &#60;Hopper&#62;"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn charge_selected_refuses_no_selection_a_missing_token_and_another_business() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/bookings", Some(&session)).await;
    let csrf = list.field("bulk-form", "csrf");
    let none = h
        .post(
            "/console/bookings/bulk",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    let no_token = h
        .post(
            "/console/bookings/bulk/charge",
            "csrf=&key=k1&booking=a-2",
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let theirs = h
        .post(
            "/console/bookings/bulk/charge",
            &format!("csrf={csrf}&key=k2&booking=g-1"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert!(theirs.text.contains("No such booking"), "{}", theirs.text);
    assert_eq!(h.gateway.count("charge"), 1, "only a-1's advance");
}

#[tokio::test]
async fn the_list_filters_pending_and_needs_attention() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/bookings", Some(&session)).await;
    assert!(
        list.text
            .contains("<option value=\"needs_attention\">Needs attention</option>")
    );
    let attention = h
        .get("/console/bookings?status=needs_attention", Some(&session))
        .await;
    assert_eq!(attention.status, StatusCode::OK);
    assert!(
        attention.text.contains("id=\"no-bookings\""),
        "{}",
        attention.text
    );
    let pending = h
        .get("/console/bookings?status=pending", Some(&session))
        .await;
    assert!(
        pending.text.contains("id=\"no-bookings\""),
        "{}",
        pending.text
    );
}

#[tokio::test]
async fn the_list_searches_and_filters_by_customer_and_service_dates() {
    let h = Harness::new().await;
    booking_without_card(&h).await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let shown = |text: &str| {
        ["a-1", "a-2", "a-3", "g-1"]
            .into_iter()
            .filter(|id| text.contains(&format!("id=\"booking-{id}\"")))
            .collect::<Vec<_>>()
    };
    let searched = h.get("/console/bookings?q=A-2", Some(&session)).await;
    assert_eq!(shown(&searched.text), ["a-2"], "{}", searched.text);
    assert!(searched.text.contains("value=\"A-2\""), "the form keeps it");
    let theirs = h
        .get("/console/bookings?customer=cust-2", Some(&session))
        .await;
    assert_eq!(shown(&theirs.text), ["a-3"]);
    let by_name = h.get("/console/bookings?q=cust-2", Some(&session)).await;
    assert_eq!(shown(&by_name.text), ["a-3"]);
    // None of these has a service date: a date range leaves them out.
    let dated = h
        .get(
            "/console/bookings?from=2026-01-01&until=2026-12-31",
            Some(&session),
        )
        .await;
    assert_eq!(dated.status, StatusCode::OK);
    assert!(shown(&dated.text).is_empty(), "{}", dated.text);
    for bad in [
        "from=2026-13-01",
        "from=2026-12-31&until=2026-01-01",
        "customer=%20bad%20id%20",
    ] {
        let refused = h
            .get(&format!("/console/bookings?{bad}"), Some(&session))
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(refused.text.contains("id=\"filters-error\""), "{bad}");
        assert!(shown(&refused.text).is_empty(), "{bad}");
    }
    let everything = h.get("/console/bookings?q=g-1", Some(&session)).await;
    assert!(
        shown(&everything.text).is_empty(),
        "Globex's booking is not found"
    );
}
