//! The hosted payment page.

use crate::common::*;

#[tokio::test]
async fn the_pay_page_shows_the_amount_and_the_bookings_escaped() {
    let h = Harness::links().await;
    let link = h.link(&["b1", "b2"]).await;
    let page = h.page(&page_of(&link)).await;
    page.assert_page(StatusCode::OK, "amount");
    assert_eq!(page.text_of("amount"), "295.50 USD");
    assert!(page.text.contains(ACME_HTML), "{}", page.text);
    assert!(
        page.text.contains("Ada &#60;Lovelace&#62;"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<Lovelace>"));
    assert_eq!(page.text.matches("class=\"booking\"").count(), 2);
    for cell in [
        "Tue 20 Jan 2026",
        "Not scheduled",
        "Deep clean",
        "215.50 USD",
        "80.00 USD",
        "0.00 USD",
    ] {
        assert!(page.text.contains(cell), "{cell} in {}", page.text);
    }
    for id in [
        "card-form",
        "card-number",
        "card-expiry",
        "card-cvc",
        "save-card",
        "pay",
    ] {
        assert!(page.has(id), "#{id}");
    }
    assert!(!page.has("card-error"), "no error before a try");
    // The sandbox form needs no script at all.
    assert!(!page.text.contains("<script"));
    assert!(!page.text.contains("style="));
}

#[tokio::test]
async fn paying_by_form_charges_the_bookings_in_full_once() {
    let h = Harness::links().await;
    let link = h.link(&["b1", "b2"]).await;
    let path = page_of(&link);
    let paid = h.pay(&path, VISA, true).await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(paid.text_of("paid-amount"), "295.50 USD");
    assert_eq!(paid.text_of("paid-card"), "Visa ending 4242");
    assert!(paid.text.contains("saved"), "{}", paid.text);
    assert!(!paid.text.contains("4242424242424242"));
    assert_eq!(*h.cards.seen.lock().unwrap(), vec![(12, 2034)]);
    assert_eq!(h.gateway.count("charge"), 1);
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert_eq!(h.booking_status("b2").await, "charged_in_full");

    let id = link["id"].as_str().unwrap();
    let read = h.get(&format!("/v1/links/{id}")).await;
    assert_eq!(read.json["status"], "completed");
    assert!(read.json["payment"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(read.json["card"], "pm_card_visa");
    assert_eq!(read.json["completed_at"], "2026-01-15T09:00:00Z");
    let customer = h.get("/v1/customers/c1").await;
    assert_eq!(customer.json["cards"].as_array().unwrap().len(), 1);
    let kinds: Vec<String> = h.get("/v1/customers/c1/notifications").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec!["business_payment_notice", "receipt", "payment_link"]
    );

    // Used once: the page and a replayed form both say so, and charge nothing.
    h.page(&path)
        .await
        .assert_page(StatusCode::GONE, "link-used");
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::GONE, "link-used");
    assert_eq!(h.gateway.count("charge"), 1);
}

#[tokio::test]
async fn a_declined_card_shows_the_form_again_and_charges_nothing() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let declined = h.pay(&path, DECLINED, true).await;
    declined.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    assert_eq!(
        declined.text_of("card-error"),
        "Your card was declined. Please try another card."
    );
    assert_eq!(declined.text_of("amount"), "215.50 USD");
    assert!(declined.has("card-number") && declined.has("pay"));
    // The checkbox keeps the customer's choice; the card's details are not echoed back.
    assert!(
        declined.text.contains("value=\"on\" checked"),
        "{}",
        declined.text
    );
    assert!(!declined.text.contains("4000"));
    assert_eq!(h.booking_status("b1").await, "not_charged");
    assert!(
        h.get("/v1/customers/c1").await.json["cards"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.get(&format!("/v1/links/{}", link["id"].as_str().unwrap()))
            .await
            .json["status"],
        "open"
    );

    // Another card then pays.
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::OK, "payment-success");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
}

#[tokio::test]
async fn bad_card_input_is_shown_with_what_to_fix() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[
                ("card_number", "4242 4242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
            "Your card number is incomplete.",
        ),
        (
            &[
                ("card_number", "4242 4242 4242 4241"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
            "Your card number is invalid.",
        ),
        (
            &[
                ("card_number", VISA),
                ("card_expiry", "13/34"),
                ("card_cvc", "123"),
            ],
            "Your card&#39;s expiration date is invalid.",
        ),
        (
            &[
                ("card_number", VISA),
                ("card_expiry", "12/20"),
                ("card_cvc", "123"),
            ],
            "Your card&#39;s expiration date is in the past.",
        ),
        (
            &[
                ("card_number", VISA),
                ("card_expiry", "12/34"),
                ("card_cvc", "1"),
            ],
            "Your card&#39;s security code is incomplete.",
        ),
        (&[], "Please enter your card number."),
        // The tokenizer's own refusal, escaped.
        (
            &[
                ("card_number", "5105 1051 0510 5100"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
            "This card &#60;is&#62; not supported by the sandbox.",
        ),
    ];
    for (fields, message) in cases {
        let reply = h.submit(&path, fields).await;
        reply.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
        assert_eq!(reply.text_of("card-error"), message, "{fields:?}");
        assert!(
            !reply.text.contains("4242 4242"),
            "the number is not echoed"
        );
    }
    // A body that is not a form at all is no card either.
    let json_body = h
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(&path)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    json_body.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    assert_eq!(h.gateway.count("charge"), 0);
}

#[tokio::test]
async fn unknown_malformed_expired_and_canceled_tokens_get_one_identical_page() {
    let h = Harness::links().await;
    let expiring = h.link(&["b1"]).await;
    let canceled = h.link(&["b2"]).await;
    let reply = h
        .call(
            Method::POST,
            &format!("/v1/links/{}/cancel", canceled["id"].as_str().unwrap()),
            Some(KEY_A),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let card_request = h.post("/v1/card-requests", json!({"customer": "c1"})).await;
    let card_token = page_of(&card_request.json).replace("/cards/", "");

    let unknown = format!("/pay/{}", "A".repeat(43));
    let mut paths = vec![
        unknown.clone(),
        "/pay/short".to_owned(),
        format!("/pay/{}", "A".repeat(44)),
        "/pay/%FF%FE".to_owned(),
        page_of(&canceled),
        // A card request's token on the payment page, and the reverse.
        format!("/pay/{card_token}"),
        page_of(&expiring).replace("/pay/", "/cards/"),
    ];
    let first = h.page(&unknown).await;
    first.assert_page(StatusCode::NOT_FOUND, "link-unavailable");
    for path in &paths {
        let reply = h.page(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.text, first.text, "{path}");
        let posted = h.pay(path, VISA, false).await;
        assert_eq!(posted.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(posted.text, first.text, "{path}");
    }
    // Past its time, the live link answers the same.
    let alive = h.page(&page_of(&expiring)).await;
    assert_eq!(alive.status, StatusCode::OK);
    h.clock.advance(Duration::days(7));
    paths.push(page_of(&expiring));
    for path in &paths {
        let reply = h.page(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.text, first.text, "{path}");
    }
    assert_eq!(h.gateway.count("charge"), 0);
    assert!(
        h.cards.seen.lock().unwrap().is_empty(),
        "no card is tried on a dead link"
    );

    // Without a card form, the pages do not exist, whatever the token: a live link too.
    let formless = Harness::links_with(Setup {
        without_card_form: true,
        ..Setup::default()
    })
    .await;
    let live = formless.link(&["b1"]).await;
    let none = formless.page(&page_of(&live)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.text, first.text);
    let posted = formless.pay(&page_of(&live), VISA, false).await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert_eq!(formless.gateway.count("charge"), 0);
}

#[tokio::test]
async fn a_changed_balance_refuses_the_link_by_name() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let reply = h
        .post(
            "/v1/bookings/b1/line-items",
            json!({"kind": "extra", "label": "Oven", "amount": "20.00"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let page = h.page(&path).await;
    page.assert_page(StatusCode::CONFLICT, "link-changed");
    assert!(
        page.text.contains(&format!(
            "The amount changed since this link was sent; ask {ACME_HTML} for a new link"
        )),
        "{}",
        page.text
    );
    h.pay(&path, VISA, true)
        .await
        .assert_page(StatusCode::CONFLICT, "link-changed");
    assert_eq!(h.gateway.count("charge"), 0);
    assert_eq!(h.booking_status("b1").await, "not_charged");
}

#[tokio::test]
async fn two_forms_posted_at_once_on_one_link_charge_once() {
    for _ in 0..10 {
        let h = Harness::links().await;
        let link = h.link(&["b1", "b2"]).await;
        let path = page_of(&link);
        let (a, b) = tokio::join!(h.pay(&path, VISA, true), h.pay(&path, VISA, false));
        let statuses = [a.status, b.status];
        let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(wins, 1, "{statuses:?}");
        let loser = if a.status == StatusCode::OK { &b } else { &a };
        assert!(
            (loser.status == StatusCode::GONE && loser.has("link-used"))
                || (loser.status == StatusCode::CONFLICT && loser.has("link-changed")),
            "{} {}",
            loser.status,
            loser.text
        );
        assert_eq!(h.gateway.count("charge"), 1);
        assert_eq!(h.booking_status("b1").await, "charged_in_full");
        assert_eq!(h.booking_status("b2").await, "charged_in_full");
    }
}

#[tokio::test]
async fn a_lost_gateway_answer_shows_the_payment_as_processing() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    h.gateway.script(Scripted::LostAnswer);
    let reply = h.pay(&page_of(&link), VISA, false).await;
    reply.assert_page(StatusCode::ACCEPTED, "payment-processing");
    assert!(reply.text.contains("215.50 USD"));
    assert!(reply.text.contains("do not pay again"));
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["pending"], true, "{}", booking.text);
}

#[tokio::test]
async fn an_answer_that_could_not_be_recorded_shows_the_payment_processing() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    // The pending charge lands; the gateway's answer cannot be recorded.
    h.store.fail_commits(1, 1);
    let reply = h.pay(&page_of(&link), VISA, false).await;
    reply.assert_page(StatusCode::ACCEPTED, "payment-processing");
    assert!(reply.text.contains("do not pay again"), "{}", reply.text);
    assert!(!reply.text.contains("Nothing was charged"));
    assert_eq!(h.gateway.payments_made(), 1);
    assert_eq!(h.get("/v1/bookings/b1").await.json["pending"], true);
}
