//! The reports page over HTTP (in process): what customers owe, on the page and as a CSV
//! file, and what was taken and refunded over a period; one business's figures only, for its
//! signed-in members only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::billing::{ChargeBooking, PaymentSource, RecordCollection, RefundPayment};
use billing_core::ids::BookingId;
use billing_core::money::{Amount, Currency};
use billing_core::payment::{CollectionMethod, KindName};
use common::*;

/// The row of a table with this id, up to its end.
fn row<'a>(text: &'a str, id: &str) -> &'a str {
    let start = text
        .find(&format!("<tr id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row {id} in {text}"));
    let rest = &text[start..];
    &rest[..rest.find("</tr>").expect("the row's end")]
}

/// The address of the link with this id.
fn href(text: &str, id: &str) -> String {
    let start = text
        .find(&format!("id=\"{id}\" href=\""))
        .unwrap_or_else(|| panic!("no link {id} in {text}"))
        + format!("id=\"{id}\" href=\"").len();
    text[start..start + text[start..].find('"').expect("its end")].to_owned()
}

/// A CSV file's rows, its header first.
fn records(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect()
}

fn record(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// Acme's customers beside cust-1 (who owes 200.00 USD on two bookings): one whose name has
/// a comma, quotes and markup, one who owes yen, one whose name a spreadsheet would run.
async fn more_customers(h: &Harness) {
    let b = &h.billing;
    owing_customer(
        b,
        &h.acme,
        "cust-2",
        "Smith, \"Jo\" <b>",
        "a-3",
        1_234,
        Currency::USD,
    )
    .await;
    owing_customer(b, &h.acme, "cust-3", "Kenji", "a-4", 5_000, Currency::JPY).await;
    owing_customer(
        b,
        &h.acme,
        "cust-4",
        "=HYPERLINK(\"x\")",
        "a-5",
        1,
        Currency::USD,
    )
    .await;
}

#[tokio::test]
async fn the_page_lists_what_each_customer_owes_with_the_totals_a_page_at_a_time() {
    let h = Harness::new().await;
    more_customers(&h).await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/reports", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("<h1>Reports</h1>"));
    let ada = row(&page.text, "owes-cust-1-USD");
    assert!(
        ada.contains("<a href=\"/console/customers/cust-1\">cust-1</a>"),
        "{ada}"
    );
    assert!(ada.contains("<td>Ada Lovelace</td>"), "{ada}");
    assert!(
        ada.contains("<td class=\"num\">2</td>"),
        "two bookings: {ada}"
    );
    assert!(ada.contains("<td class=\"num\">200.00 USD</td>"), "{ada}");
    let jo = row(&page.text, "owes-cust-2-USD");
    assert!(jo.contains("12.34 USD"), "{jo}");
    assert!(
        jo.contains("<td>Smith, &#34;Jo&#34; &#60;b&#62;</td>"),
        "escaped: {jo}"
    );
    assert!(row(&page.text, "owes-cust-3-JPY").contains("5000 JPY"));
    let usd = row(&page.text, "owed-USD");
    assert!(usd.contains("<td class=\"num\">4</td>"), "{usd}");
    assert!(usd.contains("212.35 USD"), "{usd}");
    assert!(row(&page.text, "owed-JPY").contains("5000 JPY"));
    assert!(!page.text.contains("id=\"next-page\""), "one page");
    assert!(
        page.text
            .contains("href=\"/console/reports/outstanding.csv\"")
    );

    // Past a page's 50 rows, the next page has the rest.
    for n in 0..50 {
        owing_customer(
            &h.billing,
            &h.acme,
            &format!("p-{n:02}"),
            "Pat",
            &format!("p-{n:02}"),
            100,
            Currency::USD,
        )
        .await;
    }
    let first = h.get("/console/reports", Some(&session)).await;
    assert_eq!(first.text.matches("<tr id=\"owes-").count(), 50);
    assert!(row(&first.text, "owed-USD").contains("262.35 USD"));
    let next = href(&first.text, "next-page");
    assert_eq!(
        next,
        "/console/reports?from=2025-12-17&#38;until=2026-01-15&#38;after_customer=p-45&#38;after_currency=USD"
    );
    let second = h.get(&next.replace("&#38;", "&"), Some(&session)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.text.matches("<tr id=\"owes-").count(), 4);
    assert!(second.text.contains("id=\"owes-p-49-USD\""));
    assert!(!second.text.contains("id=\"owes-cust-1-USD\""));
    assert!(!second.text.contains("id=\"next-page\""));
}

#[tokio::test]
async fn the_csv_has_every_balance_as_plain_decimals_and_escapes_names() {
    let h = Harness::new().await;
    more_customers(&h).await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let file = h
        .get("/console/reports/outstanding.csv", Some(&session))
        .await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.text);
    assert_eq!(file.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"outstanding-2026-01-15.csv\""
    );
    assert_eq!(file.header("cache-control"), "no-store");
    assert_eq!(
        records(&file.text),
        vec![
            record(&[
                "customer_id",
                "customer_name",
                "currency",
                "bookings",
                "balance_due"
            ]),
            record(&["cust-1", "Ada Lovelace", "USD", "2", "200.00"]),
            record(&["cust-2", "Smith, \"Jo\" <b>", "USD", "1", "12.34"]),
            record(&["cust-3", "Kenji", "JPY", "1", "5000"]),
            record(&["cust-4", "'=HYPERLINK(\"x\")", "USD", "1", "0.01"]),
        ]
    );
    // Quoted, with its quotes doubled (RFC 4180).
    assert!(
        file.text
            .contains("cust-2,\"Smith, \"\"Jo\"\" <b>\",USD,1,12.34\n"),
        "{}",
        file.text
    );
}

