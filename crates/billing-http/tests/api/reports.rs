//! The outstanding report.

use crate::common::*;

#[tokio::test]
async fn the_outstanding_report_in_json_and_csv() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.seed("c2", "pm_card_visa", "b2", "50.50").await;
    h.put(
        "/v1/bookings/b3",
        json!({"customer": "c2", "currency": "EUR",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "20.00"}]}),
    )
    .await;
    h.post("/v1/bookings/b1/charges", json!({"amount": "30.00"}))
        .await;
    let report = h.get("/v1/reports/outstanding").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(
        report.json["customers"],
        json!([
            {"customer": "c1", "balance_due": {"amount": "70.00", "currency": "USD"}, "bookings": 1},
            {"customer": "c2", "balance_due": {"amount": "20.00", "currency": "EUR"}, "bookings": 1},
            {"customer": "c2", "balance_due": {"amount": "50.50", "currency": "USD"}, "bookings": 1},
        ])
    );
    assert_eq!(
        report.json["totals"],
        json!([{"amount": "20.00", "currency": "EUR"}, {"amount": "120.50", "currency": "USD"}])
    );
    let expected = "customer,currency,balance_due,bookings\n\
                    c1,USD,70.00,1\n\
                    c2,EUR,20.00,1\n\
                    c2,USD,50.50,1\n\
                    TOTAL,EUR,20.00,1\n\
                    TOTAL,USD,120.50,2\n";
    let csv = h.get("/v1/reports/outstanding?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type().starts_with("text/csv"));
    assert_eq!(csv.text, expected);
    let accepted = h
        .call(
            Method::GET,
            "/v1/reports/outstanding",
            Some(KEY_A),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(accepted.text, expected);
    h.get("/v1/reports/outstanding?format=xml")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn the_outstanding_report_comes_a_page_at_a_time() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.seed("c2", "pm_card_visa", "b2", "50.50").await;
    h.put(
        "/v1/bookings/b3",
        json!({"customer": "c2", "currency": "EUR",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "20.00"}]}),
    )
    .await;
    let totals =
        json!([{"amount": "20.00", "currency": "EUR"}, {"amount": "150.50", "currency": "USD"}]);
    let first = h.get("/v1/reports/outstanding?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(
        first.json["customers"],
        json!([
            {"customer": "c1", "balance_due": {"amount": "100.00", "currency": "USD"}, "bookings": 1},
            {"customer": "c2", "balance_due": {"amount": "20.00", "currency": "EUR"}, "bookings": 1},
        ])
    );
    assert_eq!(first.json["next_after"], "c2:EUR");
    assert_eq!(
        first.json["totals"], totals,
        "every customer's, on every page"
    );
    let last = h.get("/v1/reports/outstanding?limit=2&after=c2:EUR").await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text);
    assert_eq!(
        last.json["customers"],
        json!([{"customer": "c2", "balance_due": {"amount": "50.50", "currency": "USD"}, "bookings": 1}])
    );
    assert!(last.json.get("next_after").is_none(), "{}", last.text);
    assert_eq!(last.json["totals"], totals);
    // A full page names the next one, which may be empty.
    let exact = h.get("/v1/reports/outstanding?after=c1:USD&limit=2").await;
    assert_eq!(exact.json["next_after"], "c2:USD");
    let empty = h.get("/v1/reports/outstanding?after=c2:USD").await;
    assert_eq!(empty.json["customers"], json!([]));
    assert!(empty.json.get("next_after").is_none());

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=two",
        "after=c1",
        "after=c1:",
        "after=:USD",
        "after=c1:XYZ",
        "after=c%201:USD",
    ] {
        h.get(&format!("/v1/reports/outstanding?{bad}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[tokio::test]
async fn the_csv_export_walks_every_page() {
    let h = Harness::new().await;
    let alpha = h.alpha().await;
    // More customers than a page holds (1,000), seeded through the core.
    let count = 1001;
    for n in 0..count {
        let customer = CustomerId::new(format!("c{n:04}")).unwrap();
        let profile = Customer {
            id: customer.clone(),
            name: format!("Customer {n}"),
            email: None,
            phone: None,
            gateway_customer: None,
        };
        h.billing.put_customer(&alpha, profile).await.unwrap();
        let price = Money::parse("1.25", Currency::USD).unwrap();
        let item = LineItem::new(LineItemKind::Service, "Clean", price).unwrap();
        let booking = BookingAccount::new(
            BookingId::new(format!("b{n:04}")).unwrap(),
            customer,
            Currency::USD,
            vec![item],
        )
        .unwrap();
        h.billing.put_booking(&alpha, booking).await.unwrap();
    }
    let csv = h.get("/v1/reports/outstanding?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 1 + count + 1, "header, every row, the total");
    assert_eq!(lines[0], "customer,currency,balance_due,bookings");
    assert_eq!(lines[1], "c0000,USD,1.25,1");
    assert_eq!(lines[count], "c1000,USD,1.25,1");
    assert_eq!(lines[count + 1], "TOTAL,USD,1251.25,1001");
    // The JSON report pages them.
    let page = h.get("/v1/reports/outstanding").await;
    assert_eq!(page.json["customers"].as_array().map(Vec::len), Some(100));
    assert_eq!(page.json["next_after"], "c0099:USD");
}
