//! Drives the fake with async-stripe itself: every response must parse as async-stripe
//! parses the real API's.

use std::time::Duration;

use billing_stripe_fake::{FakeStripe, Fault, RequestFilter};
use serde_json::json;
use stripe::{
    AccountId, ApiErrorsCode, ApiErrorsType, Client, ClientBuilder, IdempotencyKey,
    RequestStrategy, StripeError, StripeRequest,
};
use stripe_core::charge::RetrieveCharge;
use stripe_core::customer::{
    CreateCustomer, DeleteCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CancelPaymentIntentCancellationReason, CapturePaymentIntent,
    CreatePaymentIntent, CreatePaymentIntentOffSession, ListPaymentIntent, RetrievePaymentIntent,
    SearchPaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund, RetrieveRefund};
use stripe_core::setup_intent::{
    ConfirmSetupIntent, CreateSetupIntent, CreateSetupIntentUsage, RetrieveSetupIntent,
};
use stripe_core::{PaymentIntentCaptureMethod, PaymentIntentStatus, SetupIntentStatus};
use stripe_payment::payment_method::{
    AttachPaymentMethod, CreatePaymentMethod, CreatePaymentMethodCard,
    CreatePaymentMethodTokenParams, CreatePaymentMethodType, DetachPaymentMethod,
    ListPaymentMethod, ListPaymentMethodType,
};
use stripe_shared::{ApiErrors, PaymentIntent, PaymentIntentAllowedPaymentMethodTypes};
use stripe_types::{Currency, Expandable};
use stripe_webhook::{EventObject, EventType, Webhook, WebhookError};

fn client(fake: &FakeStripe) -> Client {
    ClientBuilder::new(fake.secret_key())
        .url(fake.base_url())
        .build()
        .expect("client")
}

fn connect_client(fake: &FakeStripe, account: &str) -> Client {
    ClientBuilder::new(fake.secret_key())
        .url(fake.base_url())
        .account_id(AccountId::from(account))
        .build()
        .expect("client")
}

/// The Stripe error and HTTP status of a failed call.
fn stripe_error<T: std::fmt::Debug>(result: Result<T, StripeError>) -> (ApiErrors, u16) {
    match result {
        Err(StripeError::Stripe(err, status)) => (*err, status),
        other => panic!("expected a Stripe error, got {other:?}"),
    }
}

fn idempotent(key: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(key).expect("valid key"))
}

async fn new_customer(client: &Client) -> String {
    CreateCustomer::new()
        .email("guest@example.com")
        .send(client)
        .await
        .expect("customer")
        .id
        .to_string()
}

/// An off-session charge of a saved card, the adapter's main call.
fn off_session_payment(amount: i64, customer: &str, pm: &str) -> CreatePaymentIntent {
    CreatePaymentIntent::new(amount, Currency::EUR)
        .customer(customer)
        .payment_method(pm)
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
}

#[tokio::test]
async fn customers_create_retrieve_update_delete() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let created = CreateCustomer::new()
        .email("ada@example.com")
        .name("Ada")
        .metadata([("tenant".to_string(), "t1".to_string())])
        .send(&client)
        .await
        .expect("create");
    assert!(created.id.as_str().starts_with("cus_"));
    assert_eq!(created.email.as_deref(), Some("ada@example.com"));
    assert!(!created.livemode);

    let updated = UpdateCustomer::new(created.id.clone())
        .name("Ada Lovelace")
        .metadata([("tenant".to_string(), String::new())])
        .send(&client)
        .await
        .expect("update");
    assert_eq!(updated.name.as_deref(), Some("Ada Lovelace"));
    assert!(
        updated.metadata.unwrap_or_default().is_empty(),
        "'' unsets a key"
    );

    match RetrieveCustomer::new(created.id.clone())
        .send(&client)
        .await
        .expect("retrieve")
    {
        RetrieveCustomerReturned::Customer(c) => assert_eq!(c.id, created.id),
        other => panic!("expected a customer, got {other:?}"),
    }

    let deleted = DeleteCustomer::new(created.id.clone())
        .send(&client)
        .await
        .expect("delete");
    assert_eq!(deleted.id, created.id);
    let after = RetrieveCustomer::new(created.id.clone())
        .send(&client)
        .await
        .expect("retrieve deleted");
    assert!(matches!(
        after,
        RetrieveCustomerReturned::DeletedCustomer(_)
    ));

    let (err, status) = stripe_error(
        RetrieveCustomer::new("cus_doesnotexist")
            .send(&client)
            .await,
    );
    assert_eq!(status, 404);
    assert_eq!(err.code, Some(ApiErrorsCode::ResourceMissing));
    assert_eq!(
        err.message.as_deref(),
        Some("No such customer: 'cus_doesnotexist'")
    );
}

