use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::customer::SavedCard;
use crate::ids::{BusinessId, CustomerId, PaymentId};
use crate::money::Money;
use crate::payment::{CardRef, Failure};

/// A gateway call that has no outcome to report. Declines and "requires action" are outcomes,
/// not errors: they come back as a [`GatewayPayment`] status, since the gateway keeps a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Too many requests; nothing was done. The adapter already retried with backoff.
    #[error("gateway rate limit reached")]
    RateLimited,
    /// The gateway refused the request as malformed; nothing was done. A bug on our side.
    #[error("gateway refused the request: {message}")]
    InvalidRequest {
        /// The gateway's message.
        message: String,
        /// The gateway's request id, for support.
        request_id: Option<String>,
    },
    /// The request was not sent (connection refused, bad configuration); nothing was done.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The object named does not exist at the gateway.
    #[error("not found at the gateway: {0}")]
    NotFound(String),
    /// The request may or may not have been carried out (timeout, connection reset, 5xx, or an
    /// answer that does not match the request). Never to be read as a failure: the payment stays
    /// pending until reconciled.
    #[error("gateway outcome unknown: {0}")]
    UnknownOutcome(String),
}

impl GatewayError {
    /// True when the gateway certainly did nothing, so the attempt can be closed as failed.
    pub fn nothing_done(&self) -> bool {
        !matches!(self, GatewayError::UnknownOutcome(_))
    }

    /// A stable code for the failure this error leaves on a payment.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::RateLimited => "rate_limited",
            GatewayError::InvalidRequest { .. } => "gateway_invalid_request",
            GatewayError::Unavailable(_) => "gateway_unavailable",
            GatewayError::NotFound(_) => "gateway_not_found",
            GatewayError::UnknownOutcome(_) => "gateway_outcome_unknown",
        }
    }
}

/// A customer to create at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGatewayCustomer {
    /// The connected account acted on.
    pub account: Option<String>,
    /// The business whose customer it is: without a connected account, several businesses
    /// share the platform's account, and their customers must stay apart.
    pub business: BusinessId,
    /// Our customer id (kept in the gateway's metadata).
    pub customer: CustomerId,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: Option<String>,
}

/// A charge or a hold on a saved card, off-session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The connected account acted on.
    pub account: Option<String>,
    /// Our payment id (kept in the gateway's metadata, for reconciliation).
    pub payment: PaymentId,
    /// Derived from our payment id: the same on every retry.
    pub idempotency_key: String,
    /// The card.
    pub card: CardRef,
    /// How much.
    pub amount: Money,
    /// A description shown to the business in the gateway's dashboard.
    pub description: Option<String>,
}

/// A capture of part or all of a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    /// The connected account acted on.
    pub account: Option<String>,
    /// The hold at the gateway (`pi_...`).
    pub payment_reference: String,
    /// Our capture's payment id.
    pub capture: PaymentId,
    /// Derived from our capture id.
    pub idempotency_key: String,
    /// How much to capture.
    pub amount: Money,
    /// When true the rest of the hold is released.
    pub final_capture: bool,
}

/// The release of a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// The connected account acted on.
    pub account: Option<String>,
    /// The hold at the gateway.
    pub payment_reference: String,
    /// Derived from our hold's id.
    pub idempotency_key: String,
}

/// A refund of part or all of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// The connected account acted on.
    pub account: Option<String>,
    /// The payment at the gateway (`pi_...`).
    pub payment_reference: String,
    /// Our refund's payment id (kept in metadata).
    pub refund: PaymentId,
    /// Derived from our refund id.
    pub idempotency_key: String,
    /// How much.
    pub amount: Money,
    /// Why.
    pub reason: Option<String>,
}

/// Where a payment stands at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayStatus {
    /// Captured: the money moved.
    Succeeded,
    /// A hold is in place.
    RequiresCapture,
    /// The customer must authenticate.
    RequiresAction,
    /// Still being processed.
    Processing,
    /// Declined or otherwise failed.
    Failed(Failure),
    /// Canceled (a released hold).
    Canceled,
}

