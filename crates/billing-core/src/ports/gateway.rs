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

/// An amount the gateway can never charge (a currency it does not take, an amount under its
/// minimum, or finer than its unit for the currency): refused before any payment opens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{amount} cannot be charged: {reason}")]
pub struct AmountRefused {
    /// The amount asked.
    pub amount: Money,
    /// The gateway's rule it breaks, in words for the business.
    pub reason: String,
}

/// Whether the customer is there to authenticate (3-D Secure) while a payment is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Staff or the engine charge a saved card with the customer away (merchant-initiated). A
    /// card that asks for authentication is a decline (`authentication_required`).
    OffSession,
    /// The customer pays on a hosted page and can authenticate there: the gateway may answer
    /// [`GatewayStatus::RequiresAction`] with a [`NextAction`] for the page.
    OnSession {
        /// Where the gateway sends the customer's browser back after authenticating.
        return_url: String,
        /// Keep the card for later off-session charges (the gateway attaches it to the customer
        /// once the payment succeeds).
        save_card: bool,
    },
}

/// What the customer's browser must do before the gateway can finish a payment or a card
/// set-up: Stripe.js takes the client secret (`handleNextAction`); a gateway without a
/// browser library names a page to send the customer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAction {
    /// The secret the page's gateway library uses; never logged or stored.
    pub client_secret: String,
    /// A page of the gateway's own where the customer authenticates, when there is one.
    pub redirect_url: Option<String>,
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

/// A charge or a hold on a card. Holds ask for multicapture where the account allows it.
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
    /// Whether the customer is there to authenticate.
    pub presence: Presence,
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
    /// Canceled (a released hold, or an attempt given up).
    Canceled,
    /// A hold the gateway released by itself because its time ran out.
    Expired,
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
    /// Our payment id, from the gateway's metadata (absent on payments we did not make).
    pub payment: Option<PaymentId>,
    /// For [`GatewayStatus::RequiresAction`] on-session: what the customer's page must do.
    pub next_action: Option<NextAction>,
    /// For a hold: whether it can be captured in several parts (multicapture).
    pub multicapture: bool,
    /// The card charged, as the gateway describes it (brand, last four digits, expiry), when
    /// it says: the receipt names it, and a card the gateway kept for the customer
    /// (`save_card`) is saved on their profile.
    pub card: Option<SavedCard>,
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
    /// Our refund id, from the gateway's metadata: `None` for a refund made at the gateway
    /// (its dashboard), which the ledger records as it finds it.
    pub refund: Option<PaymentId>,
}

/// Where a dispute (chargeback) stands at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisputeStatus {
    /// Opened, or under review: the outcome is not known.
    Open,
    /// Decided for the business: the money stays with it.
    Won,
    /// Decided for the customer: the money went back to them.
    Lost,
}

/// A dispute of a payment, as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayDispute {
    /// The gateway's id (`dp_...`).
    pub reference: String,
    /// The amount disputed.
    pub amount: Money,
    /// Where it stands.
    pub status: DisputeStatus,
    /// The card network's reason (`fraudulent`, `product_not_received`...).
    pub reason: Option<String>,
}

/// Everything the gateway did with one payment, to bring what was done there (in its
/// dashboard, or by its own rules) into the ledger: the payment itself, its refunds and its
/// disputes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRecord {
    /// The payment (its captures show in `amount_received`).
    pub payment: GatewayPayment,
    /// Every refund of it, ours and the dashboard's.
    pub refunds: Vec<GatewayRefund>,
    /// Every dispute of it.
    pub disputes: Vec<GatewayDispute>,
}

/// Where a card set-up stands at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupStatus {
    /// The card is saved on the customer.
    Succeeded(SavedCard),
    /// The customer must authenticate on the page.
    RequiresAction(NextAction),
    /// The card was refused; the page can take another.
    Failed(Failure),
    /// Still being processed.
    Processing,
}

/// A card set-up as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupState {
    /// The gateway's id (`seti_...`).
    pub reference: String,
    /// The gateway customer the card is for: a set-up named by a browser is only believed
    /// for the customer whose page it is.
    pub gateway_customer: String,
    /// Where it stands.
    pub status: SetupStatus,
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
    /// Something happened to a gateway payment (`pi_...`) that the event names only by the
    /// gateway's id (a dispute, a refund made in the dashboard): the gateway's record says
    /// whether it is ours.
    GatewayPayment(String),
    /// A connected account changed (Stripe's `account.updated`): what it is now, as of the
    /// event's creation, so that a late delivery never replaces a newer state.
    Account {
        /// The account as the event describes it.
        state: crate::connect::AccountState,
        /// When the gateway made the event.
        created: DateTime<Utc>,
    },
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

    /// Charges a card, captured at once. A decline is an `Ok` with that status; off-session, a
    /// card that asks for authentication is a decline (`authentication_required`); on-session
    /// it is [`GatewayStatus::RequiresAction`] with a [`NextAction`].
    /// [`GatewayError::UnknownOutcome`] when the answer was lost.
    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError>;

    /// Places a hold on a card (manual capture), like [`PaymentGateway::charge`], asking for
    /// multicapture where the account allows it.
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError>;

    /// Captures an amount of a hold. Capturing more than the hold allows, or a non-final
    /// capture of a hold without multicapture, is [`GatewayError::InvalidRequest`].
    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError>;

    /// Releases a hold, or gives up a charge or hold that waits for the customer to
    /// authenticate.
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

    /// Confirms a card set-up with the payment method the customer's page made, on-session:
    /// the answer may ask the page to authenticate ([`SetupStatus::RequiresAction`]).
    async fn confirm_card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
        payment_method: &str,
        return_url: &str,
    ) -> Result<SetupState, GatewayError>;

    /// Where a card set-up stands (after the customer authenticated).
    async fn card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
    ) -> Result<SetupState, GatewayError>;

    /// Everything the gateway did with the payment `reference` (`pi_...`): the payment, its
    /// refunds and disputes. [`GatewayError::NotFound`] when it has no such payment.
    async fn payment_record(
        &self,
        account: Option<String>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError>;

    /// The events the gateway recorded since `since` on the account (for what webhooks
    /// missed), oldest first; empty for a gateway that sends none.
    async fn events_since(
        &self,
        account: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError>;

    /// Checks that the gateway can charge `amount` at all (its currencies, its minimum per
    /// currency, its unit): no request is sent.
    fn check_amount(&self, amount: &Money) -> Result<(), AmountRefused>;

    /// How long the gateway keeps an idempotency key (Stripe: 24 hours): past it, a request
    /// sent again could be made twice, so a payment that old is searched for, never resent.
    fn idempotency_window(&self) -> chrono::Duration;

    /// How long after a payment is made the gateway's search finds it (Stripe: about a
    /// minute): "not found" is only believed for payments older than this.
    fn search_lag(&self) -> chrono::Duration;
}