#[tokio::test]
async fn payment_methods_create_attach_list_detach() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;

    // From a token, then attached.
    let pm = CreatePaymentMethod::new()
        .type_(CreatePaymentMethodType::Card)
        .card(CreatePaymentMethodCard::TokenParams(
            CreatePaymentMethodTokenParams {
                token: "tok_visa".into(),
            },
        ))
        .send(&client)
        .await
        .expect("create pm");
    assert!(pm.id.as_str().starts_with("pm_"));
    let card = pm.card.as_ref().expect("card");
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));
    assert!(pm.customer.is_none());
    let attached = AttachPaymentMethod::new(pm.id.clone())
        .customer(&customer)
        .send(&client)
        .await
        .expect("attach");
    assert_eq!(
        attached.customer.as_ref().map(|c| c.id().to_string()),
        Some(customer.clone())
    );

    // A test PaymentMethod attached directly becomes a new PaymentMethod.
    let mastercard = AttachPaymentMethod::new("pm_card_mastercard")
        .customer(&customer)
        .send(&client)
        .await
        .expect("attach test pm");
    assert_ne!(mastercard.id.as_str(), "pm_card_mastercard");
    assert_eq!(
        mastercard.card.as_ref().map(|c| c.brand.as_str()),
        Some("mastercard")
    );

    let listed = ListPaymentMethod::new()
        .customer(&customer)
        .type_(ListPaymentMethodType::Card)
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 2);
    assert_eq!(listed.data[0].id, mastercard.id, "newest first");

    // The customer's default payment method must be one of its own.
    let updated = UpdateCustomer::new(customer.as_str())
        .invoice_settings(UpdateCustomerInvoiceSettings {
            default_payment_method: Some(pm.id.to_string()),
            ..UpdateCustomerInvoiceSettings::new()
        })
        .send(&client)
        .await
        .expect("set default");
    let default = updated
        .invoice_settings
        .and_then(|s| s.default_payment_method)
        .map(|d| d.id().to_string());
    assert_eq!(default, Some(pm.id.to_string()));

    // Decline cards cannot be saved, as on Stripe.
    let (err, status) = stripe_error(
        AttachPaymentMethod::new("pm_card_chargeDeclined")
            .customer(&customer)
            .send(&client)
            .await,
    );
    assert_eq!((status, err.type_), (402, ApiErrorsType::CardError));
    assert_eq!(err.decline_code.as_deref(), Some("generic_decline"));

    let detached = DetachPaymentMethod::new(pm.id.clone())
        .send(&client)
        .await
        .expect("detach");
    assert!(detached.customer.is_none());
    let listed = ListPaymentMethod::new()
        .customer(&customer)
        .type_(ListPaymentMethodType::Card)
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 1);
    // Detaching the default clears it.
    let RetrieveCustomerReturned::Customer(c) = RetrieveCustomer::new(customer.as_str())
        .send(&client)
        .await
        .expect("retrieve")
    else {
        panic!("customer deleted?");
    };
    assert!(
        c.invoice_settings
            .and_then(|s| s.default_payment_method)
            .is_none()
    );
    // A detached PaymentMethod cannot be used again.
    let (_, status) = stripe_error(
        off_session_payment(1000, &customer, pm.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn payment_intent_automatic_success_with_charge() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let pi = off_session_payment(12_000, &customer, "pm_card_visa")
        .metadata([("payment_id".to_string(), "pay_1".to_string())])
        .description("Booking #1")
        .send(&client)
        .await
        .expect("payment");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!((pi.amount_received, pi.amount_capturable), (12_000, 0));
    assert_eq!(pi.currency, Currency::EUR);
    assert_eq!(
        pi.metadata.get("payment_id").map(String::as_str),
        Some("pay_1")
    );
    let charge_id = pi.latest_charge.as_ref().expect("charge").id().clone();
    assert!(charge_id.as_str().starts_with("ch_"));

    let charge = RetrieveCharge::new(charge_id.clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.captured && charge.paid);
    assert_eq!(charge.amount_captured, 12_000);
    assert_eq!(
        charge.payment_intent.as_ref().map(|p| p.id().clone()),
        Some(pi.id.clone())
    );

    // expand[]=latest_charge gives the object.
    let expanded = RetrievePaymentIntent::new(pi.id.clone())
        .expand([String::from("latest_charge")])
        .send(&client)
        .await
        .expect("retrieve");
    assert!(matches!(
        expanded.latest_charge,
        Some(Expandable::Object(_))
    ));

    let listed = ListPaymentIntent::new()
        .customer(&customer)
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 1);
}

