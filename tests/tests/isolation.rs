//! Tenant isolation: every route that takes an id, called with another business's key, answers
//! 404 and changes nothing.

use billing_blackbox::{Service, Store};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn another_business_sees_nothing_and_changes_nothing() {
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    let globex = service.create_business("Globex Lawns");
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "100.00")
        .await;
    let hold = service
        .post(
            &acme,
            "/v1/bookings/b-1/authorizations",
            json!({"amount": "40.00"}),
        )
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{hold:?}");
    let hold_id = hold.json["payment"]["id"].as_str().expect("id").to_owned();
    let charge = service
        .post(
            &acme,
            "/v1/bookings/b-1/charges",
            json!({"amount": "10.00"}),
        )
        .await;
    assert_eq!(charge.status, StatusCode::CREATED, "{charge:?}");
    let charge_id = charge.json["payment"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let card = service
        .get(&acme, "/v1/customers/ada/payment-methods")
        .await
        .json["data"][0]["payment_method"]
        .as_str()
        .expect("card")
        .to_owned();

    let before_booking = service.get(&acme, "/v1/bookings/b-1").await.json;
    let before_customer = service.get(&acme, "/v1/customers/ada").await.json;

    let routes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, "/v1/customers/ada".into(), None),
        (
            Method::GET,
            "/v1/customers/ada/payment-methods".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/customers/ada/payment-methods".into(),
            Some(json!({"payment_method": "pm_card_visa"})),
        ),
        (
            Method::DELETE,
            format!("/v1/customers/ada/payment-methods/{card}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/customers/ada/payment-methods/{card}/default"),
            Some(json!({})),
        ),
        (Method::GET, "/v1/customers/ada/balance".into(), None),
        (Method::GET, "/v1/bookings/b-1".into(), None),
        (
            Method::POST,
            "/v1/bookings/b-1/line-items".into(),
            Some(json!({"kind": "extra", "label": "x", "amount": "1.00"})),
        ),
        (
            Method::POST,
            "/v1/bookings/b-1/charges".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/v1/bookings/b-1/collections".into(),
            Some(json!({"method": "cash"})),
        ),
        (
            Method::POST,
            "/v1/bookings/b-1/authorizations".into(),
            Some(json!({})),
        ),
        (Method::GET, format!("/v1/payments/{charge_id}"), None),
        (
            Method::POST,
            format!("/v1/payments/{hold_id}/captures"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{hold_id}/cancel"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/refunds"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/reconcile"),
            Some(json!({})),
        ),
        // Not 409 `payment_not_cancelable`: that would tell another business it exists.
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/cancel"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/mark-failed"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{hold_id}/sync"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/payments/{charge_id}/sync"),
            Some(json!({})),
        ),
        // Payment automation and checkouts.
        (Method::GET, "/v1/bookings/b-1/automation".into(), None),
        (
            Method::PUT,
            "/v1/bookings/b-1/automation".into(),
            Some(json!({"paused": true})),
        ),
        (
            Method::POST,
            "/v1/bookings/b-1/cancel".into(),
            Some(json!({})),
        ),
        (
            Method::PUT,
            "/v1/customers/ada/automation".into(),
            Some(json!({"paused": true})),
        ),
        (
            Method::POST,
            "/v1/checkouts".into(),
            Some(json!({"booking": "b-1", "return_url": "https://shop.example/booked"})),
        ),
    ];
    for (method, path, body) in routes {
        let answer = service
            .call(&globex, method.clone(), &path, body, None)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {answer:?}"
        );
        assert_eq!(
            answer
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{method} {path}"
        );
    }
    // Bulk: one result per booking, each not found.
    let bulk = service
        .post(&globex, "/v1/charges/bulk", json!({"bookings": ["b-1"]}))
        .await;
    assert_eq!(bulk.json["results"][0]["status"], 404, "{bulk:?}");
    // Listing and reports show nothing of Acme's, whatever the filter.
    assert_eq!(
        service.get(&globex, "/v1/bookings").await.json["data"],
        json!([])
    );
    let holding = service.get(&acme, "/v1/bookings?holding=true").await;
    assert_eq!(holding.json["data"][0]["id"], "b-1", "{holding:?}");
    for filter in ["holding=true", "holding=false"] {
        let listed = service
            .get(&globex, &format!("/v1/bookings?{filter}"))
            .await;
        assert_eq!(listed.status, StatusCode::OK, "{filter}: {listed:?}");
        assert_eq!(listed.json["data"], json!([]), "{filter}");
    }
    assert_eq!(
        service.get(&globex, "/v1/reports/outstanding").await.json["customers"],
        json!([])
    );
    // Nothing changed for Acme.
    assert_eq!(
        service.get(&acme, "/v1/bookings/b-1").await.json,
        before_booking
    );
    assert_eq!(
        service.get(&acme, "/v1/customers/ada").await.json,
        before_customer
    );
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let service = Service::start(Store::Sqlite);
    let nobody = billing_blackbox::Tenant {
        business: String::new(),
        api_key: "bk_test_not-a-key".into(),
    };
    let answer = service.get(&nobody, "/v1/bookings").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json["code"], "unauthorized");
}
