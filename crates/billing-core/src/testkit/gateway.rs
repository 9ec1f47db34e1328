//! A scripted fake gateway: stateful enough to charge, hold, capture and refund like a card
//! gateway, honouring idempotency keys, with outcomes that a test can script call by call, and
//! a log of every call. It answers the gateway contract suite
//! ([`gateway_contract`](crate::testkit::gateway_contract)) as the sandbox and Stripe do.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, Utc};

use crate::customer::SavedCard;
use crate::ids::PaymentId;
use crate::money::Money;
use crate::payment::Failure;
use crate::ports::{
    CancelRequest, CaptureRequest, CardSetup, Clock, GatewayError, GatewayPayment, GatewayRefund,
    GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, RefundRequest, RefundStatus,
};

/// What the next money-moving call does instead of the usual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// The usual outcome for the card (lets a test script the calls after it).
    Success,
    /// Declined with this decline code.
    Decline(String),
    /// The customer must authenticate.
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

/// How long an idempotency key's answer is kept (Stripe may prune keys after 24 hours).
const KEY_LIFETIME_HOURS: i64 = 24;

/// The expiry year of saved test cards when the gateway has no clock.
const CARD_EXP_YEAR: u32 = 2034;

/// The test payment methods that can be attached: id, brand, last four digits.
const TEST_CARDS: &[(&str, &str, &str)] = &[
    ("pm_card_visa", "visa", "4242"),
    ("pm_card_visa_debit", "visa", "5556"),
    ("pm_card_mastercard", "mastercard", "4444"),
    ("pm_card_mastercard_debit", "mastercard", "8210"),
    ("pm_card_amex", "amex", "0005"),
    ("pm_card_discover", "discover", "1117"),
    ("pm_card_chargeDeclined", "visa", "0002"),
    ("pm_card_chargeDeclinedInsufficientFunds", "visa", "9995"),
    ("pm_card_authenticationRequired", "visa", "3184"),
];

/// A charge or a hold.
#[derive(Debug, Clone)]
struct Held {
    payment: GatewayPayment,
    refunded: Money,
}

impl Held {
    /// Releases a hold whose time ran out, as Stripe does on its own: canceled, or closed as
    /// succeeded with what was captured already.
    fn expire(&mut self, now: Option<DateTime<Utc>>) {
        let ran_out = matches!(
            (now, self.payment.hold_expires_at),
            (Some(now), Some(at)) if now >= at
        );
        if ran_out && self.payment.status == GatewayStatus::RequiresCapture {
            self.payment.status = if self.payment.amount_received.is_positive() {
                GatewayStatus::Succeeded
            } else {
                GatewayStatus::Canceled
            };
            self.payment.amount_capturable = Money::zero(self.payment.amount.currency());
        }
    }
}

/// A saved answer to an idempotent request.
#[derive(Debug, Clone)]
enum Reply {
    Payment(GatewayPayment),
    Refund(GatewayRefund),
    Setup(CardSetup),
}

/// An idempotency key's first request (its fingerprint) and answer.
#[derive(Debug, Clone)]
struct Saved {
    fingerprint: String,
    reply: Reply,
    at: Option<DateTime<Utc>>,
}

/// A customer at the gateway.
#[derive(Debug, Default)]
struct Customer {
    /// Attached cards, oldest first (`is_default` is read from `default`).
    cards: Vec<SavedCard>,
    default: Option<String>,
}

impl Customer {
    fn listed(&self, card: &SavedCard) -> SavedCard {
        SavedCard {
            is_default: self.default.as_deref() == Some(card.payment_method.as_str()),
            ..card.clone()
        }
    }
}

/// Everything one connected account (or the platform, `None`) holds: what one makes is not
/// found from another.
#[derive(Debug, Default)]
struct Account {
    customers: BTreeMap<String, Customer>,
    payments: BTreeMap<String, Held>,
    /// Our payment id to its latest attempt's reference.
    ours: BTreeMap<PaymentId, String>,
    /// Our refund id to the payment refunded and the refund.
    refunds: BTreeMap<PaymentId, (String, GatewayRefund)>,
    keys: BTreeMap<String, Saved>,
}

