//! The hosted card request page when the customer's bank asks them to authenticate: the server
//! confirms the card set-up with the customer present, the page hands them to the bank's
//! challenge, and the return route reads the set-up from the gateway.

use crate::common::*;
use crate::gateways::{CHALLENGE, Decorated};

async fn sandbox() -> Harness {
    Harness::links_with(Setup {
        gateway: Some(Decorated::with_challenge_pages),
        ..Setup::default()
    })
    .await
}

#[track_caller]
fn challenged(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let at = reply.location().strip_prefix(CHALLENGE).unwrap_or_else(|| {
        panic!("not the challenge page: {}", reply.location());
    });
    at.split('?').next().unwrap().to_owned()
}

async fn cards_of(h: &Harness, customer: &str) -> Vec<Value> {
    h.get(&format!("/v1/customers/{customer}/payment-methods"))
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_card_that_asks_is_authenticated_then_saved_and_charged_off_session() {
    let h = sandbox().await;
    let path = h.card_request().await;
    let setup = challenged(&h.pay(&path, AUTH_ON_SETUP, false).await);
    assert!(setup.starts_with("seti_"), "{setup}");
    assert!(
        cards_of(&h, "c1").await.is_empty(),
        "nothing saved before the bank says so"
    );

    h.gateway.authenticate(None, &setup, true).unwrap();
    let back = format!("{path}/return?setup_intent={setup}");
    let saved = h.page(&back).await;
    saved.assert_page(StatusCode::OK, "card-saved");
    assert_eq!(saved.text_of("saved-card"), "Visa ending 3155");
    let cards = cards_of(&h, "c1").await;
    assert_eq!(cards.len(), 1);
    assert_eq!(
        cards[0]["payment_method"],
        "pm_card_authenticationRequiredOnSetup"
    );
    // Reloading shows it again; the business is told once.
    h.page(&back)
        .await
        .assert_page(StatusCode::OK, "card-saved");
    let kinds: Vec<Value> = h.get("/v1/customers/c1/notifications").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].clone())
        .collect();
    assert_eq!(kinds, vec!["business_card_saved_notice", "card_request"]);
    h.page(&path)
        .await
        .assert_page(StatusCode::GONE, "link-used");

    // Set up with the customer there, the card now charges with them away.
    let charged = h.post("/v1/bookings/b1/charges", json!({})).await;
    assert_eq!(charged.status, StatusCode::CREATED, "{}", charged.text);
}

#[tokio::test]
async fn a_failed_authentication_shows_the_form_again() {
    let h = sandbox().await;
    let path = h.card_request().await;
    let setup = challenged(&h.pay(&path, THREE_D_SECURE_2, false).await);
    h.gateway.authenticate(None, &setup, false).unwrap();
    let refused = h.page(&format!("{path}/return?setup_intent={setup}")).await;
    refused.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    assert!(
        refused
            .text_of("card-error")
            .contains("could not confirm it was you"),
        "{}",
        refused.text
    );
    assert!(refused.has("save") && refused.has("card-number"));
    assert!(cards_of(&h, "c1").await.is_empty());
    h.page(&path).await.assert_page(StatusCode::OK, "save");
}

#[tokio::test]
async fn a_refused_card_is_shown_on_the_form() {
    let h = Harness::links().await;
    let path = h.card_request().await;
    let refused = h.pay(&path, DECLINED, false).await;
    refused.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    assert_eq!(
        refused.text_of("card-error"),
        "Your card was declined. Please try another card."
    );
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::OK, "card-saved");
}

#[tokio::test]
async fn in_stripe_mode_the_page_runs_stripe_js_and_comes_back_naming_the_set_up() {
    let h = Harness::links_with(Setup {
        card_form: Some(CardForm::Stripe {
            publishable_key: "pk_test_123".into(),
        }),
        ..Setup::default()
    })
    .await;
    let path = h.card_request().await;
    // The form page holds no secret, and starts nothing at the gateway.
    let form = h.page(&path).await;
    form.assert_page(StatusCode::OK, "card-element");
    assert!(!form.text.contains("secret"), "{}", form.text);
    assert_eq!(h.gateway.count("start_card_setup"), 0);

    let asked = h
        .submit(
            &path,
            &[("payment_method", "pm_card_authenticationRequiredOnSetup")],
        )
        .await;
    asked.assert_page(StatusCode::ACCEPTED, "authentication");
    let secret = asked.attribute("data-client-secret");
    let setup = secret.split("_secret").next().unwrap().to_owned();
    assert!(setup.starts_with("seti_"), "{secret}");
    assert_eq!(asked.text.matches(&secret).count(), 1, "{}", asked.text);
    assert_eq!(
        asked.attribute("data-return-url"),
        format!("{path}/return?setup_intent={setup}")
    );
    h.gateway.authenticate(None, &setup, true).unwrap();
    h.page(&asked.attribute("data-return-url"))
        .await
        .assert_page(StatusCode::OK, "card-saved");
    assert_eq!(cards_of(&h, "c1").await.len(), 1);
}

#[tokio::test]
async fn a_return_is_believed_only_for_the_requests_own_customer() {
    let h = sandbox().await;
    // Customer c2 starts a set-up on their own request.
    let theirs = h
        .post(
            "/v1/card-requests",
            json!({"customer": "c2", "send_email": false}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text);
    let their_setup = challenged(&h.pay(&page_of(&theirs.json), AUTH_ON_SETUP, false).await);
    h.gateway.authenticate(None, &their_setup, true).unwrap();
    // c1's request (c1 now known at the gateway: a card was refused on it), pointed at c2's
    // set-up, is no link.
    let path = h.card_request().await;
    h.pay(&path, DECLINED, false)
        .await
        .assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    let borrowed = h
        .page(&format!("{path}/return?setup_intent={their_setup}"))
        .await;
    borrowed.assert_page(StatusCode::NOT_FOUND, "link-unavailable");
    assert!(cards_of(&h, "c1").await.is_empty());
    // An unknown set-up, or none named: the form again.
    let unknown = h
        .page(&format!("{path}/return?setup_intent=seti_nope"))
        .await;
    unknown.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    for query in ["", "?setup_intent=", "?setup_intent=seti%2F..%2Fx"] {
        let reply = h.page(&format!("{path}/return{query}")).await;
        reply.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
    }
    h.page(&format!(
        "/cards/{}/return?setup_intent=seti_1",
        "A".repeat(43)
    ))
    .await
    .assert_page(StatusCode::NOT_FOUND, "link-unavailable");
}
