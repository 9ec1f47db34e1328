//! Customers, their saved cards, and SetupIntents that save a card for later.

use billing_stripe_fake::FakeStripe;
use stripe::{ApiErrorsCode, ApiErrorsType};
use stripe_core::customer::{
    CreateCustomer, DeleteCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_core::setup_intent::{
    ConfirmSetupIntent, CreateSetupIntent, CreateSetupIntentUsage, RetrieveSetupIntent,
};
use stripe_core::{PaymentIntentStatus, SetupIntentStatus};
use stripe_payment::payment_method::{
    AttachPaymentMethod, CreatePaymentMethod, CreatePaymentMethodCard,
    CreatePaymentMethodTokenParams, CreatePaymentMethodType, DetachPaymentMethod,
    ListPaymentMethod, ListPaymentMethodType,
};

use super::{client, fake_with_customer, off_session_payment, stripe_error};

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
    let (_fake, client, customer) = fake_with_customer().await;

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
async fn setup_intent_saves_the_card_for_off_session_use() {
    let (_fake, client, customer) = fake_with_customer().await;
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
