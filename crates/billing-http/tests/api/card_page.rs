//! The hosted card request page, and both pages in Stripe mode.

use crate::common::*;

#[tokio::test]
async fn a_card_request_saves_the_card() {
    let h = Harness::links().await;
    let made = h.post("/v1/card-requests", json!({"customer": "c1"})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.json["type"], "card_request");
    assert_eq!(made.json["amount"], Value::Null);
    assert_eq!(made.json["bookings"], json!([]));
    assert!(made.json["notification_id"].is_string());
    let path = page_of(&made.json);
    assert!(path.starts_with("/cards/"), "{path}");

    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "save");
    for id in ["card-form", "card-number", "card-expiry", "card-cvc"] {
        assert!(page.has(id), "#{id}");
    }
    assert!(!page.has("pay") && !page.has("amount"));
    // The payment page of this token does not exist.
    h.page(&path.replace("/cards/", "/pay/"))
        .await
        .assert_page(StatusCode::NOT_FOUND, "link-unavailable");

    let bad = h
        .submit(
            &path,
            &[
                ("card_number", "4242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ],
        )
        .await;
    bad.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    assert!(bad.has("save"));

    let saved = h.pay(&path, VISA, false).await;
    saved.assert_page(StatusCode::OK, "card-saved");
    assert_eq!(saved.text_of("saved-card"), "Visa ending 4242");
    let cards = h.get("/v1/customers/c1/payment-methods").await;
    assert_eq!(cards.json["data"][0]["payment_method"], "pm_card_visa");
    assert_eq!(cards.json["data"][0]["is_default"], true);
    let read = h
        .get(&format!("/v1/links/{}", made.json["id"].as_str().unwrap()))
        .await;
    assert_eq!(read.json["status"], "completed");
    assert_eq!(read.json["card"], "pm_card_visa");
    h.page(&path)
        .await
        .assert_page(StatusCode::GONE, "link-used");
    let kinds: Vec<String> = h.get("/v1/customers/c1/notifications").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["business_card_saved_notice", "card_request"]);
    assert_eq!(h.gateway.count("charge"), 0);
}

#[tokio::test]
async fn in_stripe_mode_the_page_loads_stripe_js_and_posts_only_a_payment_method() {
    let h = Harness::links_with(Setup {
        card_form: Some(CardForm::Stripe {
            publishable_key: "pk_test_123".into(),
        }),
        ..Setup::default()
    })
    .await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let page = h.page(&path).await;
    page.assert_page(StatusCode::OK, "card-element");
    assert!(
        page.text
            .contains("<script src=\"https://js.stripe.com/v3/\"></script>")
    );
    assert!(
        page.text
            .contains("<script src=\"/assets/card-form.js\" defer></script>")
    );
    assert!(page.text.contains("data-publishable-key=\"pk_test_123\""));
    assert!(
        !page.text.contains("data-client-secret"),
        "the form holds no secret"
    );
    assert!(
        page.has("card-error") && page.text.contains(" hidden>"),
        "hidden until needed"
    );
    assert!(
        !page.has("card-number"),
        "the card is typed into Stripe's field"
    );
    assert!(page.has("save-card") && page.has("pay"));

    let missing = h.submit(&path, &[]).await;
    missing.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    assert!(missing.text_of("card-error").contains("could not be read"));
    let paid = h
        .submit(
            &path,
            &[("payment_method", "pm_card_visa"), ("save_card", "on")],
        )
        .await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert!(
        h.cards.seen.lock().unwrap().is_empty(),
        "no tokenizer in Stripe mode"
    );

    // A card request's page makes a payment method too: the server confirms the card's
    // set-up with it, the customer present.
    let cards = h.card_request().await;
    let first = h.page(&cards).await;
    first.assert_page(StatusCode::OK, "card-element");
    assert!(!first.text.contains("data-client-secret"), "{}", first.text);
    assert_eq!(h.gateway.count("start_card_setup"), 0);
    let saved = h
        .submit(&cards, &[("payment_method", "pm_card_mastercard")])
        .await;
    saved.assert_page(StatusCode::OK, "card-saved");
    assert!(saved.text_of("saved-card").starts_with("Mastercard ending"));
    assert_eq!(h.gateway.count("start_card_setup"), 1);
    assert_eq!(h.gateway.count("confirm_card_setup"), 1);
}
