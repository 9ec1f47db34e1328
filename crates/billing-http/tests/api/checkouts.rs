//! A booking page's checkout: started through the API, completed on its hosted page, which
//! returns to the business's page or posts its result to the page that frames it.

use crate::common::*;

const RETURN: &str = "https://shop.example/booked?ref=7";

async fn policy(h: &Harness, policy: Value) {
    let reply = h
        .put("/v1/settings/payments", json!({ "policy": policy }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

async fn checkout(h: &Harness, booking: &str) -> Reply {
    h.post(
        "/v1/checkouts",
        json!({"booking": booking, "return_url": RETURN}),
    )
    .await
}

/// The checkout's own framing: its business's page only, never another.
fn assert_framed_by_the_business(page: &Reply) {
    let policy = page.header("content-security-policy");
    assert!(
        policy.contains("frame-ancestors https://shop.example;")
            || policy.ends_with("frame-ancestors https://shop.example"),
        "{policy}"
    );
    assert!(!policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(page.header("x-frame-options"), "", "no DENY for a checkout");
}

#[tokio::test]
async fn charge_at_booking_is_paid_on_the_checkout_which_returns_to_the_business() {
    let h = Harness::links().await;
    policy(&h, json!({"name": "charge_at_booking"})).await;
    let started = checkout(&h, "b1").await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.json["step"], "charge");
    assert_eq!(money(&started.json["charge"]), ("215.50", "USD"));
    assert_eq!(started.json["type"], "payment");
    assert_eq!(started.json["customer"], "c1");
    assert_eq!(
        started.json["checkout"],
        json!({"booking": "b1", "step": "charge", "return_url": RETURN})
    );
    // An hour, not a payment link's week: the customer is booking now.
    assert_eq!(started.json["created_at"], "2026-01-15T09:00:00Z");
    assert_eq!(started.json["expires_at"], "2026-01-15T10:00:00Z");
    let path = page_of(&started.json);
    assert!(path.starts_with("/pay/"), "{path}");

    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "card-kept");
    assert!(
        !page.has("save-card"),
        "a checkout keeps the card: no choice"
    );
    assert_eq!(page.text_of("amount"), "215.50 USD");
    assert_framed_by_the_business(&page);

    let done = h.pay(&path, VISA, false).await;
    done.assert_page(StatusCode::OK, "checkout-done");
    assert_framed_by_the_business(&done);
    let id = started.json["id"].as_str().unwrap();
    assert_eq!(done.attribute("data-result"), "paid");
    assert_eq!(done.attribute("data-checkout"), id);
    assert_eq!(done.attribute("data-booking"), "b1");
    assert_eq!(done.attribute("data-origin"), "https://shop.example");
    assert_eq!(
        done.attribute("data-return-url"),
        format!("https://shop.example/booked?ref=7&#38;checkout={id}&#38;result=paid")
    );
    assert!(done.text.contains("<script src=\"/assets/checkout.js\""));
    assert_eq!(h.gateway.count("charge"), 1);
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    let link = h.get(&format!("/v1/links/{id}")).await;
    assert_eq!(link.json["status"], "completed");
    assert_eq!(link.json["card"], "pm_card_visa", "the card was kept");
    let customer = h.get("/v1/customers/c1").await;
    assert_eq!(customer.json["cards"].as_array().unwrap().len(), 1);

    // The script the last page runs is served, as a script.
    let script = h.page("/assets/checkout.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.content_type().starts_with("text/javascript"));
    assert!(script.text.contains("postMessage"));
}

#[tokio::test]
async fn authorize_at_booking_holds_on_the_checkout() {
    let h = Harness::links().await;
    policy(&h, json!({"name": "authorize_at_booking"})).await;
    let started = checkout(&h, "b2").await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.json["step"], "hold");
    assert_eq!(money(&started.json["charge"]), ("80.00", "USD"));
    let path = page_of(&started.json);
    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "hold-note");
    assert_eq!(page.text_of("pay"), "Authorize 80.00 USD");

    let done = h.pay(&path, VISA, false).await;
    done.assert_page(StatusCode::OK, "checkout-done");
    assert_eq!(done.attribute("data-result"), "authorized");
    assert_eq!(h.gateway.count("charge"), 0);
    assert_eq!(h.gateway.count("authorize"), 1);
    let booking = h.get("/v1/bookings/b2").await;
    assert_eq!(booking.json["status"], "pre_authorized", "{}", booking.text);
    assert_eq!(money(&booking.json["held"]), ("80.00", "USD"));
    assert_eq!(money(&booking.json["paid"]), ("0.00", "USD"));
}

#[tokio::test]
async fn later_policies_only_keep_the_card_on_the_checkout() {
    let h = Harness::links().await;
    policy(
        &h,
        json!({"name": "charge_after_completion", "minutes": 60}),
    )
    .await;
    let started = checkout(&h, "b1").await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    assert_eq!(started.json["step"], "save_card");
    assert_eq!(started.json["charge"], Value::Null);
    assert_eq!(started.json["type"], "card_request");
    let path = page_of(&started.json);
    assert!(path.starts_with("/cards/"), "{path}");
    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "checkout-card");
    assert_framed_by_the_business(&page);
    let done = h
        .submit(
            &path,
            &[
                ("card_number", VISA),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
            ],
        )
        .await;
    done.assert_page(StatusCode::OK, "checkout-done");
    assert_eq!(done.attribute("data-result"), "card_saved");
    assert_eq!(h.gateway.count("charge"), 0);
    assert_eq!(h.booking_status("b1").await, "not_charged");
    let customer = h.get("/v1/customers/c1").await;
    assert_eq!(customer.json["cards"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn links_staff_send_are_never_framed() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let page = h.page(&page_of(&link)).await;
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
}

#[tokio::test]
async fn bad_checkouts_are_refused_and_start_nothing() {
    let h = Harness::links().await;
    policy(&h, json!({"name": "charge_at_booking"})).await;
    for url in [
        "http://shop.example/booked",
        "javascript:alert(1)",
        "/booked",
        "https://user:pw@shop.example/",
    ] {
        h.post("/v1/checkouts", json!({"booking": "b1", "return_url": url}))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_return_url");
    }
    checkout(&h, "nope")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
    // Another business's booking is as good as unknown.
    h.call(
        Method::POST,
        "/v1/checkouts",
        Some(KEY_B),
        Some(json!({"booking": "b1", "return_url": RETURN})),
        &[],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
    h.post(
        "/v1/checkouts",
        json!({"booking": "b1", "return_url": RETURN, "amount": "1.00"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let canceled = h
        .post("/v1/bookings/b3/cancel", json!({"charge_fee": false}))
        .await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    checkout(&h, "b3")
        .await
        .assert_problem(StatusCode::CONFLICT, "booking_canceled");
    let links = h.get("/v1/customers/c1/links").await;
    assert_eq!(links.json["data"], json!([]), "no link was made");
}