#[tokio::test]
async fn payment_intent_decline_is_a_card_error_with_decline_code() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let (err, status) = stripe_error(
        off_session_payment(5_000, &customer, "pm_card_chargeDeclinedInsufficientFunds")
            .send(&client)
            .await,
    );
    assert_eq!(status, 402);
    assert_eq!(err.type_, ApiErrorsType::CardError);
    assert_eq!(err.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(err.decline_code.as_deref(), Some("insufficient_funds"));
    assert!(err.charge.as_deref().is_some_and(|c| c.starts_with("ch_")));
    let pi: PaymentIntent = err.payment_intent.expect("payment_intent in the error");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
    let last = pi.last_payment_error.expect("last_payment_error");
    assert_eq!(last.decline_code.as_deref(), Some("insufficient_funds"));

    let again = RetrievePaymentIntent::new(pi.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(again.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert!(again.payment_method.is_none());

    // A card saved with Stripe's chargeCustomerFail card attaches, then fails.
    let pm = AttachPaymentMethod::new("pm_card_chargeCustomerFail")
        .customer(&customer)
        .send(&client)
        .await
        .expect("attach");
    let (err, status) = stripe_error(
        off_session_payment(5_000, &customer, pm.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.decline_code.as_deref()),
        (402, Some("generic_decline"))
    );
}

#[tokio::test]
async fn payment_intent_requires_action() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;

    // On session: 3-D Secure is needed.
    let pi = CreatePaymentIntent::new(8_000, Currency::EUR)
        .customer(&customer)
        .payment_method("pm_card_authenticationRequired")
        .allowed_payment_method_types([PaymentIntentAllowedPaymentMethodTypes::Card])
        .confirm(true)
        .send(&client)
        .await
        .expect("payment");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    assert_eq!(
        pi.next_action.as_ref().map(|a| a.type_.as_str()),
        Some("use_stripe_sdk")
    );
    let done = fake
        .complete_authentication(None, pi.id.as_str(), true)
        .expect("authenticate");
    assert_eq!(done["status"], "succeeded");

    // Off session the same card is declined with authentication_required.
    let (err, status) = stripe_error(
        off_session_payment(8_000, &customer, "pm_card_threeDSecure2Required")
            .send(&client)
            .await,
    );
    assert_eq!(status, 402);
    assert_eq!(err.code, Some(ApiErrorsCode::AuthenticationRequired));

    // On-session confirmation with automatic payment methods needs a return_url.
    let (err, status) = stripe_error(
        CreatePaymentIntent::new(8_000, Currency::EUR)
            .payment_method("pm_card_visa")
            .confirm(true)
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert!(err.message.unwrap_or_default().contains("return_url"));
}

#[tokio::test]
async fn manual_capture_partial_capture_and_hold_expiry() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let pi = off_session_payment(10_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("authorize");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresCapture);
    assert_eq!((pi.amount_capturable, pi.amount_received), (10_000, 0));

    // The hold lasts 7 days: Stripe's capture_before.
    let charge_id = pi.latest_charge.as_ref().expect("charge").id().clone();
    let charge = RetrieveCharge::new(charge_id.clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(!charge.captured);
    let capture_before = charge
        .payment_method_details
        .and_then(|d| d.card)
        .and_then(|c| c.capture_before)
        .expect("capture_before");
    assert_eq!(capture_before, charge.created + 7 * 24 * 3600);

    let (err, status) = stripe_error(
        CapturePaymentIntent::new(pi.id.clone())
            .amount_to_capture(10_001)
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.type_),
        (400, ApiErrorsType::InvalidRequestError)
    );
    assert_eq!(err.param.as_deref(), Some("amount_to_capture"));

    let captured = CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(6_000)
        .send(&client)
        .await
        .expect("capture");
    assert_eq!(captured.status, PaymentIntentStatus::Succeeded);
    assert_eq!(
        (captured.amount_received, captured.amount_capturable),
        (6_000, 0)
    );
    let charge = RetrieveCharge::new(charge_id)
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.captured);
    assert_eq!(
        (charge.amount_captured, charge.amount_refunded),
        (6_000, 4_000)
    );

    // Capturing twice is refused.
    let (err, _) = stripe_error(CapturePaymentIntent::new(pi.id.clone()).send(&client).await);
    assert_eq!(err.code, Some(ApiErrorsCode::PaymentIntentUnexpectedState));

    // An authorization left uncaptured past capture_before is canceled.
    let held = off_session_payment(2_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("authorize");
    fake.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let expired = RetrievePaymentIntent::new(held.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(expired.status, PaymentIntentStatus::Canceled);
    assert_eq!(
        expired.cancellation_reason.as_ref().map(|r| r.as_str()),
        Some("automatic")
    );
}

#[tokio::test]
async fn cancel_releases_the_authorization() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let pi = off_session_payment(3_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("authorize");
    let canceled = CancelPaymentIntent::new(pi.id.clone())
        .cancellation_reason(CancelPaymentIntentCancellationReason::RequestedByCustomer)
        .send(&client)
        .await
        .expect("cancel");
    assert_eq!(canceled.status, PaymentIntentStatus::Canceled);
    assert_eq!(
        canceled.cancellation_reason.as_ref().map(|r| r.as_str()),
        Some("requested_by_customer")
    );
    assert!(canceled.canceled_at.is_some());
    assert_eq!(canceled.amount_capturable, 0);

    let (err, status) = stripe_error(CancelPaymentIntent::new(pi.id.clone()).send(&client).await);
    assert_eq!(
        (status, err.code),
        (400, Some(ApiErrorsCode::PaymentIntentUnexpectedState))
    );
}

#[tokio::test]
async fn refunds_partial_then_over_refund_rejected() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let pi = off_session_payment(10_000, &customer, "pm_card_visa")
        .send(&client)
        .await
        .expect("payment");

    let refund = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .amount(3_000)
        .metadata([("refund_id".to_string(), "r1".to_string())])
        .send(&client)
        .await
        .expect("refund");
    assert!(refund.id.as_str().starts_with("re_"));
    assert_eq!(refund.amount, 3_000);
    assert_eq!(refund.status.as_deref(), Some("succeeded"));
    let fetched = RetrieveRefund::new(refund.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(fetched.id, refund.id);

    let (err, status) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .amount(8_000)
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(err.code, Some(ApiErrorsCode::AmountTooLarge));
    assert_eq!(
        err.message.as_deref(),
        Some("Refund amount (€80.00) is greater than unrefunded amount on charge (€70.00)")
    );

    let rest = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .send(&client)
        .await
        .expect("refund the rest");
    assert_eq!(rest.amount, 7_000);
    let (err, _) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(err.code, Some(ApiErrorsCode::ChargeAlreadyRefunded));

    let listed = ListRefund::new()
        .payment_intent(pi.id.as_str())
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 2);
    let charge = RetrieveCharge::new(pi.latest_charge.expect("charge").id().clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.refunded);
    assert_eq!(charge.refunds.map(|r| r.data.len()), Some(2));
}

#[tokio::test]
async fn setup_intent_saves_the_card_for_off_session_use() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let si = CreateSetupIntent::new()
        .customer(&customer)
        .usage(CreateSetupIntentUsage::OffSession)
        .allowed_payment_method_types([stripe_shared::SetupIntentAllowedPaymentMethodTypes::Card])
        .send(&client)
        .await
        .expect("create");
    assert_eq!(si.status, SetupIntentStatus::RequiresPaymentMethod);
    assert!(
        si.client_secret
            .as_deref()
            .is_some_and(|s| s.contains("_secret_"))
    );

    let confirmed = ConfirmSetupIntent::new(si.id.clone())
        .payment_method("pm_card_visa")
        .send(&client)
        .await
        .expect("confirm");
    assert_eq!(confirmed.status, SetupIntentStatus::Succeeded);
    let pm = confirmed.payment_method.expect("pm").id().to_string();
    let retrieved = RetrieveSetupIntent::new(si.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(retrieved.status, SetupIntentStatus::Succeeded);

    let listed = ListPaymentMethod::new()
        .customer(&customer)
        .type_(ListPaymentMethodType::Card)
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 1, "the card is attached to the customer");
    let pi = off_session_payment(4_500, &customer, &pm)
        .send(&client)
        .await
        .expect("off-session payment with the saved card");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);

    // A decline card fails the setup with the SetupIntent inside the error.
    let si = CreateSetupIntent::new()
        .customer(&customer)
        .send(&client)
        .await
        .expect("create");
    let (err, status) = stripe_error(
        ConfirmSetupIntent::new(si.id.clone())
            .payment_method("pm_card_chargeDeclined")
            .send(&client)
            .await,
    );
    assert_eq!((status, err.type_), (402, ApiErrorsType::CardError));
    assert_eq!(
        err.setup_intent.map(|s| s.status),
        Some(SetupIntentStatus::RequiresPaymentMethod)
    );
}

