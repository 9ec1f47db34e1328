//! [`StripeGateway`]: the [`PaymentGateway`] port on Stripe. This file holds the client, how
//! one call is sent and what Stripe's refusals mean; the operations are in one module per
//! area (customers and cards, payments, refunds and records, card set-ups).

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;
use stripe::{AccountId, Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError};
use stripe_client_core::CustomizableStripeRequest;

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::ports::{
    AmountRefused, CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayEvent,
    GatewayPayment, GatewayRecord, GatewayRefund, NewGatewayCustomer, PaymentGateway,
    PaymentRequest, RefundRequest, SetupState,
};

use crate::amounts;
use crate::call::{CallError, CallKind, request_id, with_retries};
use crate::config::StripeConfig;

/// Metadata key holding our payment id on a PaymentIntent (searched by `find_payment`).
pub const PAYMENT_ID_KEY: &str = "payment_id";
/// Metadata key holding our refund id on a Refund.
pub const REFUND_ID_KEY: &str = "refund_id";
/// Metadata key holding our customer id on a Customer.
pub const CUSTOMER_ID_KEY: &str = "customer_id";
/// Metadata key for the business a Stripe customer belongs to.
pub const BUSINESS_ID_KEY: &str = "business_id";

/// How long Stripe keeps an idempotency key (docs.stripe.com/api/idempotent_requests).
const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;
/// How long Stripe's search may take to find a new object (docs.stripe.com/search: "under a
/// minute" in normal operation).
const SEARCH_LAG_SECONDS: i64 = 60;

/// The Stripe adapter. Every call acts on the connected account given (`Stripe-Account`),
/// every mutating call carries an idempotency key, and failed calls are retried by the
/// adapter under the same key (see [`StripeConfig`]).
///
/// Answers are checked: a charge Stripe reports in another amount or currency than asked is
/// [`GatewayError::UnknownOutcome`], never taken as paid.
#[derive(Clone)]
pub struct StripeGateway {
    pub(crate) client: Client,
    pub(crate) config: StripeConfig,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's key prints redacted; the client is left out (it holds the key too).
        f.debug_struct("StripeGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.into(),
        request_id: None,
    }
}

pub(crate) fn mutating(what: &'static str) -> CallKind {
    CallKind {
        what,
        mutating: true,
    }
}

pub(crate) fn read(what: &'static str) -> CallKind {
    CallKind {
        what,
        mutating: false,
    }
}

/// A key for calls that have no key of ours (attach, detach, set default, confirm a set-up):
/// a fresh random part per call, kept across the retries of that call. A key made only of
/// the objects named would make Stripe replay an old answer for a legitimate repeat (setting
/// card A as default again after B), and these calls are safe to repeat anyway.
pub(crate) fn call_key(operation: &str, parts: &[&str]) -> String {
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

pub(crate) fn truncate(text: &str, max: usize) -> String {
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
    pub(crate) async fn send<T, F, Fut>(
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
    pub(crate) async fn call<T, F, Fut>(
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
}

/// Where a request goes: the connected account and the idempotency key, the same for every
/// attempt of one call.
#[derive(Debug)]
pub(crate) struct Target {
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

    pub(crate) fn apply<T>(
        &self,
        mut request: CustomizableStripeRequest<T>,
    ) -> CustomizableStripeRequest<T> {
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
pub(crate) fn refusal(kind: CallKind, error: CallError) -> GatewayError {
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
        self.make_customer(customer).await
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        self.cards_of(account.as_deref(), gateway_customer).await
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.attach(account.as_deref(), gateway_customer, payment_method)
            .await
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.detach(account.as_deref(), payment_method).await
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.make_default(account.as_deref(), gateway_customer, payment_method)
            .await
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.pay(request, false).await
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.pay(request, true).await
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        self.capture_hold(request).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        self.cancel_intent(request).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.make_refund(request).await
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        self.search_payment(account.as_deref(), payment).await
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        let ours = refund.as_str();
        let refunds = self
            .refunds_of(account.as_deref(), payment_reference)
            .await?;
        Ok(refunds
            .into_iter()
            .find(|r| r.refund.as_ref().is_some_and(|id| id.as_str() == ours)))
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        self.start_setup(account.as_deref(), gateway_customer, idempotency_key)
            .await
    }

    async fn confirm_card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
        payment_method: &str,
        return_url: &str,
    ) -> Result<SetupState, GatewayError> {
        self.confirm_setup(
            account.as_deref(),
            setup_reference,
            payment_method,
            return_url,
        )
        .await
    }

    async fn card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
    ) -> Result<SetupState, GatewayError> {
        self.read_setup(account.as_deref(), setup_reference).await
    }

    async fn payment_record(
        &self,
        account: Option<String>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        self.record_of(account.as_deref(), reference).await
    }

    async fn events_since(
        &self,
        account: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError> {
        self.list_events(account.as_deref(), since).await
    }

    fn check_amount(&self, amount: &Money) -> Result<(), AmountRefused> {
        amounts::check_charge(amount)
    }

    fn idempotency_window(&self) -> chrono::Duration {
        chrono::Duration::hours(IDEMPOTENCY_WINDOW_HOURS)
    }

    fn search_lag(&self) -> chrono::Duration {
        chrono::Duration::seconds(SEARCH_LAG_SECONDS)
    }
}