impl Account {
    fn customer_mut(&mut self, id: &str) -> Result<&mut Customer, GatewayError> {
        self.customers
            .get_mut(id)
            .ok_or_else(|| GatewayError::NotFound(format!("No such customer: '{id}'")))
    }

    fn payment_mut(
        &mut self,
        reference: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<&mut Held, GatewayError> {
        let held = self.payments.get_mut(reference).ok_or_else(|| {
            GatewayError::NotFound(format!("No such payment_intent: '{reference}'"))
        })?;
        held.expire(now);
        Ok(held)
    }

    /// The saved answer when the same request was made with `key` before; another request
    /// under a used key is refused, as Stripe does.
    fn replay(
        &self,
        key: &str,
        fingerprint: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Option<Reply>, GatewayError> {
        let Some(saved) = self.keys.get(key) else {
            return Ok(None);
        };
        let lifetime = Duration::hours(KEY_LIFETIME_HOURS);
        if let (Some(now), Some(at)) = (now, saved.at)
            && now - at >= lifetime
        {
            // A key older than Stripe keeps them is a new key.
            return Ok(None);
        }
        if saved.fingerprint == fingerprint {
            Ok(Some(saved.reply.clone()))
        } else {
            Err(invalid(&format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            )))
        }
    }

    fn save(&mut self, key: &str, fingerprint: String, reply: Reply, at: Option<DateTime<Utc>>) {
        let saved = Saved {
            fingerprint,
            reply,
            at,
        };
        self.keys.insert(key.to_owned(), saved);
    }
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<GatewayCall>,
    script: VecDeque<Scripted>,
    next: u64,
    accounts: BTreeMap<Option<String>, Account>,
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{:06}", self.next)
    }

    /// The next scripted outcome; a scripted failure or lost request is returned as the error.
    fn take_script(&mut self) -> Result<Option<Scripted>, GatewayError> {
        match self.script.pop_front() {
            Some(Scripted::Fail(error)) => Err(error),
            Some(Scripted::LostRequest) => Err(GatewayError::UnknownOutcome(
                "timed out before the request arrived".into(),
            )),
            other => Ok(other),
        }
    }

    fn account(&mut self, account: &Option<String>) -> &mut Account {
        self.accounts.entry(account.clone()).or_default()
    }
}

