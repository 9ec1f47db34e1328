//! A scripted fake gateway: stateful enough to charge, hold, capture and refund like a card
//! gateway, honouring idempotency keys, with outcomes that a test can script call by call, a
//! log of every call, what a business does in the gateway's dashboard, and the events the
//! gateway would send. It answers the gateway contract suite
//! ([`gateway_contract`](crate::testkit::gateway_contract)) as the sandbox and Stripe do.

mod amounts;
mod cards;
mod dashboard;
mod payments;
mod state;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::customer::SavedCard;
use crate::ids::PaymentId;
use crate::money::Money;
use crate::ports::{
    AmountRefused, CancelRequest, CaptureRequest, CardSetup, Clock, GatewayError, GatewayEvent,
    GatewayPayment, GatewayRecord, GatewayRefund, NewGatewayCustomer, PaymentGateway,
    PaymentRequest, RefundRequest, SetupState,
};
use state::{KEY_LIFETIME_HOURS, State};

/// What the next money-moving call does instead of the usual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// The usual outcome for the card (lets a test script the calls after it).
    Success,
    /// Declined with this decline code.
    Decline(String),
    /// The card asks the customer to authenticate: on-session the payment waits for them;
    /// off-session it is declined (`authentication_required`).
    RequiresAction,
    /// The call is carried out, then the answer is lost (a timeout after success).
    LostAnswer,
    /// The call never arrives and its answer is unknown (a timeout before anything happened).
    LostRequest,
    /// The call fails with this error and nothing is done.
    Fail(GatewayError),
}

/// One call the gateway received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCall {
    /// `charge`, `authorize`, `capture`, `cancel`, `refund`, `find_payment`, `find_refund`...
    pub operation: &'static str,
    /// The idempotency key sent, if the call takes one.
    pub idempotency_key: Option<String>,
    /// The amount asked, if any.
    pub amount: Option<Money>,
}

/// How long a hold can be captured, as Stripe's card holds.
const HOLD_DAYS: i64 = 7;

/// The scripted gateway. Clones share state, so a test keeps one to script and inspect.
///
/// Cards, as Stripe's test cards: `pm_card_chargeDeclined` is declined (`generic_decline`),
/// `pm_card_chargeDeclinedInsufficientFunds` is declined (`insufficient_funds`);
/// `pm_card_authenticationRequired` (…3184) and `pm_card_threeDSecure2Required` (…3220) always
/// ask the customer to authenticate, and `pm_card_authenticationRequiredOnSetup` (…3155) asks
/// on-session and when set up, then charges without the customer once set up (by a card set-up,
/// or a payment that saved it). Off-session, a card that asks is declined
/// (`authentication_required`); on-session the payment waits (`RequiresAction`, with a next
/// action) until the test [completes or fails](ScriptedGateway::authenticate) it. Any other
/// payment method succeeds when charged: a charge does not check the customer or the card, so
/// that a customer seeded straight into a store (`cus_1` with `pm_card_visa`) can be charged.
///
/// Like Stripe, and like the sandbox:
/// - **Connected accounts** are kept apart: customers, payments, refunds and idempotency keys
///   made on one are not found from another (nor from the platform's, `None`).
/// - **Customers** must be made by [`PaymentGateway::create_customer`] before cards are
///   attached, listed, made default or set up; an unknown one is [`GatewayError::NotFound`].
/// - **Cards** are attached by Stripe's test payment method ids and keep that id; any other id
///   is [`GatewayError::NotFound`]. Lists show the default. Card set-ups are confirmed with a
///   test card, and may ask for authentication.
/// - **Amounts** follow Stripe's rules ([`PaymentGateway::check_amount`]): its currencies, its
///   minimum charge (USD 0.50, GBP 0.30, JPY 50...), three-decimal currencies in tens of
///   thousandths; a charge or hold of another amount is [`GatewayError::InvalidRequest`].
///   Captures and refunds have no minimum.
/// - **Holds** ask for multicapture, which an account allows unless
///   [turned off](ScriptedGateway::set_multicapture); a non-final capture of a hold without it
///   is refused. Holds made by a gateway [on a clock](ScriptedGateway::with_clock) expire 7 days
///   later, and are released then (`Expired`).
/// - **Idempotency keys**: the same request under a used key gets the first answer; another
///   request under it is [`GatewayError::InvalidRequest`]. Keys are forgotten after 24 hours
///   on the clock.
/// - **Search**: a payment is found by our id at once, or only after a
///   [search lag](ScriptedGateway::with_search_lag) on the clock.
/// - **Dashboard**: a test captures, releases and refunds payments, and opens and decides
///   disputes, outside our API ([`ScriptedGateway::dashboard_capture`]...).
/// - **Events**: every change records the event Stripe would send ([`ScriptedGateway::events`],
///   [`PaymentGateway::events_since`]).
#[derive(Clone, Default)]
pub struct ScriptedGateway {
    state: Arc<Mutex<State>>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for ScriptedGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedGateway")
            .field("state", &self.state)
            .field("has_clock", &self.clock.is_some())
            .finish()
    }
}

impl ScriptedGateway {
    /// A gateway where everything succeeds until scripted otherwise. It has no clock: its
    /// holds carry no expiry (the core then applies its own).
    pub fn new() -> Self {
        Self::default()
    }