#[tokio::test]
async fn search_by_metadata() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    for n in 1..=3 {
        off_session_payment(1_000 * n, &customer, "pm_card_visa")
            .metadata([
                ("payment_id".to_string(), format!("pay_{n}")),
                // A `%` in a parameter needs serde_qs >= 1.1.3 on async-stripe's side.
                ("note".to_string(), "10% off".to_string()),
            ])
            .send(&client)
            .await
            .expect("payment");
    }
    let found = SearchPaymentIntent::new("metadata['payment_id']:'pay_2'")
        .send(&client)
        .await
        .expect("search");
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].amount, 2_000);
    assert_eq!(
        found.data[0].metadata.get("note").map(String::as_str),
        Some("10% off")
    );
    assert!(!found.has_more);
    assert_eq!(found.next_page, None);

    let page = SearchPaymentIntent::new("status:'succeeded' AND amount>=2000")
        .limit(1)
        .send(&client)
        .await
        .expect("search");
    assert_eq!(page.data.len(), 1);
    assert!(page.has_more);
    let next = SearchPaymentIntent::new("status:'succeeded' AND amount>=2000")
        .limit(1)
        .page(page.next_page.expect("next page"))
        .send(&client)
        .await
        .expect("page 2");
    assert_eq!(next.data.len(), 1);
    assert_ne!(next.data[0].id, page.data[0].id);
}

