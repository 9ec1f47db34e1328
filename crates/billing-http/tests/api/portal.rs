//! The customer portal through the router: the API sends the link (its URL in the email
//! alone); the link opens once and sets the session's cookie; the page lists the customer's
//! bookings, receipts and cards; paying and adding a card go through the hosted pages; forms
//! from elsewhere, or without the session's form token, change nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use billing_core::ids::{BusinessId, NotificationId};
use billing_core::ports::NotificationLog;
use serde_json::json;

use crate::common::*;

/// Sends c1 a portal link through the API and reads the link's path from the email.
async fn portal_link(h: &Harness) -> String {
    let reply = h.post("/v1/customers/c1/portal-link", json!({})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert!(reply.json.get("url").is_none(), "{}", reply.text);
    assert!(reply.json["expires_at"].is_string());
    assert!(reply.json["text_notification_id"].is_null());
    let id = NotificationId::new(reply.json["notification_id"].as_str().unwrap()).unwrap();
    let message = h
        .store
        .message(&BusinessId::new("alpha").unwrap(), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.to, "ada@example.com");
    let at = message.text_body.find("/portal/").unwrap();
    message.text_body[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect()
}

/// Opens the link: the session's cookie (`name=value`).
async fn sign_in(h: &Harness) -> String {
    let opened = h.page(&portal_link(h).await).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text);
    assert_eq!(opened.location(), "/portal");
    let cookie = opened.header("set-cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/portal", "Secure"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

async fn portal(h: &Harness, cookie: &str) -> Reply {
    h.call(Method::GET, "/portal", None, None, &[("cookie", cookie)])
        .await
}

/// A portal form, posted as the page's own (same origin) unless `headers` say otherwise.
async fn post_form(
    h: &Harness,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie);
    if !headers.iter().any(|(name, _)| *name == "sec-fetch-site") {
        request = request.header("sec-fetch-site", "same-origin");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    h.send(request.body(Body::from(form(fields))).unwrap())
        .await
}

#[tokio::test]
async fn the_api_sends_a_link_only_where_it_can_and_to_its_own_customers() {
    let h = Harness::links().await;
    h.post("/v1/customers/c2/portal-link", json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_email_address");
    h.post("/v1/customers/nobody/portal-link", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    h.post("/v1/customers/c1/portal-link", json!({"send_email": false}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    h.post("/v1/customers/c1/portal-link", json!({"send_text": true}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_phone_number");
    // Another business's key knows no such customer.
    h.call(
        Method::POST,
        "/v1/customers/c1/portal-link",
        Some(KEY_B),
        Some(json!({})),
        &[],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    // Nothing was queued by the refusals.
    let log = h.get("/v1/customers/c1/notifications").await;
    assert_eq!(
        log.json["data"].as_array().unwrap().len(),
        0,
        "{}",
        log.text
    );
}

#[tokio::test]
async fn a_link_opens_once_into_a_page_of_the_customers_own_bookings() {
    let h = Harness::links().await;
    let link = portal_link(&h).await;
    let cookie = {
        let opened = h.page(&link).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER);
        opened
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    h.page(&link)
        .await
        .assert_page(StatusCode::GONE, "portal-link-used");
    h.page("/portal/not-a-token")
        .await
        .assert_page(StatusCode::NOT_FOUND, "link-unavailable");
    h.page("/portal")
        .await
        .assert_page(StatusCode::UNAUTHORIZED, "portal-ended");

    let page = portal(&h, &cookie).await;
    page.assert_page(StatusCode::OK, "portal");
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(
        page.has("booking-b1") && page.has("booking-b2"),
        "{}",
        page.text
    );
    // Bob's booking is not Ada's.
    assert!(!page.has("booking-b3"));
    assert_eq!(page.text_of("total-due"), "295.50 USD");
    assert!(page.has("no-cards"));
    assert!(
        page.text.contains("Ada &#60;Lovelace&#62;"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn paying_goes_through_the_pay_page_and_comes_back_to_the_portal() {
    let h = Harness::links().await;
    let cookie = sign_in(&h).await;
    let page = portal(&h, &cookie).await;
    let token = page.attribute("name=\"form_token\" value");
    let none = post_form(&h, "/portal/pay", &cookie, &[("form_token", &token)], &[]).await;
    none.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "portal-error");
    let to_pay = post_form(
        &h,
        "/portal/pay",
        &cookie,
        &[("form_token", &token), ("booking", "b2")],
        &[],
    )
    .await;
    assert_eq!(to_pay.status, StatusCode::SEE_OTHER, "{}", to_pay.text);
    let pay_page = to_pay.location().strip_prefix(PAGES).unwrap().to_owned();
    assert!(pay_page.starts_with("/pay/"), "{pay_page}");
    let paid = h.pay(&pay_page, "4242424242424242", true).await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(paid.text_of("paid-amount"), "80.00 USD");
    assert_eq!(paid.attribute("id=\"back-to-portal\" href"), "/portal");

    let after = portal(&h, &cookie).await;
    assert_eq!(after.text_of("total-due"), "215.50 USD");
    assert!(after.text.contains("Card ending 4242"), "{}", after.text);
    assert!(after.has("portal-cards"));
    // b2 is paid: paying it again is refused, and nothing is made.
    let again = post_form(
        &h,
        "/portal/pay",
        &cookie,
        &[("form_token", &token), ("booking", "b2")],
        &[],
    )
    .await;
    again.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "portal-error");
    // Nor can a session pay another customer's booking.
    let theirs = post_form(
        &h,
        "/portal/pay",
        &cookie,
        &[("form_token", &token), ("booking", "b3")],
        &[],
    )
    .await;
    theirs.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "portal-error");
}

#[tokio::test]
async fn cards_are_added_on_the_card_page_and_removed_from_the_portal() {
    let h = Harness::links().await;
    let cookie = sign_in(&h).await;
    let token = portal(&h, &cookie)
        .await
        .attribute("name=\"form_token\" value");
    let add = post_form(&h, "/portal/cards", &cookie, &[("form_token", &token)], &[]).await;
    assert_eq!(add.status, StatusCode::SEE_OTHER, "{}", add.text);
    let card_page = add.location().strip_prefix(PAGES).unwrap().to_owned();
    assert!(card_page.starts_with("/cards/"), "{card_page}");
    let saved = h
        .submit(
            &card_page,
            &[
                ("card_number", "4242424242424242"),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
            ],
        )
        .await;
    saved.assert_page(StatusCode::OK, "card-saved");
    assert_eq!(saved.attribute("id=\"back-to-portal\" href"), "/portal");

    let page = portal(&h, &cookie).await;
    assert!(page.has("portal-cards"), "{}", page.text);
    let method = page.attribute("name=\"payment_method\" value");
    let removed = post_form(
        &h,
        "/portal/cards/remove",
        &cookie,
        &[("form_token", &token), ("payment_method", &method)],
        &[],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    assert_eq!(removed.location(), "/portal?done=card-removed");
    let after = h
        .call(
            Method::GET,
            "/portal?done=card-removed",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await;
    assert!(
        after.has("portal-notice") && after.has("no-cards"),
        "{}",
        after.text
    );
}

#[tokio::test]
async fn forms_from_elsewhere_or_without_the_form_token_change_nothing() {
    let h = Harness::links().await;
    let cookie = sign_in(&h).await;
    let token = portal(&h, &cookie)
        .await
        .attribute("name=\"form_token\" value");
    let pay = [("form_token", token.as_str()), ("booking", "b1")];
    for (fields, headers) in [
        (&pay[1..], &[][..]),
        (&[("form_token", "0000"), ("booking", "b1")][..], &[][..]),
        (&pay[..], &[("sec-fetch-site", "cross-site")][..]),
        (&pay[..], &[("sec-fetch-site", "same-site")][..]),
    ] {
        let refused = post_form(&h, "/portal/pay", &cookie, fields, headers).await;
        refused.assert_page(StatusCode::FORBIDDEN, "portal-refused");
    }
    // Without a session, a form is told the session ended.
    post_form(&h, "/portal/cards", "portal_session=nope", &pay[..1], &[])
        .await
        .assert_page(StatusCode::UNAUTHORIZED, "portal-ended");
    let links = h.get("/v1/customers/c1/links").await;
    assert_eq!(
        links.json["data"].as_array().unwrap().len(),
        0,
        "{}",
        links.text
    );

    // Signing out ends the session for good.
    let out = post_form(&h, "/portal/sign-out", &cookie, &pay[..1], &[]).await;
    out.assert_page(StatusCode::OK, "portal-signed-out");
    assert!(
        out.header("set-cookie").contains("Max-Age=0"),
        "{}",
        out.header("set-cookie")
    );
    portal(&h, &cookie)
        .await
        .assert_page(StatusCode::UNAUTHORIZED, "portal-ended");
}
