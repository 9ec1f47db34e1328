//! Charges with the customer away (off-session: a card that asks for 3-D Secure is a decline
//! suggesting a payment link) and with the customer on the page (on-session: the answer says
//! what the page must do, the customer authenticates on the fake's 3-D Secure page, and the
//! payment is then found settled), against the fake Stripe.

mod common;

use billing_core::payment::AUTHENTICATION_REQUIRED;
use billing_core::ports::{CancelRequest, GatewayStatus, PaymentGateway};
use common::{
    ACCOUNT, RETURN_URL, account, browse, customer, customer_with, eur, last_intent_params,
    on_session, pid, request, start,
};

#[tokio::test]
async fn off_session_a_card_asking_for_authentication_is_a_decline_suggesting_a_link() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "sca").await;
    for (payment, hold) in [("pay_sca_charge", false), ("pay_sca_hold", true)] {
        let asked = request(
            payment,
            &customer,
            "pm_card_authenticationRequired",
            eur(8000),
        );
        let answer = if hold {
            gateway.authorize(&asked).await
        } else {
            gateway.charge(&asked).await
        }
        .expect("a decline is an answer, not an error");
        let GatewayStatus::Failed(failure) = &answer.status else {
            panic!("expected a decline, got {answer:?}");
        };
        assert_eq!(
            failure.decline_code.as_deref(),
            Some(AUTHENTICATION_REQUIRED)
        );
        assert!(failure.suggests_payment_link(), "{failure:?}");
        assert!(
            failure.message.contains("payment link"),
            "{}",
            failure.message
        );
        assert_eq!(answer.next_action, None);
        assert_eq!(answer.payment, Some(pid(payment)), "our id, from metadata");
        let params = last_intent_params(&fake);
        assert_eq!(params["off_session"], "true", "merchant-initiated");
        assert_eq!(params["confirm"], "true");
        assert!(params.get("return_url").is_none(), "{params}");
        assert!(params.get("setup_future_usage").is_none(), "{params}");
        // The reconciler finds the same decline.
        let found = gateway
            .find_payment(account(), &pid(payment))
            .await
            .expect("looked up")
            .expect("found");
        assert_eq!(found.status, answer.status);
    }
}