#[tokio::test]
async fn idempotent_replay_and_conflicting_reuse() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let request = off_session_payment(2_500, &customer, "pm_card_visa");

    let first = request
        .customize()
        .request_strategy(idempotent("pay_42"))
        .send(&client)
        .await
        .expect("first");
    let second = request
        .customize()
        .request_strategy(idempotent("pay_42"))
        .send(&client)
        .await
        .expect("replay");
    assert_eq!(first.id, second.id);
    let requests = fake.requests();
    let replayed: Vec<_> = requests.iter().filter(|r| r.replayed).collect();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].idempotency_key.as_deref(), Some("pay_42"));
    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert_eq!(listed.data.len(), 1, "a replay creates nothing");

    let (err, status) = stripe_error(
        off_session_payment(9_999, &customer, "pm_card_visa")
            .customize()
            .request_strategy(idempotent("pay_42"))
            .send(&client)
            .await,
    );
    assert_eq!((status, err.type_), (400, ApiErrorsType::IdempotencyError));

    // Card errors are saved and replayed too.
    let decline = off_session_payment(2_500, &customer, "pm_card_chargeDeclined");
    let (e1, s1) = stripe_error(
        decline
            .customize()
            .request_strategy(idempotent("pay_43"))
            .send(&client)
            .await,
    );
    let (e2, s2) = stripe_error(
        decline
            .customize()
            .request_strategy(idempotent("pay_43"))
            .send(&client)
            .await,
    );
    assert_eq!((s1, s2), (402, 402));
    assert_eq!(e1.charge, e2.charge);
}

