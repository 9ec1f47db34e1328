//! Payments that ask the customer to authenticate (3-D Secure), amounts the gateway can never
//! charge, and holds captured in several parts, on the sandbox gateway:
//!
//! - an off-session charge of a card that asks for authentication is a decline
//!   (`authentication_required`, with the suggestion to send a payment link) that leaves the
//!   booking free: cash and a payment link are then accepted;
//! - a payment waiting for the customer's authentication can be canceled by staff, once;
//! - 10.125 KWD, 0.49 USD and a currency the gateway does not take are refused before any
//!   payment opens;
//! - a non-final capture is refused where the account cannot capture in several parts, and
//!   works where it can.

use billing_blackbox::{Answer, Service, Store, Tenant, amount};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A 3-D Secure card the issuer asks about on-session (`4000 0025 0000 3155`).
const AUTHENTICATE_ON_SESSION: &str = "4000 0025 0000 3155";

/// A browser that does not follow redirects, to see the pages' own answers.
fn page_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Posts a card to a hosted page's form, as the sandbox's page does.
async fn post_card(url: &str, number: &str) -> reqwest::Response {
    page_client()
        .post(url)
        .form(&[
            ("card_number", number),
            ("card_expiry", "12 / 34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .expect("the page answers")
}

async fn booking(service: &Service, tenant: &Tenant, id: &str) -> Value {
    let answer = service.get(tenant, &format!("/v1/bookings/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.json
}

/// A customer (no card) and a booking in `currency` for `price`.
async fn book(
    service: &Service,
    tenant: &Tenant,
    customer: &str,
    id: &str,
    currency: &str,
    price: &str,
) {
    let answer = service
        .post(
            tenant,
            "/v1/customers",
            json!({"id": customer, "name": format!("Customer {customer}"), "email": format!("{customer}@example.com")}),
        )
        .await;
    assert!(answer.status.is_success(), "customer: {answer:?}");
    let answer = service
        .put(
            tenant,
            &format!("/v1/bookings/{id}"),
            json!({
                "customer": customer,
                "currency": currency,
                "line_items": [{"kind": "service", "label": "Home cleaning", "amount": price}],
            }),
        )
        .await;
    assert!(answer.status.is_success(), "booking: {answer:?}");
}

fn assert_problem(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.json["code"], code, "{answer:?}");
}

#[tokio::test]
async fn an_off_session_charge_that_needs_authentication_is_declined_and_frees_the_booking() {
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    service
        .seed_booking(
            &acme,
            "ada",
            "pm_card_authenticationRequired",
            "b-1",
            "100.00",
        )
        .await;

    let charged = service
        .post(&acme, "/v1/bookings/b-1/charges", json!({}))
        .await;
    assert_problem(&charged, StatusCode::PAYMENT_REQUIRED, "card_declined");
    assert_eq!(
        charged.json["decline_code"], "authentication_required",
        "{charged:?}"
    );
    assert_eq!(
        charged.json["suggested_action"], "send_payment_link",
        "{charged:?}"
    );
    let failed = charged.json["payment"]
        .as_str()
        .expect("the failed payment")
        .to_owned();

    // The payment ended, failed, with the same suggestion; the booking is free again.
    let payment = service.get(&acme, &format!("/v1/payments/{failed}")).await;
    assert_eq!(payment.json["payment"]["state"], "failed", "{payment:?}");
    assert_eq!(
        payment.json["payment"]["failure"]["decline_code"], "authentication_required",
        "{payment:?}"
    );
    assert_eq!(
        payment.json["payment"]["suggested_action"], "send_payment_link",
        "{payment:?}"
    );
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["last_failed"], true, "{b1:#}");
    assert_eq!(b1["pending"], false, "{b1:#}");
    assert_eq!(b1["status"], "not_charged", "{b1:#}");
    assert_eq!(amount(&b1["in_flight"]), "0.00", "{b1:#}");
    assert_eq!(amount(&b1["balance_due"]), "100.00", "{b1:#}");

    // Cash for part of it, then a payment link for the rest: both accepted.
    let cash = service
        .post(
            &acme,
            "/v1/bookings/b-1/collections",
            json!({"method": "cash", "amount": "40.00"}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{cash:?}");
    let link = service
        .post(
            &acme,
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["b-1"], "send_email": false}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    assert_eq!(amount(&link.json["amount"]), "60.00", "{link:?}");
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["status"], "partially_charged", "{b1:#}");
    assert_eq!(amount(&b1["balance_due"]), "60.00", "{b1:#}");
}

#[tokio::test]
async fn staff_cancel_a_payment_waiting_for_the_customer_to_authenticate_once() {
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    book(&service, &acme, "ada", "b-1", "USD", "80.00").await;
    let link = service
        .post(
            &acme,
            "/v1/payment-links",
            json!({"customer": "ada", "bookings": ["b-1"], "send_email": false}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{link:?}");
    let url = link.json["url"].as_str().expect("url").to_owned();
    let link_id = link.json["id"].as_str().expect("id").to_owned();

    // The customer's bank asks them to authenticate: to the sandbox's challenge page.
    let paid = post_card(&url, AUTHENTICATE_ON_SESSION).await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let challenge = paid
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("a Location")
        .to_owned();
    assert!(
        challenge.starts_with(&format!("{}/sandbox/authenticate/", service.base_url)),
        "{challenge}"
    );
    let shown = page_client()
        .get(&challenge)
        .send()
        .await
        .expect("the challenge");
    assert_eq!(shown.status(), StatusCode::OK);

    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["pending"], true, "{b1:#}");
    let payments = b1["payments"].as_array().cloned().unwrap_or_default();
    assert_eq!(payments.len(), 1, "{b1:#}");
    assert_eq!(payments[0]["state"], "requires_action", "{b1:#}");
    assert_eq!(payments[0]["origin"], "payment_link", "{b1:#}");
    let waiting = payments[0]["id"].as_str().expect("id").to_owned();

    // Staff give it up: the booking is free again, the challenge gone, the link payable.
    let canceled = service
        .post(&acme, &format!("/v1/payments/{waiting}/cancel"), json!({}))
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{canceled:?}");
    assert_eq!(
        canceled.json["payment"]["state"], "canceled",
        "{canceled:?}"
    );
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["pending"], false, "{b1:#}");
    assert_eq!(b1["status"], "not_charged", "{b1:#}");
    assert_eq!(amount(&b1["in_flight"]), "0.00", "{b1:#}");
    let gone = page_client()
        .get(&challenge)
        .send()
        .await
        .expect("the challenge");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let page = page_client().get(&url).send().await.expect("the page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("id=\"card-form\"")
    );
    let open = service.get(&acme, &format!("/v1/links/{link_id}")).await;
    assert_eq!(open.json["status"], "open", "{open:?}");

    // Canceling again is refused, and says why.
    let again = service
        .post(&acme, &format!("/v1/payments/{waiting}/cancel"), json!({}))
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "payment_not_cancelable");
    assert_eq!(again.json["state"], "canceled", "{again:?}");

    // Cash is taken for the booking afterwards.
    let cash = service
        .post(
            &acme,
            "/v1/bookings/b-1/collections",
            json!({"method": "cash"}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{cash:?}");
    assert_eq!(
        booking(&service, &acme, "b-1").await["status"],
        "charged_in_full"
    );
}

#[tokio::test]
async fn amounts_the_gateway_can_never_charge_are_refused_before_a_payment_opens() {
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    // Three-decimal currencies are charged in steps of 0.010; USD from 0.50; IRR not at all.
    let cases = [
        ("kwd", "KWD", "10.125"),
        ("cents", "USD", "0.49"),
        ("rial", "IRR", "100.00"),
    ];
    for (id, currency, price) in cases {
        book(&service, &acme, id, id, currency, price).await;
        let card = service
            .post(
                &acme,
                &format!("/v1/customers/{id}/payment-methods"),
                json!({"payment_method": "pm_card_visa"}),
            )
            .await;
        assert_eq!(card.status, StatusCode::CREATED, "{card:?}");
        let requests = [
            (format!("/v1/bookings/{id}/charges"), json!({})),
            (format!("/v1/bookings/{id}/authorizations"), json!({})),
            (
                "/v1/payment-links".to_owned(),
                json!({"customer": id, "bookings": [id], "send_email": false}),
            ),
        ];
        for (path, body) in requests {
            let refused = service.post(&acme, &path, body).await;
            assert_problem(
                &refused,
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_not_chargeable",
            );
            assert!(
                refused.json["reason"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "{path}: {refused:?}"
            );
        }
        let untouched = booking(&service, &acme, id).await;
        assert_eq!(
            untouched["payments"],
            json!([]),
            "{currency}: {untouched:#}"
        );
        assert_eq!(untouched["status"], "not_charged", "{untouched:#}");
        assert_eq!(untouched["pending"], false, "{untouched:#}");
        let links = service
            .get(&acme, &format!("/v1/customers/{id}/links"))
            .await;
        assert_eq!(links.json["data"], json!([]), "{currency}: {links:?}");
    }
    // A chargeable amount in the same currency goes through: 10.120 KWD.
    let charged = service
        .post(
            &acme,
            "/v1/bookings/kwd/charges",
            json!({"amount": "10.120"}),
        )
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{charged:?}");
    assert_eq!(
        amount(&booking(&service, &acme, "kwd").await["balance_due"]),
        "0.005"
    );
}

/// A 100.00 hold on a visa card; its payment.
async fn hold(service: &Service, tenant: &Tenant) -> Value {
    service
        .seed_booking(tenant, "ada", "pm_card_visa", "b-1", "100.00")
        .await;
    let hold = service
        .post(tenant, "/v1/bookings/b-1/authorizations", json!({}))
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{hold:?}");
    hold.json["payment"].clone()
}

async fn capture(service: &Service, tenant: &Tenant, hold: &str, body: Value) -> Answer {
    service
        .post(tenant, &format!("/v1/payments/{hold}/captures"), body)
        .await
}

#[tokio::test]
async fn a_non_final_capture_is_refused_where_the_account_cannot_capture_in_parts() {
    let service = Service::start_with(Store::Sqlite, &["--sandbox-multicapture", "none"]);
    let acme = service.create_business("Acme Cleaning");
    let held = hold(&service, &acme).await;
    assert_eq!(held["multicapture"], false, "{held:#}");
    let id = held["id"].as_str().expect("id");

    let refused = capture(
        &service,
        &acme,
        id,
        json!({"amount": "30.00", "final": false}),
    )
    .await;
    assert_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "multicapture_unavailable",
    );
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(
        (amount(&b1["held"]), amount(&b1["paid"])),
        ("100.00", "0.00"),
        "{b1:#}"
    );
    assert_eq!(b1["status"], "pre_authorized", "{b1:#}");

    // One final capture still works.
    let captured = capture(&service, &acme, id, json!({"amount": "30.00"})).await;
    assert_eq!(captured.status, StatusCode::CREATED, "{captured:?}");
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(
        (amount(&b1["held"]), amount(&b1["paid"])),
        ("0.00", "30.00"),
        "{b1:#}"
    );
}

#[tokio::test]
async fn a_hold_is_captured_in_parts_where_the_account_allows_it() {
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    let held = hold(&service, &acme).await;
    assert_eq!(held["multicapture"], true, "{held:#}");
    let id = held["id"].as_str().expect("id");

    for (part, held_after) in [("30.00", "70.00"), ("20.00", "50.00")] {
        let captured = capture(&service, &acme, id, json!({"amount": part, "final": false})).await;
        assert_eq!(captured.status, StatusCode::CREATED, "{captured:?}");
        let b1 = booking(&service, &acme, "b-1").await;
        assert_eq!(amount(&b1["held"]), held_after, "{b1:#}");
    }
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["status"], "partially_charged", "{b1:#}");
    assert_eq!(amount(&b1["paid"]), "50.00", "{b1:#}");
    // The last part closes the hold.
    let last = capture(&service, &acme, id, json!({})).await;
    assert_eq!(last.status, StatusCode::CREATED, "{last:?}");
    let b1 = booking(&service, &acme, "b-1").await;
    assert_eq!(b1["status"], "charged_in_full", "{b1:#}");
    assert_eq!(amount(&b1["held"]), "0.00", "{b1:#}");
    let view = service.get(&acme, &format!("/v1/payments/{id}")).await;
    let captures = view.json["children"]
        .as_array()
        .map(|c| c.iter().filter(|p| p["kind"] == "capture").count())
        .unwrap_or_default();
    assert_eq!(captures, 3, "{view:?}");
}
