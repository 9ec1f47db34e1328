//! The fake's stored objects. Everything lives under one account scope: the
//! platform (`None`) or a connected account (`Some("acct_...")`).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value;

use crate::cards::TestCard;

/// Seconds since the Unix epoch, from the machine's clock.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `len` random ASCII letters and digits.
pub(crate) fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A Stripe-looking id: `pi_3N...` (24 characters after the prefix; customers get 14).
pub(crate) fn new_id(prefix: &str) -> String {
    let len = if prefix == "cus" { 14 } else { 24 };
    format!("{prefix}_{}", random_alnum(len))
}

/// How long an uncaptured card authorization stays capturable (Stripe: 7 days for
/// online card payments).
pub(crate) const HOLD_SECONDS: i64 = 7 * 24 * 60 * 60;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Address {
    pub city: Option<String>,
    pub country: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BillingDetails {
    pub address: Address,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub preferred_locales: Vec<String>,
    pub invoice_prefix: String,
    pub metadata: BTreeMap<String, String>,
    pub default_payment_method: Option<String>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentMethod {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub card: TestCard,
    pub exp_month: i64,
    pub exp_year: i64,
    pub customer: Option<String>,
    pub billing: BillingDetails,
    pub metadata: BTreeMap<String, String>,
    pub allow_redisplay: String,
    /// Stripe refuses to reuse a PaymentMethod that was detached, or that was used
    /// for a payment without being attached to a customer.
    pub consumed: bool,
    /// Set up for off-session payments: authenticated by a SetupIntent, or saved with
    /// `setup_future_usage=off_session` by an authenticated payment. Cards that ask for
    /// authentication only when not set up then pay off-session without asking.
    pub set_up_off_session: bool,
}

/// Why the last payment attempt failed, as a Stripe error object.
pub(crate) type PaymentError = Value;

#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub status: String,
    pub capture_method: String,
    pub confirmation_method: String,
    pub client_secret: String,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
    pub receipt_email: Option<String>,
    pub setup_future_usage: Option<String>,
    pub statement_descriptor: Option<String>,
    pub statement_descriptor_suffix: Option<String>,
    pub transfer_group: Option<String>,
    pub application_fee_amount: Option<i64>,
    pub payment_method_types: Vec<String>,
    pub allowed_payment_method_types: Option<Vec<String>>,
    /// `automatic_payment_methods[allow_redirects]` when automatic payment methods are on.
    pub automatic_payment_methods: Option<String>,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<PaymentError>,
    pub next_action: Option<Value>,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    /// `payment_method_options[card][request_multicapture]` (`if_available` or `never`).
    pub request_multicapture: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Decline {
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub amount_captured: i64,
    /// Refunded by Refund objects.
    pub amount_refunded_by_refunds: i64,
    /// Released when a partial capture or a cancel let go of the authorization.
    pub amount_released: i64,
    pub captured: bool,
    pub status: String,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_intent: String,
    pub payment_method: String,
    pub card: TestCard,
    pub exp_month: i64,
    pub exp_year: i64,
    pub billing: BillingDetails,
    pub decline: Option<Decline>,
    pub capture_before: Option<i64>,
    pub balance_transaction: Option<String>,
    pub description: Option<String>,
    pub receipt_email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub statement_descriptor: Option<String>,
    pub statement_descriptor_suffix: Option<String>,
    pub authorization_code: Option<String>,
    pub network_transaction_id: Option<String>,
    pub receipt_number: Option<String>,
    /// Whether the authorization can be captured in several parts (Stripe's multicapture).
    pub multicapture: bool,
    /// How many captures were made on the authorization.
    pub captures: u32,
}

impl Charge {
    /// Stripe's `amount_refunded`: refunds plus released authorization.
    pub fn amount_refunded(&self) -> i64 {
        self.amount_refunded_by_refunds + self.amount_released
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub status: String,
    pub balance_transaction: String,
}

#[derive(Debug, Clone)]
pub(crate) struct SetupIntent {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub status: String,
    pub usage: String,
    pub payment_method_types: Vec<String>,
    pub allowed_payment_method_types: Option<Vec<String>>,
    pub automatic_payment_methods: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
    pub client_secret: String,
    pub latest_attempt: Option<String>,
    pub last_setup_error: Option<PaymentError>,
    pub next_action: Option<Value>,
    pub cancellation_reason: Option<String>,
}

/// A dispute of a charge (a chargeback), opened and closed by the card network.
#[derive(Debug, Clone)]
pub(crate) struct Dispute {
    pub id: String,
    pub seq: u64,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: Option<String>,
    pub reason: String,
    /// `needs_response`, `under_review`, `won` or `lost`.
    pub status: String,
    pub metadata: BTreeMap<String, String>,
    /// The evidence given so far (the string fields of Stripe's `evidence`).
    pub evidence: BTreeMap<String, String>,
    pub evidence_due_by: i64,
    pub submission_count: u64,
    pub card_brand: String,
}

impl Dispute {
    /// Whether the dispute still holds the charge's funds (refunds are refused meanwhile).
    pub fn blocks_refunds(&self) -> bool {
        matches!(
            self.status.as_str(),
            "needs_response" | "under_review" | "lost"
        )
    }
}

/// All objects of one account.
#[derive(Debug, Default)]
pub(crate) struct AccountState {
    pub customers: HashMap<String, Customer>,
    pub payment_methods: HashMap<String, PaymentMethod>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub setup_intents: HashMap<String, SetupIntent>,
    pub disputes: HashMap<String, Dispute>,
    /// The account's setting that turns multicapture off (Stripe: an IC+ pricing feature,
    /// on by default in the fake).
    pub multicapture_off: bool,
}

/// A response kept for an idempotency key.
#[derive(Debug, Clone)]
pub(crate) struct SavedResponse {
    pub method: String,
    pub path: String,
    pub params: Value,
    pub status: u16,
    pub body: String,
    pub request_id: String,
}

/// An event the fake emitted, with the account it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub account: Option<String>,
    pub event: Value,
}

/// The whole fake Stripe.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub accounts: HashMap<Option<String>, AccountState>,
    /// Keyed by (account, Idempotency-Key): keys are scoped per connected account.
    pub idempotency: HashMap<(Option<String>, String), SavedResponse>,
    pub events: Vec<StoredEvent>,
    /// Seconds added to the machine's clock (see `FakeStripe::advance_clock`).
    pub clock_offset: i64,
    pub seq: u64,
    /// How long (fake clock seconds) a new PaymentIntent stays out of search results.
    pub search_lag: i64,
    /// `http://127.0.0.1:PORT`: where the fake's own pages (3-D Secure) are.
    pub public_url: String,
    /// How many of `events` were handed to the webhook delivery.
    pub published: usize,
    /// The connected accounts the platform made, and their account links.
    pub connect: crate::connect::Connect,
}

impl State {
    pub fn now(&self) -> i64 {
        unix_now() + self.clock_offset
    }
}