/// The scripted gateway. Clones share state, so a test keeps one to script and inspect.
///
/// Cards: `pm_card_chargeDeclined` is declined (`generic_decline`),
/// `pm_card_chargeDeclinedInsufficientFunds` is declined (`insufficient_funds`),
/// `pm_card_authenticationRequired` needs authentication; any other payment method succeeds
/// when charged. A charge does not check the customer or the card, so that a customer seeded
/// straight into a store (`cus_1` with `pm_card_visa`) can be charged.
///
/// Like Stripe, and like the sandbox:
/// - **Connected accounts** are kept apart: customers, payments, refunds and idempotency keys
///   made on one are not found from another (nor from the platform's, `None`).
/// - **Customers** must be made by [`PaymentGateway::create_customer`] before cards are
///   attached, listed, made default or set up; an unknown one is [`GatewayError::NotFound`].
/// - **Cards** are attached by Stripe's test payment method ids (`pm_card_visa`,
///   `pm_card_mastercard`, `pm_card_amex`, the decline and authentication cards above...) and
///   keep that id; any other id is [`GatewayError::NotFound`]. Lists show the default.
/// - **Idempotency keys**: the same request under a used key gets the first answer; another
///   request under it is [`GatewayError::InvalidRequest`].
/// - **Holds** made by a gateway [on a clock](ScriptedGateway::with_clock) expire 7 days
///   later, and are released then; without a clock they carry no expiry.
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

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a failing test; keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    fn log(&self, operation: &'static str, key: Option<&str>, amount: Option<Money>) {
        self.state().calls.push(GatewayCall {
            operation,
            idempotency_key: key.map(str::to_owned),
            amount,
        });
    }

    fn pay(&self, request: &PaymentRequest, hold: bool) -> Result<GatewayPayment, GatewayError> {
        let now = self.now();
        let fingerprint = format!(
            "{}|{}|{}|{}|{}|{}",
            if hold { "authorize" } else { "charge" },
            request.payment,
            request.card.gateway_customer,
            request.card.payment_method,
            request.amount,
            request.description.as_deref().unwrap_or_default()
        );
        let key = request.idempotency_key.as_str();
        let mut state = self.state();
        if let Some(reply) = state
            .account(&request.account)
            .replay(key, &fingerprint, now)?
        {
            return payment_reply(reply);
        }
        let scripted = state.take_script()?;
        if !request.amount.is_positive() {
            return Err(invalid("This value must be greater than or equal to 1."));
        }
        let zero = Money::zero(request.amount.currency());
        let decline = match (&scripted, request.card.payment_method.as_str()) {
            (Some(Scripted::Decline(code)), _) => Some(code.clone()),
            (_, "pm_card_chargeDeclined") => Some("generic_decline".to_owned()),
            (_, "pm_card_chargeDeclinedInsufficientFunds") => Some("insufficient_funds".to_owned()),
            _ => None,
        };
        let action = scripted == Some(Scripted::RequiresAction)
            || request.card.payment_method == "pm_card_authenticationRequired";
        let status = match (decline, action, hold) {
            (Some(code), _, _) => GatewayStatus::Failed(Failure {
                code: "card_declined".into(),
                message: format!("The card was declined ({code})."),
                decline_code: Some(code),
            }),
            (None, true, _) => GatewayStatus::RequiresAction,
            (None, false, true) => GatewayStatus::RequiresCapture,
            (None, false, false) => GatewayStatus::Succeeded,
        };
        let reference = state.id("pi");
        let holding = status == GatewayStatus::RequiresCapture;
        let payment = GatewayPayment {
            reference: reference.clone(),
            amount_received: if status == GatewayStatus::Succeeded {
                request.amount
            } else {
                zero
            },
            amount_capturable: if holding { request.amount } else { zero },
            status,
            amount: request.amount,
            hold_expires_at: now
                .filter(|_| holding)
                .map(|n| n + Duration::days(HOLD_DAYS)),
        };
        let account = state.account(&request.account);
        account.payments.insert(
            reference.clone(),
            Held {
                payment: payment.clone(),
                refunded: zero,
            },
        );
        account.ours.insert(request.payment.clone(), reference);
        account.save(key, fingerprint, Reply::Payment(payment.clone()), now);
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the request was carried out".into(),
            ));
        }
        Ok(payment)
    }
}

fn invalid(message: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.to_owned(),
        request_id: None,
    }
}

fn arithmetic(error: crate::money::MoneyError) -> GatewayError {
    invalid(&error.to_string())
}

fn no_such_method(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("No such PaymentMethod: '{id}'"))
}

fn another_kind_of_request() -> GatewayError {
    invalid("This idempotency key was used for another kind of request.")
}

fn payment_reply(reply: Reply) -> Result<GatewayPayment, GatewayError> {
    match reply {
        Reply::Payment(payment) => Ok(payment),
        Reply::Refund(_) | Reply::Setup(_) => Err(another_kind_of_request()),
    }
}