#[tokio::test]
async fn the_period_totals_are_what_was_charged_collected_and_refunded() {
    let h = Harness::new().await;
    let acme = &h.acme;
    let booking = |id: &str| BookingId::new(id).unwrap();
    // The harness charged a-1's card 50.00; then a-2's card 10.00, three collections on a-1
    // and a refund of 15.00 of the first charge.
    h.billing
        .charge(
            acme,
            ChargeBooking {
                booking: booking("a-2"),
                amount: Some(Amount::parse("10.00").unwrap()),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
                allow_duplicate: true,
            },
        )
        .await
        .unwrap();
    for (method, amount) in [
        (CollectionMethod::Cash, "20.00"),
        (CollectionMethod::Check, "30.00"),
        (CollectionMethod::Other("Venmo".into()), "5.00"),
    ] {
        h.billing
            .record_collection(
                acme,
                RecordCollection {
                    booking: booking("a-1"),
                    amount: Some(Amount::parse(amount).unwrap()),
                    method,
                    reference: None,
                    idempotency_key: None,
                    allow_duplicate: true,
                },
            )
            .await
            .unwrap();
    }
    let view = h.billing.booking(acme, &booking("a-1")).await.unwrap();
    let first = view
        .payments
        .iter()
        .find(|p| p.kind.name() == KindName::Charge)
        .expect("the first charge");
    h.billing
        .refund(
            acme,
            RefundPayment {
                payment: first.id.clone(),
                amount: Some(Amount::parse("15.00").unwrap()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    let session = h.member(acme, "grace@acme.example").await;
    // By default: the last 30 days up to the engine's today.
    let page = h.get("/console/reports", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.field("period-form", "from"), "2025-12-17");
    assert_eq!(page.field("period-form", "until"), "2026-01-15");
    let totals = row(&page.text, "totals-USD");
    for (class, amount) in [
        ("charged", "60.00 USD"),
        ("cash", "20.00 USD"),
        ("check", "30.00 USD"),
        ("other", "5.00 USD"),
        ("refunded", "15.00 USD"),
        ("net", "100.00 USD"),
    ] {
        assert!(
            totals.contains(&format!("<td class=\"num {class}\">{amount}</td>")),
            "{class}: {totals}"
        );
    }
    // The day's row, and the chart: an SVG named by its title, a group per day, no style.
    assert!(row(&page.text, "day-2026-01-15-USD").contains("100.00 USD"));
    assert!(page.text.contains(
        "<svg id=\"chart-usd\" role=\"img\" aria-labelledby=\"chart-usd-title\" viewBox=\"0 0 720 200\""
    ));
    assert!(page.text.contains("<title id=\"chart-usd-title\">"));
    assert_eq!(page.text.matches("<g class=\"day\">").count(), 30);
    assert!(
        page.text
            .contains("<title>Thu 15 Jan 2026: Card 60.00 USD</title>")
    );
    assert!(
        page.text
            .contains("<title>Thu 15 Jan 2026: Refunded 15.00 USD</title>")
    );
    assert!(
        !page.text.contains("style="),
        "the CSP allows no inline style"
    );
    assert!(!page.text.contains("<script"));
    // That day alone: the same; the days before: nothing.
    let day = h
        .get(
            "/console/reports?from=2026-01-15&until=2026-01-15",
            Some(&session),
        )
        .await;
    assert!(row(&day.text, "totals-USD").contains("<td class=\"num net\">100.00 USD</td>"));
    assert_eq!(day.text.matches("<g class=\"day\">").count(), 1);
    let before = h
        .get(
            "/console/reports?from=2026-01-01&until=2026-01-14",
            Some(&session),
        )
        .await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(before.text.contains("id=\"no-payments\""));
    assert!(!before.text.contains("id=\"totals-USD\""));
}

#[tokio::test]
async fn a_period_backwards_too_long_or_not_of_dates_is_refused_on_the_page() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    for (query, says) in [
        ("from=2026-01-15&until=2026-01-01", "ends before it starts"),
        ("from=2024-01-01&until=2026-01-15", "at most a year"),
        ("from=yesterday&until=2026-01-15", "year-month-day"),
    ] {
        let page = h
            .get(&format!("/console/reports?{query}"), Some(&session))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.header("content-type").starts_with("text/html"));
        let error = page
            .text
            .find("id=\"period-error\"")
            .map(|at| &page.text[at..])
            .unwrap_or_else(|| panic!("no message for {query}: {}", page.text));
        let error = &error[..error.find("</p>").expect("its end")];
        assert!(error.contains(says), "{query}: {error}");
        assert!(!page.text.contains("id=\"payment-totals\""));
        // The rest of the page is there, and the form keeps what was typed.
        assert!(page.text.contains("id=\"owes-cust-1-USD\""));
        let typed = query.split('&').next().unwrap().trim_start_matches("from=");
        assert_eq!(page.field("period-form", "from"), typed);
    }
}

#[tokio::test]
async fn another_business_sees_none_of_acmes_customers_or_amounts() {
    let h = Harness::new().await;
    more_customers(&h).await;
    let session = h.member(&h.globex, "hank@globex.example").await;
    let page = h.get("/console/reports", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(row(&page.text, "owes-cust-1-USD").contains("99.00 USD"));
    assert!(row(&page.text, "owed-USD").contains("99.00 USD"));
    for acmes in [
        "cust-2",
        "cust-3",
        "Smith",
        "Kenji",
        "200.00",
        "212.35",
        "50.00 USD",
        "JPY",
    ] {
        assert!(!page.text.contains(acmes), "{acmes} shown to Globex");
    }
    assert!(
        page.text.contains("id=\"no-payments\""),
        "Globex took nothing"
    );
    // An Acme cursor in the address reads Globex's balances after it, and nothing of Acme's.
    let after = h
        .get(
            "/console/reports?after_customer=cust-1&after_currency=JPY",
            Some(&session),
        )
        .await;
    assert!(after.text.contains("id=\"owes-cust-1-USD\""));
    assert!(!after.text.contains("cust-2") && !after.text.contains("Kenji"));
    let file = h
        .get("/console/reports/outstanding.csv", Some(&session))
        .await;
    assert_eq!(
        records(&file.text),
        vec![
            record(&[
                "customer_id",
                "customer_name",
                "currency",
                "bookings",
                "balance_due"
            ]),
            record(&["cust-1", "Ada Lovelace", "USD", "1", "99.00"]),
        ]
    );
}

#[tokio::test]
async fn signed_out_requests_go_to_sign_in() {
    let h = Harness::new().await;
    for path in [
        "/console/reports",
        "/console/reports?from=2026-01-01&until=2026-01-15",
        "/console/reports/outstanding.csv",
    ] {
        for session in [None, Some("not-a-session")] {
            let reply = h.get(path, session).await;
            assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(reply.header("location"), "/console/sign-in");
            assert!(!reply.text.contains("200.00"));
        }
    }
}
