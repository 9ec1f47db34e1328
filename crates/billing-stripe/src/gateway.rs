//! [`StripeGateway`]: the [`PaymentGateway`] port on Stripe.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use stripe::{
    AccountId, ApiErrors, Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError,
    StripeRequest,
};
use stripe_client_core::CustomizableStripeRequest;
use stripe_core::PaymentIntentCaptureMethod;
use stripe_core::charge::RetrieveCharge;
use stripe_core::customer::{
    CreateCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent, CreatePaymentIntentOffSession,
    SearchPaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund};
use stripe_core::setup_intent::{CreateSetupIntent, CreateSetupIntentUsage};
use stripe_payment::payment_method::{
    AttachPaymentMethod, DetachPaymentMethod, ListPaymentMethod, ListPaymentMethodType,
};
use stripe_shared::{
    PaymentIntent, PaymentIntentAllowedPaymentMethodTypes, SetupIntentAllowedPaymentMethodTypes,
};

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::ports::{
    CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayPayment, GatewayRefund,
    GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, RefundRequest,
};

use crate::amounts;
use crate::call::{CallError, CallKind, request_id, with_retries};
use crate::config::StripeConfig;
use crate::convert;

/// Metadata key holding our payment id on a PaymentIntent (searched by `find_payment`).
pub const PAYMENT_ID_KEY: &str = "payment_id";
/// Metadata key holding our refund id on a Refund.
pub const REFUND_ID_KEY: &str = "refund_id";
/// Metadata key holding our customer id on a Customer.
pub const CUSTOMER_ID_KEY: &str = "customer_id";
/// Metadata key for the business a Stripe customer belongs to.
pub const BUSINESS_ID_KEY: &str = "business_id";

/// Stripe caps metadata values at 500 characters.
const METADATA_VALUE_MAX: usize = 500;

/// The Stripe adapter. Every call acts on the connected account given (`Stripe-Account`),
/// every mutating call carries an idempotency key, and failed calls are retried by the
/// adapter under the same key (see [`StripeConfig`]).
///
/// Answers are checked: a charge Stripe reports in another amount or currency than asked is
/// [`GatewayError::UnknownOutcome`], never taken as paid.
#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    config: StripeConfig,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's key prints redacted; the client is left out (it holds the key too).
        f.debug_struct("StripeGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.into(),
        request_id: None,
    }
}

fn mutating(what: &'static str) -> CallKind {
    CallKind {
        what,
        mutating: true,
    }
}

fn read(what: &'static str) -> CallKind {
    CallKind {
        what,
        mutating: false,
    }
}

