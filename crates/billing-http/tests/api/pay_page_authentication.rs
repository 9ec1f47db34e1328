//! The hosted payment page when the customer's bank asks them to authenticate (3-D Secure):
//! the charge is made on the server with the customer present, the page hands them to the
//! bank's challenge (the sandbox's own page, or Stripe.js), and the return route settles the
//! payment from the gateway's record.

use crate::common::*;
use crate::gateways::{CHALLENGE, Decorated};

/// The harness of the link tests, whose gateway names a challenge page as the sandbox does.
async fn sandbox() -> Harness {
    Harness::links_with(Setup {
        gateway: Some(Decorated::with_challenge_pages),
        ..Setup::default()
    })
    .await
}

/// The harness of the link tests, in Stripe mode.
async fn stripe() -> Harness {
    Harness::links_with(Setup {
        card_form: Some(CardForm::Stripe {
            publishable_key: "pk_test_123".into(),
        }),
        ..Setup::default()
    })
    .await
}

/// The gateway's payment a redirect to the challenge page names.
#[track_caller]
fn challenged(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let at = reply.location().strip_prefix(CHALLENGE).unwrap_or_else(|| {
        panic!("not the challenge page: {}", reply.location());
    });
    at.split('?').next().unwrap().to_owned()
}

async fn notification_kinds(h: &Harness) -> Vec<String> {
    h.get("/v1/customers/c1/notifications").await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn link_status(h: &Harness, link: &Value) -> String {
    let read = h
        .get(&format!("/v1/links/{}", link["id"].as_str().unwrap()))
        .await;
    read.json["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_card_that_asks_is_authenticated_on_the_sandboxs_page_then_paid_once() {
    let h = sandbox().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let asked = h.pay(&path, AUTH_ON_SETUP, true).await;
    let reference = challenged(&asked);
    assert!(reference.starts_with("pi_"), "{reference}");
    assert!(
        asked
            .header("content-security-policy")
            .contains("default-src 'none'")
    );
    // The payment waits for the customer, charged on-session once; nothing is paid yet.
    assert_eq!(h.gateway.count("charge"), 1);
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["pending"], true, "{}", booking.text);
    assert_eq!(booking.json["payments"][0]["state"], "requires_action");
    assert_eq!(booking.json["payments"][0]["origin"], "payment_link");
    assert_eq!(booking.json["payments"][0]["link"], link["id"]);
    assert_eq!(link_status(&h, &link).await, "open");

    h.gateway.authenticate(None, &reference, true).unwrap();
    let back = format!("{path}/return?payment_intent={reference}");
    let paid = h.page(&back).await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(paid.text_of("paid-amount"), "215.50 USD");
    assert_eq!(paid.text_of("paid-card"), "Visa ending 3155");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert_eq!(link_status(&h, &link).await, "completed");
    let emails = vec!["business_payment_notice", "receipt", "payment_link"];
    assert_eq!(notification_kinds(&h).await, emails);
    // Coming back again (a reload) shows the same, and emails nobody twice.
    h.page(&back)
        .await
        .assert_page(StatusCode::OK, "payment-success");
    assert_eq!(notification_kinds(&h).await, emails);
    assert_eq!(h.gateway.count("charge"), 1);
    h.page(&path)
        .await
        .assert_page(StatusCode::GONE, "link-used");
}

#[tokio::test]
async fn a_failed_authentication_shows_the_form_again_and_the_link_stays_open() {
    let h = sandbox().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let reference = challenged(&h.pay(&path, AUTH_ON_SETUP, false).await);
    h.gateway.authenticate(None, &reference, false).unwrap();
    let refused = h.page(&format!("{path}/return")).await;
    refused.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    assert_eq!(
        refused.text_of("card-error"),
        "Your bank could not confirm it was you. Please try again, or try another card."
    );
    assert!(refused.has("card-number") && refused.has("pay"));
    assert_eq!(link_status(&h, &link).await, "open");
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "not_charged");
    assert_eq!(booking.json["pending"], false);
    assert_eq!(booking.json["last_failed"], true);
    assert_eq!(notification_kinds(&h).await, vec!["payment_link"]);

    // Another card then pays.
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::OK, "payment-success");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
}

#[tokio::test]
async fn a_card_that_always_asks_is_paid_once_authenticated() {
    let h = sandbox().await;
    let link = h.link(&["b1", "b2"]).await;
    let path = page_of(&link);
    let reference = challenged(&h.pay(&path, THREE_D_SECURE_2, false).await);
    h.gateway.authenticate(None, &reference, true).unwrap();
    let paid = h.page(&format!("{path}/return")).await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert_eq!(paid.text_of("paid-amount"), "295.50 USD");
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
    assert_eq!(h.booking_status("b2").await, "charged_in_full");
}