#[tokio::test]
async fn stripe_account_scopes_objects_and_keys() {
    let fake = FakeStripe::start().await;
    let platform = client(&fake);
    let venue_a = connect_client(&fake, "acct_venueA");
    let venue_b = connect_client(&fake, "acct_venueB");

    let customer = new_customer(&venue_a).await;
    let (err, status) = stripe_error(
        RetrieveCustomer::new(customer.as_str())
            .send(&platform)
            .await,
    );
    assert_eq!(
        (status, err.code),
        (404, Some(ApiErrorsCode::ResourceMissing))
    );
    let (_, status) = stripe_error(
        RetrieveCustomer::new(customer.as_str())
            .send(&venue_b)
            .await,
    );
    assert_eq!(status, 404);
    // Per-request account override works the same.
    let found = RetrieveCustomer::new(customer.as_str())
        .customize()
        .account_id(AccountId::from("acct_venueA"))
        .send(&platform)
        .await
        .expect("retrieve with per-request account");
    assert!(matches!(found, RetrieveCustomerReturned::Customer(_)));

    // The same idempotency key in two accounts makes two objects.
    let pi_a = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("shared-key"))
        .send(&venue_a)
        .await
        .expect("pi in A");
    let customer_b = new_customer(&venue_b).await;
    let pi_b = off_session_payment(1_000, &customer_b, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("shared-key"))
        .send(&venue_b)
        .await
        .expect("pi in B");
    assert_ne!(pi_a.id, pi_b.id);

    // require_account: calls without the header are refused, and recorded.
    fake.require_account(true);
    let (_, status) = stripe_error(CreateCustomer::new().send(&platform).await);
    assert_eq!(status, 400);
    new_customer(&venue_a).await;
    let without: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.stripe_account.is_none())
        .collect();
    assert_eq!(
        without.len(),
        2,
        "the two platform calls made without an account"
    );
    assert!(fake.events().iter().any(|e| e["account"] == "acct_venueA"));
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() {
    let fake = FakeStripe::start().await;
    let bad = ClientBuilder::new("sk_test_wrongwrongwrong1234")
        .url(fake.base_url())
        .build()
        .expect("client");
    let (err, status) = stripe_error(CreateCustomer::new().send(&bad).await);
    assert_eq!(
        (status, err.type_),
        (401, ApiErrorsType::InvalidRequestError)
    );
    assert!(err.message.unwrap_or_default().contains("Invalid API Key"));
}

#[tokio::test]
async fn faults_server_error_and_rate_limit_do_nothing() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;

    fake.inject_matching(
        RequestFilter::path_prefix("/v1/payment_intents").method("POST"),
        Fault::ServerError(503),
        1,
    );
    let (err, status) = stripe_error(
        off_session_payment(1_000, &customer, "pm_card_visa")
            .send(&client)
            .await,
    );
    assert_eq!((status, err.type_), (503, ApiErrorsType::ApiError));

    fake.inject(Fault::RateLimited, 1);
    let (err, status) = stripe_error(
        off_session_payment(1_000, &customer, "pm_card_visa")
            .send(&client)
            .await,
    );
    assert_eq!((status, err.code), (429, Some(ApiErrorsCode::RateLimit)));
    assert_eq!(fake.pending_faults(), 0);

    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert!(listed.data.is_empty(), "faulted requests did nothing");
    // async-stripe's Retry strategy gets through once the faults are spent.
    fake.inject(Fault::ServerError(500), 1);
    let pi = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(RequestStrategy::Retry(3))
        .send(&client)
        .await
        .expect("retried");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn fault_connection_reset_does_nothing() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    fake.inject(Fault::ConnectionReset, 1);
    let result = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("reset-1"))
        .send(&client)
        .await;
    assert!(
        matches!(result, Err(StripeError::ClientError(_))),
        "{result:?}"
    );
    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert!(listed.data.is_empty());
    let last = fake
        .requests()
        .into_iter()
        .find(|r| r.fault == Some(Fault::ConnectionReset))
        .expect("recorded");
    assert_eq!(last.status, None);
    // The key was not used: the retry runs for real.
    let pi = off_session_payment(1_000, &customer, "pm_card_visa")
        .customize()
        .request_strategy(idempotent("reset-1"))
        .send(&client)
        .await
        .expect("retry");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn fault_timeout_after_processing_then_idempotent_retry() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    fake.inject_matching(
        RequestFilter::path_prefix("/v1/payment_intents").method("POST"),
        Fault::TimeoutAfterProcessing,
        1,
    );
    let request = off_session_payment(7_700, &customer, "pm_card_visa");
    let result = request
        .customize()
        .request_strategy(idempotent("booking-9"))
        .timeout(Duration::from_millis(300))
        .send(&client)
        .await;
    assert!(matches!(result, Err(StripeError::Timeout)), "{result:?}");

    // The charge went through although the client never heard back...
    let listed = ListPaymentIntent::new().send(&client).await.expect("list");
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0].status, PaymentIntentStatus::Succeeded);
    // ...and the retry with the same key gets the saved answer, not a second charge.
    let retried = request
        .customize()
        .request_strategy(idempotent("booking-9"))
        .send(&client)
        .await
        .expect("retry");
    assert_eq!(retried.id, listed.data[0].id);
    assert!(fake.requests().last().is_some_and(|r| r.replayed));

    // ResetAfterProcessing: same, with the connection cut at once.
    fake.inject(Fault::ResetAfterProcessing, 1);
    let result = CreateCustomer::new().send(&client).await;
    assert!(
        matches!(result, Err(StripeError::ClientError(_))),
        "{result:?}"
    );
    assert_eq!(fake.events_of_type("customer.created").len(), 2);
}