    /// A gateway like [`ScriptedGateway::new`] that reads the time from `clock` (give it the
    /// core's): holds expire 7 days after they are placed, idempotency keys after a
    /// day, and saved cards expire a few years on.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        ScriptedGateway {
            state: Arc::default(),
            clock: Some(clock),
        }
    }

    /// The same gateway, whose search finds a payment only `lag` after it was made (on its
    /// clock), as Stripe's search does.
    pub fn with_search_lag(self, lag: Duration) -> Self {
        self.state().search_lag = lag;
        self
    }

    /// Allows or refuses holds captured in several parts on an account (`None`: the
    /// platform's). Allowed by default.
    pub fn set_multicapture(&self, account: Option<&str>, allowed: bool) {
        self.state()
            .account(&account.map(str::to_owned))
            .no_multicapture = !allowed;
    }

    /// The state, with holds whose time ran out released first (as Stripe does on its own).
    fn state(&self) -> MutexGuard<'_, State> {
        let now = self.now();
        // A panic while holding the lock only happens in a failing test; keep going.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.expire_due(now);
        state
    }

    fn now(&self) -> Option<DateTime<Utc>> {
        self.clock.as_ref().map(|c| c.now())
    }

    /// Scripts the outcome of the next money-moving call (charge, authorize, capture, refund).
    pub fn script(&self, outcome: Scripted) {
        self.state().script.push_back(outcome);
    }

    /// Every call received so far.
    pub fn calls(&self) -> Vec<GatewayCall> {
        self.state().calls.clone()
    }

    /// How many calls of one operation were received.
    pub fn count(&self, operation: &str) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// How many distinct money-moving attempts the gateway carried out (after idempotency),
    /// on every account.
    pub fn payments_made(&self) -> usize {
        self.state()
            .accounts
            .values()
            .map(|a| a.payments.len())
            .sum()
    }

    /// The total captured in `currency` across every payment the gateway holds, on every
    /// account.
    pub fn total_received(&self, currency: crate::money::Currency) -> Money {
        let state = self.state();
        state
            .accounts
            .values()
            .flat_map(|a| a.payments.values())
            .map(|h| h.payment.amount_received)
            .filter(|m| m.currency() == currency)
            .try_fold(Money::zero(currency), |t, m| t.checked_add(&m))
            .unwrap_or_else(|_| Money::zero(currency))
    }

    /// Everything the gateway did with every payment of an account, as
    /// [`PaymentGateway::payment_record`] answers each: what a test compares a ledger with.
    pub fn records(&self, account: Option<&str>) -> Vec<GatewayRecord> {
        self.state()
            .account(&account.map(str::to_owned))
            .payments
            .values()
            .map(|held| GatewayRecord {
                payment: held.payment.clone(),
                refunds: held.refunds.clone(),
                disputes: held.disputes.clone(),
            })
            .collect()
    }

    fn log(&self, operation: &'static str, key: Option<&str>, amount: Option<Money>) {
        self.state().calls.push(GatewayCall {
            operation,
            idempotency_key: key.map(str::to_owned),
            amount,
        });
    }
}

#[async_trait]
impl PaymentGateway for ScriptedGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        self.log("create_customer", None, None);
        Ok(self.do_create_customer(customer))
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        self.log("list_cards", None, None);
        self.do_list_cards(&account, customer)
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.log("attach_card", None, None);
        self.do_attach_card(&account, customer, payment_method)
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.log("detach_card", None, None);
        self.do_detach_card(&account, payment_method)
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.log("set_default_card", None, None);
        self.do_set_default_card(&account, customer, payment_method)
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.log(
            "charge",
            Some(&request.idempotency_key),
            Some(request.amount),
        );
        self.pay(request, false)
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.log(
            "authorize",
            Some(&request.idempotency_key),
            Some(request.amount),
        );
        self.pay(request, true)
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        self.log(
            "capture",
            Some(&request.idempotency_key),
            Some(request.amount),
        );
        self.do_capture(request)
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        self.log("cancel", Some(&request.idempotency_key), None);
        self.do_cancel(request)
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.log(
            "refund",
            Some(&request.idempotency_key),
            Some(request.amount),
        );
        self.do_refund(request)
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        self.log("find_payment", None, None);
        self.do_find_payment(&account, payment)
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        self.log("find_refund", None, None);
        self.do_find_refund(&account, payment_reference, refund)
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        customer: &str,
        key: &str,
    ) -> Result<CardSetup, GatewayError> {
        self.log("start_card_setup", Some(key), None);
        self.do_start_card_setup(&account, customer, key)
    }

    async fn confirm_card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
        payment_method: &str,
        _return_url: &str,
    ) -> Result<SetupState, GatewayError> {
        self.log("confirm_card_setup", None, None);
        self.do_confirm_card_setup(&account, setup_reference, payment_method)
    }

    async fn card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
    ) -> Result<SetupState, GatewayError> {
        self.log("card_setup", None, None);
        self.do_card_setup(&account, setup_reference)
    }

    async fn payment_record(
        &self,
        account: Option<String>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        self.log("payment_record", None, None);
        self.do_payment_record(&account, reference)
    }

    async fn events_since(
        &self,
        account: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError> {
        self.log("events_since", None, None);
        Ok(self.do_events_since(&account, since))
    }

    fn check_amount(&self, amount: &Money) -> Result<(), AmountRefused> {
        amounts::check(amount)
    }

    fn idempotency_window(&self) -> Duration {
        Duration::hours(KEY_LIFETIME_HOURS)
    }

    fn search_lag(&self) -> Duration {
        self.state().search_lag
    }
}