/// A key for calls that have no key of ours (attach, detach, set default): a fresh random
/// part per call, kept across the retries of that call. A key made only of the customer and
/// card would make Stripe replay an old answer for a legitimate repeat (setting card A as
/// default again after B), and these calls are safe to repeat anyway.
fn call_key(operation: &str, parts: &[&str]) -> String {
    let nonce: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let mut key = operation.to_owned();
    for part in parts {
        key.push(':');
        key.push_str(part);
    }
    key.push(':');
    key.push_str(&nonce);
    key
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl StripeGateway {
    /// A gateway over Stripe's API (or `config.base_url`).
    ///
    /// # Errors
    /// [`GatewayError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(config: StripeConfig) -> Result<Self, GatewayError> {
        let mut builder = ClientBuilder::new(config.secret_key.expose()).timeout(config.timeout);
        if let Some(url) = &config.base_url {
            builder = builder.url(url.clone());
        }
        let client = builder
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("the Stripe client: {e}")))?;
        Ok(StripeGateway { client, config })
    }

    /// Its settings (the key prints redacted).
    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    /// Sends one request, built afresh for every attempt by `attempt` from the [`Target`],
    /// through the retry loop.
    async fn send<T, F, Fut>(
        &self,
        kind: CallKind,
        account: Option<&str>,
        key: Option<&str>,
        attempt: F,
    ) -> Result<T, CallError>
    where
        F: Fn(&Target) -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        let target = Target::new(account, key)?;
        with_retries(
            kind,
            self.config.max_retries,
            self.config.backoff_base,
            self.config.timeout,
            || attempt(&target),
        )
        .await
    }

    /// Like [`Self::send`], with Stripe's refusals turned into the port's errors.
    async fn call<T, F, Fut>(
        &self,
        kind: CallKind,
        account: Option<&str>,
        key: Option<&str>,
        attempt: F,
    ) -> Result<T, GatewayError>
    where
        F: Fn(&Target) -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        self.send(kind, account, key, attempt)
            .await
            .map_err(|e| refusal(kind, e))
    }

    /// The hold expiry of an intent in `requires_capture`: the charge's `capture_before`
    /// (read from the expanded charge, else fetched), or Stripe's default 7 days.
    async fn hold_expiry(
        &self,
        account: Option<&str>,
        intent: &PaymentIntent,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        if let Some(at) = convert::capture_before(intent) {
            return Some(at);
        }
        let fetched = match intent.latest_charge.as_ref() {
            Some(charge) if !charge.is_object() => {
                let request = RetrieveCharge::new(charge.id().clone());
                self.call(read("retrieve a Charge"), account, None, |t| {
                    t.apply(request.customize()).send(&self.client)
                })
                .await
                .ok()
                .and_then(|charge| {
                    charge
                        .payment_method_details
                        .and_then(|d| d.card)
                        .and_then(|c| c.capture_before)
                        .and_then(convert::timestamp)
                })
            }
            _ => None,
        };
        // A charge we cannot read is no reason to fail the call: Stripe's default stands.
        fetched.or_else(|| convert::default_hold_expiry(intent))
    }

    /// The port's view of an intent, with the hold expiry of a hold.
    async fn view(
        &self,
        account: Option<&str>,
        intent: &PaymentIntent,
        card_error: Option<&ApiErrors>,
    ) -> Result<GatewayPayment, GatewayError> {
        let mut payment = convert::payment_of(intent, card_error)?;
        if payment.status == GatewayStatus::RequiresCapture {
            payment.hold_expires_at = self.hold_expiry(account, intent).await;
        }
        Ok(payment)
    }

    /// A charge (`hold: false`) or a hold on a saved card, off-session.
    async fn pay(
        &self,
        request: &PaymentRequest,
        hold: bool,
    ) -> Result<GatewayPayment, GatewayError> {
        let (amount, currency) =
            amounts::to_stripe(&request.amount).map_err(|e| invalid(e.to_string()))?;
        let mut create = CreatePaymentIntent::new(amount, currency)
            .customer(request.card.gateway_customer.as_str())
            .payment_method(request.card.payment_method.as_str())
            .confirm(true)
            .off_session(CreatePaymentIntentOffSession::Bool(true))
            .metadata([(PAYMENT_ID_KEY.to_owned(), request.payment.to_string())])
            // The charge comes along, for the hold's `capture_before` without another call.
            .expand([String::from("latest_charge")]);
        if self.config.card_only {
            create =
                create.allowed_payment_method_types([PaymentIntentAllowedPaymentMethodTypes::Card]);
        }
        if hold {
            create = create.capture_method(PaymentIntentCaptureMethod::Manual);
        }
        if let Some(description) = &request.description {
            create = create.description(truncate(description, 1000));
        }
        let what = if hold {
            "place a hold (PaymentIntent, manual capture)"
        } else {
            "charge a card (PaymentIntent)"
        };
        let account = request.account.as_deref();
        let answer = match self
            .send(
                mutating(what),
                account,
                Some(&request.idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await
        {
            Ok(intent) => self.view(account, &intent, None).await?,
            // A decline is an answer: Stripe's 402 carries the intent it left.
            Err(CallError::Api { error, status }) => match (&error.payment_intent, status) {
                (Some(intent), 402) => self.view(account, intent, Some(&error)).await?,
                _ => return Err(refusal(mutating(what), CallError::Api { error, status })),
            },
            Err(other) => return Err(refusal(mutating(what), other)),
        };
        if answer.amount != request.amount {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered {} for payment {}, {} was asked; the payment must be checked by hand",
                answer.amount, request.payment, request.amount
            )));
        }
        Ok(answer)
    }
}

/// Where a request goes: the connected account and the idempotency key, the same for every
/// attempt of one call.
#[derive(Debug)]
struct Target {
    account: Option<AccountId>,
    key: Option<IdempotencyKey>,
}

impl Target {
    fn new(account: Option<&str>, key: Option<&str>) -> Result<Self, CallError> {
        let key = key
            .map(IdempotencyKey::new)
            .transpose()
            .map_err(|e| CallError::Gateway(invalid(format!("idempotency key: {e}"))))?;
        Ok(Target {
            account: account.map(AccountId::from),
            key,
        })
    }

    fn apply<T>(&self, mut request: CustomizableStripeRequest<T>) -> CustomizableStripeRequest<T> {
        if let Some(account) = &self.account {
            request = request.account_id(account.clone());
        }
        request.request_strategy(match &self.key {
            Some(key) => RequestStrategy::Idempotent(key.clone()),
            None => RequestStrategy::Once,
        })
    }
}