#[async_trait]
impl PaymentGateway for ScriptedGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        self.log("create_customer", None, None);
        let mut state = self.state();
        let id = state.id("cus");
        state
            .account(&customer.account)
            .customers
            .insert(id.clone(), Customer::default());
        Ok(id)
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        self.log("list_cards", None, None);
        let mut state = self.state();
        let customer = state.account(&account).customer_mut(customer)?;
        Ok(customer.cards.iter().map(|c| customer.listed(c)).collect())
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.log("attach_card", None, None);
        let exp_year = self.now().map_or(CARD_EXP_YEAR, |now| {
            u32::try_from(now.year() + 3).unwrap_or(CARD_EXP_YEAR)
        });
        let mut state = self.state();
        let customer = state.account(&account).customer_mut(customer)?;
        let &(id, brand, last4) = TEST_CARDS
            .iter()
            .find(|(id, ..)| *id == payment_method)
            .ok_or_else(|| no_such_method(payment_method))?;
        if let Some(attached) = customer.cards.iter().find(|c| c.payment_method == id) {
            return Ok(customer.listed(attached));
        }
        let card = SavedCard {
            payment_method: id.to_owned(),
            brand: brand.into(),
            last4: last4.into(),
            exp_month: 12,
            exp_year,
            is_default: false,
        };
        customer.cards.push(card.clone());
        Ok(card)
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.log("detach_card", None, None);
        let mut state = self.state();
        let mut found = false;
        for customer in state.account(&account).customers.values_mut() {
            let before = customer.cards.len();
            customer
                .cards
                .retain(|c| c.payment_method != payment_method);
            if customer.cards.len() != before {
                found = true;
                if customer.default.as_deref() == Some(payment_method) {
                    customer.default = None;
                }
            }
        }
        if found {
            Ok(())
        } else {
            Err(GatewayError::NotFound(format!(
                "The payment method {payment_method} is not attached to a customer."
            )))
        }
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.log("set_default_card", None, None);
        let mut state = self.state();
        let customer = state.account(&account).customer_mut(customer)?;
        if !customer
            .cards
            .iter()
            .any(|c| c.payment_method == payment_method)
        {
            if !TEST_CARDS.iter().any(|(id, ..)| *id == payment_method) {
                return Err(no_such_method(payment_method));
            }
            return Err(invalid(&format!(
                "The customer does not have a payment method with the ID {payment_method}. The payment method must be attached to the customer."
            )));
        }
        customer.default = Some(payment_method.to_owned());
        Ok(())
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
        let now = self.now();
        let key = request.idempotency_key.as_str();
        let fingerprint = format!(
            "capture|{}|{}|{}|{}",
            request.payment_reference, request.capture, request.amount, request.final_capture
        );
        let mut state = self.state();
        if let Some(reply) = state
            .account(&request.account)
            .replay(key, &fingerprint, now)?
        {
            return payment_reply(reply);
        }
        let scripted = state.take_script()?;
        let account = state.account(&request.account);
        let held = account.payment_mut(&request.payment_reference, now)?;
        if held.payment.status != GatewayStatus::RequiresCapture {
            return Err(invalid("this payment cannot be captured"));
        }
        if !request.amount.is_positive() {
            return Err(invalid("This value must be greater than or equal to 1."));
        }
        if request
            .amount
            .checked_cmp(&held.payment.amount_capturable)
            .map_err(arithmetic)?
            .is_gt()
        {
            return Err(invalid("amount_to_capture exceeds the amount capturable"));
        }
        let received = held
            .payment
            .amount_received
            .checked_add(&request.amount)
            .map_err(arithmetic)?;
        let left = held
            .payment
            .amount_capturable
            .checked_sub(&request.amount)
            .map_err(arithmetic)?;
        held.payment.amount_received = received;
        if request.final_capture || left.is_zero() {
            held.payment.amount_capturable = Money::zero(left.currency());
            held.payment.status = GatewayStatus::Succeeded;
        } else {
            held.payment.amount_capturable = left;
        }
        let answer = held.payment.clone();
        account.save(key, fingerprint, Reply::Payment(answer.clone()), now);
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the capture".into(),
            ));
        }
        Ok(answer)
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        self.log("cancel", Some(&request.idempotency_key), None);
        let now = self.now();
        let key = request.idempotency_key.as_str();
        let fingerprint = format!("cancel|{}", request.payment_reference);
        let mut state = self.state();
        let account = state.account(&request.account);
        if let Some(reply) = account.replay(key, &fingerprint, now)? {
            return payment_reply(reply);
        }
        let held = account.payment_mut(&request.payment_reference, now)?;
        if !matches!(
            held.payment.status,
            GatewayStatus::RequiresCapture
                | GatewayStatus::RequiresAction
                | GatewayStatus::Processing
                | GatewayStatus::Failed(_)
        ) {
            return Err(invalid("this payment cannot be canceled"));
        }
        held.payment.status = GatewayStatus::Canceled;
        held.payment.amount_capturable = Money::zero(held.payment.amount.currency());
        let answer = held.payment.clone();
        account.save(key, fingerprint, Reply::Payment(answer.clone()), now);
        Ok(answer)
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.log(
            "refund",
            Some(&request.idempotency_key),
            Some(request.amount),
        );
        let now = self.now();
        let key = request.idempotency_key.as_str();
        let fingerprint = format!(
            "refund|{}|{}|{}|{}",
            request.payment_reference,
            request.refund,
            request.amount,
            request.reason.as_deref().unwrap_or_default()
        );
        let mut state = self.state();
        match state
            .account(&request.account)
            .replay(key, &fingerprint, now)?
        {
            Some(Reply::Refund(refund)) => return Ok(refund),
            Some(Reply::Payment(_) | Reply::Setup(_)) => return Err(another_kind_of_request()),
            None => {}
        }
        let scripted = state.take_script()?;
        let reference = state.id("re");
        let account = state.account(&request.account);
        let held = account.payment_mut(&request.payment_reference, now)?;
        if !request.amount.is_positive() {
            return Err(invalid("This value must be greater than or equal to 1."));
        }
        let left = held
            .payment
            .amount_received
            .checked_sub(&held.refunded)
            .map_err(arithmetic)?;
        if request
            .amount
            .checked_cmp(&left)
            .map_err(arithmetic)?
            .is_gt()
        {
            return Err(invalid("refund exceeds the amount refundable"));
        }
        held.refunded = held
            .refunded
            .checked_add(&request.amount)
            .map_err(arithmetic)?;
        let refund = GatewayRefund {
            reference,
            status: RefundStatus::Succeeded,
            amount: request.amount,
        };
        account.refunds.insert(
            request.refund.clone(),
            (request.payment_reference.clone(), refund.clone()),
        );
        account.save(key, fingerprint, Reply::Refund(refund.clone()), now);
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the refund".into(),
            ));
        }
        Ok(refund)
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        self.log("find_payment", None, None);
        let now = self.now();
        let mut state = self.state();
        let account = state.account(&account);
        let Some(reference) = account.ours.get(payment).cloned() else {
            return Ok(None);
        };
        Ok(Some(account.payment_mut(&reference, now)?.payment.clone()))
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        self.log("find_refund", None, None);
        let now = self.now();
        let mut state = self.state();
        let account = state.account(&account);
        account.payment_mut(payment_reference, now)?;
        Ok(account
            .refunds
            .get(refund)
            .filter(|(payment, _)| payment == payment_reference)
            .map(|(_, refund)| refund.clone()))
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        customer: &str,
        key: &str,
    ) -> Result<CardSetup, GatewayError> {
        self.log("start_card_setup", Some(key), None);
        let now = self.now();
        let fingerprint = format!("setup|{customer}");
        let mut state = self.state();
        match state.account(&account).replay(key, &fingerprint, now)? {
            Some(Reply::Setup(setup)) => return Ok(setup),
            Some(Reply::Payment(_) | Reply::Refund(_)) => return Err(another_kind_of_request()),
            None => {}
        }
        state.account(&account).customer_mut(customer)?;
        let reference = state.id("seti");
        let setup = CardSetup {
            client_secret: format!("{reference}_secret"),
            reference,
        };
        state
            .account(&account)
            .save(key, fingerprint, Reply::Setup(setup.clone()), now);
        Ok(setup)
    }
}