#[tokio::test]
async fn a_customer_back_without_authenticating_is_sent_to_the_challenge_again() {
    let h = sandbox().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let reference = challenged(&h.pay(&path, AUTH_ON_SETUP, false).await);
    let again = h.page(&format!("{path}/return")).await;
    assert_eq!(challenged(&again), reference);
    // Meanwhile the link's page says it changed (a payment on it is in flight) and takes no
    // second card.
    h.page(&path)
        .await
        .assert_page(StatusCode::CONFLICT, "link-changed");
    h.pay(&path, VISA, false)
        .await
        .assert_page(StatusCode::CONFLICT, "link-changed");
    assert_eq!(h.gateway.count("charge"), 1);
}

#[tokio::test]
async fn without_a_challenge_page_the_payment_is_shown_waiting() {
    // The plain scripted gateway names no page to send the customer to.
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let waiting = h.pay(&path, AUTH_ON_SETUP, false).await;
    waiting.assert_page(StatusCode::ACCEPTED, "payment-incomplete");
    assert!(waiting.text.contains(ACME_HTML), "{}", waiting.text);
    h.page(&format!("{path}/return"))
        .await
        .assert_page(StatusCode::ACCEPTED, "payment-incomplete");
}

#[tokio::test]
async fn in_stripe_mode_the_page_runs_stripe_js_with_the_client_secret_in_its_data_only() {
    let h = stripe().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let asked = h
        .submit(
            &path,
            &[("payment_method", "pm_card_threeDSecure2Required")],
        )
        .await;
    asked.assert_page(StatusCode::ACCEPTED, "authentication");
    let secret = asked.attribute("data-client-secret");
    assert!(
        secret.starts_with("pi_") && secret.contains("_secret"),
        "{secret}"
    );
    assert_eq!(asked.text.matches(&secret).count(), 1, "{}", asked.text);
    assert_eq!(asked.attribute("data-publishable-key"), "pk_test_123");
    assert_eq!(asked.attribute("data-return-url"), format!("{path}/return"));
    assert!(asked.has("authentication-continue"));
    assert!(
        asked
            .text
            .contains("<script src=\"https://js.stripe.com/v3/\"></script>")
    );
    assert!(
        asked
            .text
            .contains("<script src=\"/assets/card-form.js\" defer></script>")
    );
    assert!(!asked.text.contains("<script>"), "no inline script");
    assert!(!asked.has("card-form"));
    assert!(!asked.location().contains("secret"));

    // Still waiting when the customer comes back without finishing.
    h.page(&format!("{path}/return"))
        .await
        .assert_page(StatusCode::ACCEPTED, "payment-incomplete");

    let reference = secret.split("_secret").next().unwrap().to_owned();
    h.gateway.authenticate(None, &reference, true).unwrap();
    let paid = h
        .page(&format!(
            "{path}/return?payment_intent={reference}&payment_intent_client_secret={secret}&redirect_status=succeeded"
        ))
        .await;
    paid.assert_page(StatusCode::OK, "payment-success");
    assert!(!paid.text.contains(&secret));
    assert_eq!(h.booking_status("b1").await, "charged_in_full");
}

#[tokio::test]
async fn the_webhook_and_the_return_settle_the_payment_once_whichever_comes_first() {
    let h = sandbox().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let reference = challenged(&h.pay(&path, AUTH_ON_SETUP, false).await);
    let payment = h.get("/v1/bookings/b1").await.json["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.gateway.authenticate(None, &reference, true).unwrap();
    let delivered = h
        .deliver(
            json!({"id": "evt_1", "type": "payment_intent.succeeded", "payment": payment}),
            "good",
        )
        .await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.text);
    assert_eq!(link_status(&h, &link).await, "completed");
    h.page(&format!("{path}/return"))
        .await
        .assert_page(StatusCode::OK, "payment-success");
    assert_eq!(
        notification_kinds(&h).await,
        vec!["business_payment_notice", "receipt", "payment_link"]
    );
}

#[tokio::test]
async fn a_return_names_no_payment_for_a_link_never_paid_or_no_link_at_all() {
    let h = sandbox().await;
    let link = h.link(&["b1"]).await;
    let card_request = h.card_request().await;
    let card_token = card_request.replace("/cards/", "");
    let unknown = h.page(&format!("/pay/{}/return", "A".repeat(43))).await;
    unknown.assert_page(StatusCode::NOT_FOUND, "link-unavailable");
    for path in [
        format!("{}/return", page_of(&link)),
        format!("/pay/{card_token}/return"),
        "/pay/short/return".to_owned(),
    ] {
        let reply = h.page(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.text, unknown.text, "{path}");
    }
    assert_eq!(h.gateway.count("charge"), 0);
}