/// A payment as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPayment {
    /// The gateway's id (`pi_...`).
    pub reference: String,
    /// Its status.
    pub status: GatewayStatus,
    /// The amount asked.
    pub amount: Money,
    /// What was captured so far.
    pub amount_received: Money,
    /// What a hold can still capture.
    pub amount_capturable: Money,
    /// When a hold stops being capturable.
    pub hold_expires_at: Option<DateTime<Utc>>,
}

/// Where a refund stands at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStatus {
    /// The money went back.
    Succeeded,
    /// Still being processed.
    Pending,
    /// It failed.
    Failed(Failure),
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    /// The gateway's id (`re_...`).
    pub reference: String,
    /// Its status.
    pub status: RefundStatus,
    /// Its amount.
    pub amount: Money,
}

/// A started card set-up: the hosted page finishes it with the client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSetup {
    /// The gateway's id (`seti_...`).
    pub reference: String,
    /// The secret the customer's browser uses; never logged.
    pub client_secret: String,
}

/// A verified notice from the gateway that something changed there (a Stripe webhook event),
/// in the core's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// The gateway's event id (`evt_...`): deliveries repeat, so it is remembered.
    pub id: String,
    /// The event type, for the logs (`payment_intent.succeeded`...).
    pub event_type: String,
    /// The connected account it happened on, which names the business.
    pub account: Option<String>,
    /// The business, when the event's metadata names it.
    pub business: Option<BusinessId>,
    /// What it is about.
    pub subject: EventSubject,
}

/// What a gateway event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSubject {
    /// One of our charges or holds moved at the gateway.
    Payment(PaymentId),
    /// A payment of ours was refunded at the gateway.
    RefundsOf(PaymentId),
    /// Nothing of ours: another event type, or a payment we did not make.
    Other,
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WebhookRejected(pub String);

/// Checks a webhook delivery's signature over the raw body and reads its event. The gateway's
/// adapter implements it (Stripe's signing scheme); the driving adapter that receives the
/// deliveries hands them to it, and the event to [`Billing`](crate::billing::Billing).
pub trait WebhookVerifier: Send + Sync {
    /// Verifies `payload` against the signature header's value and reads the event.
    ///
    /// # Errors
    /// [`WebhookRejected`] when the signature does not verify or the payload is unreadable.
    fn verify(&self, payload: &[u8], signature: &str) -> Result<GatewayEvent, WebhookRejected>;
}

/// The card gateway (Stripe, or the sandbox). Every call acts on the business's connected
/// account when one is given. Every mutating call carries an idempotency key derived from our
/// own ids, so that a retry after a timeout can never move money twice.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates the customer at the gateway and returns its id.
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError>;

    /// The customer's saved cards. [`GatewayError::NotFound`] for an unknown customer.
    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError>;

    /// Attaches a payment method made by the gateway's own card form to the customer
    /// ("create payment option"). [`GatewayError::NotFound`] for an unknown payment method.
    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError>;

    /// Detaches a saved card. [`GatewayError::NotFound`] when it is not attached.
    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError>;

    /// Makes a card the customer's default at the gateway.
    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError>;

    /// Charges a saved card off-session, captured at once. A decline or a demand for
    /// authentication is an `Ok` with that status; [`GatewayError::UnknownOutcome`] when the
    /// answer was lost.
    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError>;

    /// Places a hold on a saved card (manual capture), like [`PaymentGateway::charge`].
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError>;

    /// Captures an amount of a hold. Capturing more than the hold allows is
    /// [`GatewayError::InvalidRequest`].
    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError>;

    /// Releases a hold.
    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError>;

    /// Refunds part or all of a payment. More than is refundable is
    /// [`GatewayError::InvalidRequest`].
    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError>;

    /// Looks up the charge or hold made for our payment id, for reconciliation. `Ok(None)` when
    /// the gateway has no such attempt.
    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError>;

    /// Looks up the refund made for our refund id on a gateway payment. `Ok(None)` when none.
    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError>;

    /// Starts a card set-up for the customer (a hosted page finishes it).
    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError>;
}