/// A refusal by Stripe in the port's terms; Stripe's request id is logged for support.
fn refusal(kind: CallKind, error: CallError) -> GatewayError {
    let (error, status) = match error {
        CallError::Gateway(gateway) => return gateway,
        CallError::Api { error, status } => (error, status),
    };
    let message = error
        .message
        .clone()
        .unwrap_or_else(|| format!("Stripe answered {status}"));
    let code = error.code.as_ref().map(|c| c.as_str().to_owned());
    let request_id = request_id(&error);
    if code.as_deref() == Some("resource_missing") || status == 404 {
        return GatewayError::NotFound(message);
    }
    if matches!(status, 401 | 403) {
        tracing::warn!(
            operation = kind.what,
            status,
            request_id = request_id.as_deref().unwrap_or("-"),
            "Stripe refused the API key or the connected account: {message}"
        );
        return GatewayError::Unavailable(format!(
            "Stripe refused the API key or the connected account: {message}"
        ));
    }
    tracing::warn!(
        operation = kind.what,
        status,
        code = code.as_deref().unwrap_or("-"),
        request_id = request_id.as_deref().unwrap_or("-"),
        "Stripe refused the request: {message}"
    );
    GatewayError::InvalidRequest {
        message,
        request_id,
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        // Only parameters localstripe also accepts: no `description`.
        let mut create = CreateCustomer::new()
            .name(customer.name.as_str())
            .metadata([
                (CUSTOMER_ID_KEY.to_owned(), customer.customer.to_string()),
                (BUSINESS_ID_KEY.to_owned(), customer.business.to_string()),
            ]);
        if let Some(email) = &customer.email {
            create = create.email(email.as_str());
        }
        // Derived from our customer id, so that a retry after a lost answer (even from
        // another process) does not make a second Stripe customer. The name and email are in
        // it too: Stripe refuses a key reused with other parameters for 24 hours, which would
        // otherwise lock out a customer whose details were corrected after a lost answer.
        let details = Sha256::digest(
            format!(
                "{}\n{}",
                customer.name,
                customer.email.as_deref().unwrap_or_default()
            )
            .as_bytes(),
        );
        let key = format!(
            "customer:{}:{}:{}",
            customer.business,
            customer.customer,
            hex::encode(&details[..8])
        );
        let created = self
            .call(
                mutating("create a Customer"),
                customer.account.as_deref(),
                Some(&key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        Ok(created.id.to_string())
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        let account = account.as_deref();
        let found = self
            .call(read("retrieve a Customer"), account, None, |t| {
                t.apply(RetrieveCustomer::new(gateway_customer).customize())
                    .send(&self.client)
            })
            .await?;
        let customer = match found {
            RetrieveCustomerReturned::Customer(customer) => customer,
            RetrieveCustomerReturned::DeletedCustomer(_) => {
                return Err(GatewayError::NotFound(format!(
                    "the customer {gateway_customer} was deleted"
                )));
            }
        };
        let default = customer
            .invoice_settings
            .and_then(|s| s.default_payment_method)
            .map(|pm| pm.id().to_string());
        let mut cards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListPaymentMethod::new()
                .customer(gateway_customer)
                .type_(ListPaymentMethodType::Card)
                .limit(100);
            if let Some(after) = &after {
                list = list.starting_after(after.as_str());
            }
            let page = self
                .call(read("list PaymentMethods"), account, None, |t| {
                    t.apply(list.customize()).send(&self.client)
                })
                .await?;
            for method in &page.data {
                let is_default = default.as_deref() == Some(method.id.as_str());
                cards.push(convert::saved_card(method, is_default)?);
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => break,
            }
        }
        Ok(cards)
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        let attach = AttachPaymentMethod::new(payment_method).customer(gateway_customer);
        let key = call_key("attach", &[gateway_customer, payment_method]);
        let attached = self
            .call(
                mutating("attach a PaymentMethod"),
                account.as_deref(),
                Some(&key),
                |t| t.apply(attach.customize()).send(&self.client),
            )
            .await?;
        convert::saved_card(&attached, false)
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        let key = call_key("detach", &[payment_method]);
        let kind = mutating("detach a PaymentMethod");
        match self
            .send(kind, account.as_deref(), Some(&key), |t| {
                t.apply(DetachPaymentMethod::new(payment_method).customize())
                    .send(&self.client)
            })
            .await
        {
            Ok(_) => Ok(()),
            // Stripe answers 400 "not attached to a customer"; the port calls that NotFound.
            Err(CallError::Api { error, status: 400 })
                if error
                    .message
                    .as_deref()
                    .is_some_and(|m| m.contains("not attached")) =>
            {
                Err(GatewayError::NotFound(
                    error.message.clone().unwrap_or_default(),
                ))
            }
            Err(other) => Err(refusal(kind, other)),
        }
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        let update =
            UpdateCustomer::new(gateway_customer).invoice_settings(UpdateCustomerInvoiceSettings {
                default_payment_method: Some(payment_method.to_owned()),
                ..UpdateCustomerInvoiceSettings::new()
            });
        let key = call_key("default", &[gateway_customer, payment_method]);
        self.call(
            mutating("set the Customer's default PaymentMethod"),
            account.as_deref(),
            Some(&key),
            |t| t.apply(update.customize()).send(&self.client),
        )
        .await?;
        Ok(())
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.pay(request, false).await
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.pay(request, true).await
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        let (amount, currency) =
            amounts::to_stripe(&request.amount).map_err(|e| invalid(e.to_string()))?;
        let mut capture = CapturePaymentIntent::new(request.payment_reference.as_str())
            .amount_to_capture(amount)
            .expand([String::from("latest_charge")]);
        if !request.final_capture {
            // Only sent when asked: `final_capture` is a multicapture parameter, refused for
            // intents that did not ask for multicapture.
            capture = capture.final_capture(false);
        }
        let account = request.account.as_deref();
        let intent = self
            .call(
                mutating("capture a PaymentIntent"),
                account,
                Some(&request.idempotency_key),
                |t| t.apply(capture.customize()).send(&self.client),
            )
            .await?;
        if intent.currency != currency {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered the capture of {} in {}, {} was asked",
                request.payment_reference, intent.currency, request.amount
            )));
        }
        self.view(account, &intent, None).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        // No `cancellation_reason`: localstripe refuses it, and Stripe's reasons do not add
        // anything our own records do not say.
        let cancel = CancelPaymentIntent::new(request.payment_reference.as_str())
            .expand([String::from("latest_charge")]);
        let account = request.account.as_deref();
        let intent = self
            .call(
                mutating("cancel a PaymentIntent"),
                account,
                Some(&request.idempotency_key),
                |t| t.apply(cancel.customize()).send(&self.client),
            )
            .await?;
        self.view(account, &intent, None).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        let (amount, _) =
            amounts::to_stripe(&request.amount).map_err(|e| invalid(e.to_string()))?;
        let mut metadata = vec![(REFUND_ID_KEY.to_owned(), request.refund.to_string())];
        // Stripe's `reason` is an enum (and localstripe refuses it): our free-text reason goes
        // to the metadata instead, where the dashboard shows it.
        if let Some(reason) = &request.reason {
            metadata.push(("reason".to_owned(), truncate(reason, METADATA_VALUE_MAX)));
        }
        let create = CreateRefund::new()
            .payment_intent(request.payment_reference.as_str())
            .amount(amount)
            .metadata(
                metadata
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            );
        let refund = self
            .call(
                mutating("create a Refund"),
                request.account.as_deref(),
                Some(&request.idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        let answer = convert::refund_of(&refund)?;
        if answer.amount != request.amount {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered a refund of {} for refund {}, {} was asked; it must be checked by hand",
                answer.amount, request.refund, request.amount
            )));
        }
        Ok(answer)
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        // Our ids are letters, digits and `_ - . :`, so they need no escaping in the query.
        // Stripe's search lags writes by up to a minute: a `None` right after a lost answer
        // makes the core resend under the same key, which Stripe answers from its record.
        let search = SearchPaymentIntent::new(format!("metadata['{PAYMENT_ID_KEY}']:'{payment}'"))
            .expand([String::from("data.latest_charge")])
            .limit(20);
        let account = account.as_deref();
        let found = self
            .call(read("search PaymentIntents"), account, None, |t| {
                t.apply(search.customize()).send(&self.client)
            })
            .await?;
        // The latest attempt, should there be several.
        let Some(latest) = found.data.iter().max_by_key(|pi| pi.created) else {
            return Ok(None);
        };
        self.view(account, latest, None).await.map(Some)
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        let account = account.as_deref();
        let ours = refund.as_str();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListRefund::new()
                .payment_intent(payment_reference)
                .limit(100);
            if let Some(after) = &after {
                list = list.starting_after(after.as_str());
            }
            let page = self
                .call(read("list Refunds"), account, None, |t| {
                    t.apply(list.customize()).send(&self.client)
                })
                .await?;
            let found = page.data.iter().find(|r| {
                r.metadata
                    .as_ref()
                    .and_then(|m| m.get(REFUND_ID_KEY))
                    .is_some_and(|id| id == ours)
            });
            if let Some(found) = found {
                return convert::refund_of(found).map(Some);
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => return Ok(None),
            }
        }
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        let mut create = CreateSetupIntent::new()
            .customer(gateway_customer)
            .usage(CreateSetupIntentUsage::OffSession);
        if self.config.card_only {
            create =
                create.allowed_payment_method_types([SetupIntentAllowedPaymentMethodTypes::Card]);
        }
        let setup = self
            .call(
                mutating("create a SetupIntent"),
                account.as_deref(),
                Some(idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        let client_secret = setup.client_secret.ok_or_else(|| {
            GatewayError::UnknownOutcome(format!(
                "Stripe made the SetupIntent {} without a client secret",
                setup.id
            ))
        })?;
        Ok(CardSetup {
            reference: setup.id.to_string(),
            client_secret,
        })
    }
}