#[tokio::test]
async fn on_session_the_customer_authenticates_on_the_page_and_the_payment_settles() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "page").await;
    let asked = on_session(
        request(
            "pay_page",
            &customer,
            "pm_card_threeDSecure2Required",
            eur(4500),
        ),
        false,
    );
    let answer = gateway.charge(&asked).await.expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction, "{answer:?}");
    assert_eq!(answer.amount_received, eur(0));
    let next = answer.next_action.clone().expect("what the page must do");
    assert!(
        next.client_secret.starts_with(&answer.reference),
        "Stripe's client secret of the intent: {next:?}"
    );
    let page = next
        .redirect_url
        .clone()
        .expect("Stripe's page for the customer");
    assert!(page.contains(&answer.reference), "{page}");
    let params = last_intent_params(&fake);
    assert!(
        params.get("off_session").is_none(),
        "customer-initiated: {params}"
    );
    assert_eq!(params["return_url"], RETURN_URL);
    assert!(params.get("setup_future_usage").is_none(), "{params}");

    // The customer's browser: the page asks, they approve, Stripe sends them back.
    let shown = browse(&page, "GET", None).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("id=\"approve\""), "{}", shown.body);
    let approved = browse(&page, "POST", Some("result=approve")).await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let back = approved.location.expect("sent back");
    assert!(back.starts_with(RETURN_URL), "{back}");
    assert!(
        back.contains(&format!("payment_intent={}", answer.reference)),
        "{back}"
    );
    assert!(back.contains("redirect_status=succeeded"), "{back}");

    let settled = gateway
        .find_payment(account(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(settled.status, GatewayStatus::Succeeded);
    assert_eq!(settled.amount_received, eur(4500));
    assert_eq!(settled.next_action, None);
    assert_eq!(settled.payment, Some(asked.payment.clone()));
    let card = settled.card.expect("the card charged");
    assert_eq!(card.last4, "3220");
    // Not kept: the customer did not ask.
    let cards = gateway
        .list_cards(account(), &customer)
        .await
        .expect("listed");
    assert!(cards.is_empty(), "{cards:?}");
}

#[tokio::test]
async fn a_failed_authentication_is_the_attempts_failure_and_the_attempt_can_be_given_up() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "page_fail").await;
    let asked = on_session(
        request(
            "pay_page_fail",
            &customer,
            "pm_card_authenticationRequired",
            eur(3000),
        ),
        false,
    );
    let answer = gateway.charge(&asked).await.expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction);
    fake.complete_authentication(Some(ACCOUNT), &answer.reference, false)
        .expect("failed on the page");
    let found = gateway
        .find_payment(account(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found");
    let GatewayStatus::Failed(failure) = &found.status else {
        panic!("the failed attempt is a failure: {found:?}");
    };
    assert_eq!(failure.code, "payment_intent_authentication_failure");
    assert!(
        failure.message.contains("authentication"),
        "{}",
        failure.message
    );
    // Waiting for another card at Stripe, it can still be given up.
    let canceled = gateway
        .cancel(&CancelRequest {
            account: account(),
            payment_reference: answer.reference.clone(),
            idempotency_key: "pay_page_fail:cancel".into(),
        })
        .await
        .expect("given up");
    assert_eq!(canceled.status, GatewayStatus::Canceled);
    assert_eq!(canceled.amount_received, eur(0));
}

#[tokio::test]
async fn an_attempt_waiting_for_the_customer_can_be_given_up_unless_they_paid_meanwhile() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "give_up").await;
    let waiting = on_session(
        request(
            "pay_wait",
            &customer,
            "pm_card_threeDSecure2Required",
            eur(2000),
        ),
        false,
    );
    let answer = gateway.charge(&waiting).await.expect("answered");
    let canceled = gateway
        .cancel(&CancelRequest {
            account: account(),
            payment_reference: answer.reference.clone(),
            idempotency_key: "pay_wait:cancel".into(),
        })
        .await
        .expect("given up");
    assert_eq!(canceled.status, GatewayStatus::Canceled);
    assert_eq!(canceled.next_action, None);

    // The customer authenticated before staff gave up: Stripe refuses the cancel, and the
    // answer says the payment was made.
    let paid = on_session(
        request(
            "pay_paid",
            &customer,
            "pm_card_threeDSecure2Required",
            eur(2000),
        ),
        false,
    );
    let answer = gateway.charge(&paid).await.expect("answered");
    fake.complete_authentication(Some(ACCOUNT), &answer.reference, true)
        .expect("approved");
    let late = gateway
        .cancel(&CancelRequest {
            account: account(),
            payment_reference: answer.reference.clone(),
            idempotency_key: "pay_paid:cancel".into(),
        })
        .await
        .expect("answered with how it ended");
    assert_eq!(late.status, GatewayStatus::Succeeded);
    assert_eq!(late.amount_received, eur(2000));
    assert_eq!(late.payment, Some(paid.payment.clone()));
}

#[tokio::test]
async fn on_session_a_card_is_kept_when_asked_and_then_charges_off_session() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "keep").await;
    // 3155 asks on session and when set up, and pays off session once set up.
    let asked = on_session(
        request(
            "pay_keep",
            &customer,
            "pm_card_authenticationRequiredOnSetup",
            eur(5000),
        ),
        true,
    );
    let answer = gateway.charge(&asked).await.expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction, "{answer:?}");
    assert_eq!(
        last_intent_params(&fake)["setup_future_usage"],
        "off_session"
    );
    fake.complete_authentication(Some(ACCOUNT), &answer.reference, true)
        .expect("approved");
    let paid = gateway
        .find_payment(account(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    let card = paid.card.expect("the card charged");
    assert_eq!(card.last4, "3155");
    let cards = gateway
        .list_cards(account(), &customer)
        .await
        .expect("listed");
    assert!(
        cards
            .iter()
            .any(|c| c.payment_method == card.payment_method),
        "the card is kept for the customer: {cards:?}"
    );
    // Staff can now charge it with the customer away.
    let later = gateway
        .charge(&request(
            "pay_later",
            &customer,
            &card.payment_method,
            eur(1200),
        ))
        .await
        .expect("charged");
    assert_eq!(later.status, GatewayStatus::Succeeded, "{later:?}");
}

#[tokio::test]
async fn a_card_needing_nothing_more_is_charged_at_once_on_session_with_its_card_named() {
    let (_fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "plain", "pm_card_visa").await;
    let paid = gateway
        .charge(&on_session(
            request("pay_plain", &customer, &visa.payment_method, eur(2500)),
            false,
        ))
        .await
        .expect("charged");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    assert_eq!(paid.next_action, None);
    assert_eq!(paid.payment, Some(pid("pay_plain")));
    let card = paid.card.expect("the card charged");
    assert_eq!(
        (
            card.payment_method.as_str(),
            card.brand.as_str(),
            card.last4.as_str()
        ),
        (visa.payment_method.as_str(), "visa", "4242")
    );
    assert_eq!(
        (card.exp_month, card.exp_year),
        (visa.exp_month, visa.exp_year)
    );
}