#[tokio::test]
async fn webhook_signature_verified_by_async_stripe() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    let customer = new_customer(&client).await;
    let pi = off_session_payment(3_300, &customer, "pm_card_visa")
        .send(&client)
        .await
        .expect("payment");

    // An event around the stored object.
    let object = fake.object(None, pi.id.as_str()).expect("stored pi");
    let (payload, signature) = fake.signed_event("payment_intent.succeeded", object);
    let event = Webhook::construct_event(&payload, &signature, fake.webhook_secret())
        .expect("valid signature");
    assert_eq!(event.type_, EventType::PaymentIntentSucceeded);
    match event.data.object {
        EventObject::PaymentIntentSucceeded(got) => assert_eq!(got.id, pi.id),
        other => panic!("unexpected object {other:?}"),
    }

    // The events the fake emitted verify and parse too.
    for emitted in fake.events() {
        let payload = emitted.to_string();
        let event = Webhook::construct_event(&payload, &fake.sign(&payload), fake.webhook_secret())
            .expect("emitted event parses");
        assert!(
            !matches!(event.data.object, EventObject::Unknown(_)),
            "{payload}"
        );
    }
    assert_eq!(fake.events_of_type("charge.succeeded").len(), 1);

    // Wrong secret, stale timestamp.
    assert!(matches!(
        Webhook::construct_event(&payload, &signature, "whsec_other"),
        Err(WebhookError::BadSignature)
    ));
    let stale = fake.sign_at(&payload, fake.now() - 3_600);
    assert!(matches!(
        Webhook::construct_event(&payload, &stale, fake.webhook_secret()),
        Err(WebhookError::BadTimestamp(_))
    ));
    let header = billing_stripe_fake::signature_header(&payload, "whsec_custom", 1_700_000_000);
    assert!(
        Webhook::construct_event_with_timestamp(&payload, &header, "whsec_custom", 1_700_000_100)
            .is_ok()
    );
    // A Connect event carries the account.
    let (payload, signature) = fake.signed_connect_event(
        "acct_venueA",
        "customer.created",
        json!({"id": "cus_x", "object": "customer", "created": 1, "livemode": false}),
    );
    let event = Webhook::construct_event(&payload, &signature, fake.webhook_secret())
        .expect("connect event");
    assert_eq!(event.account.as_deref(), Some("acct_venueA"));
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let fake = FakeStripe::start().await;
    let client = client(&fake);
    new_customer(&client).await;
    fake.shutdown().await;
    let result = CreateCustomer::new().send(&client).await;
    assert!(
        matches!(result, Err(StripeError::ClientError(_))),
        "{result:?}"
    );
}
