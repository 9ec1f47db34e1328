//! [`SandboxGateway`]: the [`PaymentGateway`] port served in process.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::ports::{
    CancelRequest, CaptureRequest, CardSetup, Clock, GatewayError, GatewayPayment, GatewayRefund,
    GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, RefundRequest, RefundStatus,
};

use crate::cards::{self, Behavior, CardError, TestCard};
use crate::config::{Fault, Operation, SandboxConfig, TokenBucket};
use crate::state::{
    CustomerRecord, Intent, Method, RefundRecord, Reply, SandboxCall, Setup, State, status_name,
};

fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.into(),
        request_id: None,
    }
}

fn no_such_method(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("No such PaymentMethod: '{id}'"))
}

/// The message Stripe gives when a card that declines is saved.
fn attach_declined(behavior: Behavior) -> GatewayError {
    let message = match behavior {
        Behavior::Decline {
            decline_code: "insufficient_funds",
            ..
        } => "Your card has insufficient funds.",
        Behavior::Decline {
            code: "expired_card",
            ..
        } => "Your card has expired.",
        Behavior::Decline {
            code: "incorrect_cvc",
            ..
        } => "Your card's security code is incorrect.",
        _ => "Your card was declined.",
    };
    invalid(message)
}

/// An in-process gateway that behaves like Stripe's test mode. Clones share their state, so a
/// test keeps one to inspect and to inject faults into while the service holds another.
///
/// - **Cards**: Stripe's test payment methods by id (`pm_card_visa`, `pm_card_mastercard`,
///   `pm_card_amex`, `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`,
///   `pm_card_visa_chargeDeclinedExpiredCard`, `pm_card_chargeDeclinedIncorrectCvc`,
///   `pm_card_chargeDeclinedProcessingError`, `pm_card_chargeCustomerFail`,
///   `pm_card_authenticationRequired`...), and card numbers typed into a card form through
///   [`SandboxGateway::create_payment_method_from_card`] (`4242424242424242` succeeds,
///   `4000000000000002` declines, `4000000000009995` lacks funds, `4000002500003155` needs
///   authentication; any other valid number succeeds). As on Stripe, attaching a test payment
///   method saves a copy under a new id, and a card that declines cannot be saved (except
///   `chargeCustomerFail`); decline cards are charged by their test id directly.
/// - **Holds** last [`SandboxConfig::hold_duration`] (7 days) by the core's [`Clock`]; past
///   that they show as canceled and cannot be captured. Several partial captures are allowed
///   with `final_capture: false` (Stripe's multicapture); a final capture releases the rest.
/// - **Refunds** are bounded by what was captured and not yet refunded.
/// - **Idempotency keys** per account, with Stripe's semantics: the same request under a used
///   key gets the first answer; another request under it is refused.
/// - **Connected accounts** are kept apart: what one makes is not found from another.
/// - **Customers** are made once per account and our customer id, as the Stripe adapter's
///   key derived from that id makes them.
#[derive(Clone)]
pub struct SandboxGateway {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    config: SandboxConfig,
    state: Mutex<State>,
    limiter: Option<Mutex<TokenBucket>>,
}

impl fmt::Debug for SandboxGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxGateway")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock only happens in a failing test; the state is still
    // usable for the others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SandboxGateway {
    /// A sandbox with the default settings, on the core's clock.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_config(clock, SandboxConfig::default())
    }

    /// A sandbox with these settings, on the core's clock.
    pub fn with_config(clock: Arc<dyn Clock>, config: SandboxConfig) -> Self {
        let limiter = config
            .rate_limit
            .map(|rate| Mutex::new(TokenBucket::new(rate)));
        SandboxGateway {
            inner: Arc::new(Inner {
                clock,
                config,
                state: Mutex::new(State::default()),
                limiter,
            }),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Injects `fault` into the next `times` calls, whatever they are.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.push_fault(None, fault, times);
    }

    /// Injects `fault` into the next `times` calls of one operation.
    pub fn inject_on(&self, operation: Operation, fault: Fault, times: usize) {
        self.push_fault(Some(operation), fault, times);
    }

    fn push_fault(&self, operation: Option<Operation>, fault: Fault, times: usize) {
        if times > 0 {
            self.state().faults.push(crate::state::FaultRule {
                operation,
                fault,
                remaining: times,
            });
        }
    }

    /// How many injected faults have not fired yet.
    pub fn pending_faults(&self) -> usize {
        self.state().faults.iter().map(|r| r.remaining).sum()
    }

    /// The calls received, oldest first (rate-limited and faulted ones included): the latest
    /// [`SandboxConfig::call_log_limit`] of them.
    pub fn calls(&self) -> Vec<SandboxCall> {
        self.state().calls.iter().cloned().collect()
    }

    /// How many charges and holds the account (or the platform, `None`) holds: attempts
    /// actually made, replays not counted.
    pub fn payment_attempts(&self, account: Option<&str>) -> usize {
        self.state()
            .accounts
            .get(&account.map(str::to_owned))
            .map_or(0, |a| a.intents.len())
    }

    /// A charge or hold as it stands now (a hold past its expiry shows as canceled).
    pub fn payment(&self, account: Option<&str>, reference: &str) -> Option<GatewayPayment> {
        let now = self.now();
        let mut state = self.state();
        let account = state.accounts.get_mut(&account.map(str::to_owned))?;
        account.intent_mut(reference, now).ok().map(|i| i.view())
    }

    /// Makes a payment method from a card typed into a card form, as Stripe.js would. Only
    /// the brand, the last four digits and the expiry are kept, never the number or the
    /// security code. The method can then be attached (or charged) under any one account,
    /// which keeps it.
    ///
    /// # Errors
    /// A [`CardError`] worded for the customer when the number, expiry or security code is not
    /// valid, or the card has expired.
    pub fn create_payment_method_from_card(
        &self,
        number: &str,
        exp_month: u32,
        exp_year: u32,
        cvc: &str,
    ) -> Result<String, CardError> {
        let digits = cards::normalize_number(number)?;
        let exp_year = match exp_year {
            0..=99 => 2000 + exp_year,
            2000..=2099 => exp_year,
            _ => return Err(CardError::InvalidExpiry),
        };
        if !(1..=12).contains(&exp_month) {
            return Err(CardError::InvalidExpiry);
        }
        let now = self.now();
        let this_month = (i64::from(now.year()), now.month());
        if (i64::from(exp_year), exp_month) < this_month {
            return Err(CardError::Expired);
        }
        let brand = cards::brand_of(&digits);
        let cvc_length = if brand == "amex" { 4 } else { 3 };
        if cvc.len() != cvc_length || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::InvalidCvc);
        }
        let test = cards::by_number(&digits);
        let mut state = self.state();
        let id = state.new_id("pm");
        let seq = state.seq();
        let method = Method {
            id: id.clone(),
            brand: brand.to_owned(),
            last4: digits[digits.len() - 4..].to_owned(),
            exp_month,
            exp_year,
            behavior: test.map_or(Behavior::Succeed, |c| c.behavior),
            attachable: test.is_none_or(|c| c.attachable),
            customer: None,
            spent: false,
            seq,
        };
        state.loose_methods.insert(id.clone(), method);
        Ok(id)
    }

    /// Finishes a card set-up started by [`PaymentGateway::start_card_setup`] with a payment
    /// method (a test id or one made by the card form): the card is saved on the set-up's
    /// customer, as Stripe does when the customer confirms the hosted page.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown set-up or payment method,
    /// [`GatewayError::InvalidRequest`] when the card declines.
    pub fn confirm_card_setup(
        &self,
        account: Option<&str>,
        setup: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        let account = account.map(str::to_owned);
        let now = self.now();
        let mut state = self.state();
        let customer = state
            .account(&account)
            .setups
            .get(setup)
            .map(|s| s.customer.clone())
            .ok_or_else(|| GatewayError::NotFound(format!("No such setupintent: '{setup}'")))?;
        let card = attach(&mut state, &account, &customer, payment_method, now)?;
        if let Some(s) = state.account(&account).setups.get_mut(setup) {
            s.payment_method = Some(card.payment_method.clone());
        }
        Ok(card)
    }

    /// The payment method a card set-up was finished with, once the customer finished it.
    pub fn card_setup_payment_method(&self, account: Option<&str>, setup: &str) -> Option<String> {
        self.state()
            .accounts
            .get(&account.map(str::to_owned))?
            .setups
            .get(setup)?
            .payment_method
            .clone()
    }

    /// Keeps a call in the bounded log.
    fn log(&self, state: &mut State, call: SandboxCall) {
        let limit = self.inner.config.call_log_limit;
        if limit == 0 {
            return;
        }
        while state.calls.len() >= limit {
            state.calls.pop_front();
        }
        state.calls.push_back(call);
    }

    /// Serves one call: latency, rate limit, injected fault, then `work` under the lock, and
    /// an entry in the call log.
    async fn serve<T>(
        &self,
        operation: Operation,
        account: &Option<String>,
        key: Option<&str>,
        work: impl FnOnce(&mut State, DateTime<Utc>) -> Result<T, GatewayError>,
    ) -> Result<T, GatewayError> {
        if !self.inner.config.latency.is_zero() {
            tokio::time::sleep(self.inner.config.latency).await;
        }
        let mut call = SandboxCall {
            operation,
            account: account.clone(),
            idempotency_key: key.map(str::to_owned),
            fault: None,
            replayed: false,
            error: None,
        };
        let limited = self
            .inner
            .limiter
            .as_ref()
            .is_some_and(|bucket| !lock(bucket).try_take(Instant::now()));
        let mut state = self.state();
        if limited {
            call.error = Some(GatewayError::RateLimited);
            self.log(&mut state, call);
            return Err(GatewayError::RateLimited);
        }
        let fault = state.take_fault(operation);
        call.fault = fault;
        let early = match fault {
            Some(Fault::ConnectionError) => Some(GatewayError::Unavailable(format!(
                "sandbox: could not connect for {operation} (injected fault); nothing was done"
            ))),
            Some(Fault::ServerError) => Some(GatewayError::UnknownOutcome(format!(
                "sandbox: the gateway answered 500 to {operation} (injected fault)"
            ))),
            Some(Fault::TimeoutAfterCharge) | None => None,
        };
        if let Some(error) = early {
            call.error = Some(error.clone());
            self.log(&mut state, call);
            return Err(error);
        }
        state.replayed = false;
        let result = work(&mut state, self.now());
        call.replayed = state.replayed;
        let result = match (result, fault) {
            // Whatever the call did stands; only its answer is lost.
            (_, Some(Fault::TimeoutAfterCharge)) => Err(GatewayError::UnknownOutcome(format!(
                "sandbox: {operation} was carried out but its answer was lost (injected timeout)"
            ))),
            (result, _) => result,
        };
        call.error = result.as_ref().err().cloned();
        self.log(&mut state, call);
        result
    }

    async fn pay(
        &self,
        request: &PaymentRequest,
        hold: bool,
    ) -> Result<GatewayPayment, GatewayError> {
        let operation = if hold {
            Operation::Authorize
        } else {
            Operation::Charge
        };
        let fingerprint = format!(
            "{operation}|{}|{}|{}|{}|{}",
            request.payment,
            request.card.gateway_customer,
            request.card.payment_method,
            request.amount,
            request.description.as_deref().unwrap_or_default()
        );
        let key = request.idempotency_key.as_str();
        let account = &request.account;
        let hold_duration = self.inner.config.hold_duration;
        self.serve(operation, account, Some(key), |state, now| {
            if let Some(Reply::Payment(answer)) =
                state.account(account).replay(key, &fingerprint, now)?
            {
                state.replayed = true;
                return Ok(answer);
            }
            if !request.amount.is_positive() {
                return Err(invalid("This value must be greater than or equal to 1."));
            }
            let customer = &request.card.gateway_customer;
            state.account(account).customer(customer)?;
            let behavior =
                method_for_payment(state, account, customer, &request.card.payment_method)?;
            let id = state.new_id("pi");
            let zero = Money::zero(request.amount.currency());
            let status = match (behavior, hold) {
                (Behavior::Decline { code, decline_code }, _) => {
                    GatewayStatus::Failed(cards::failure(code, Some(decline_code)))
                }
                // Off-session, Stripe declines with `authentication_required`: the customer has
                // to come back and confirm, which is what "requires action" means to the core.
                (Behavior::RequireAuthentication, _) => GatewayStatus::RequiresAction,
                (Behavior::Succeed, true) => GatewayStatus::RequiresCapture,
                (Behavior::Succeed, false) => GatewayStatus::Succeeded,
            };
            let holding = status == GatewayStatus::RequiresCapture;
            let intent = Intent {
                id: id.clone(),
                amount: request.amount,
                received: if status == GatewayStatus::Succeeded {
                    request.amount
                } else {
                    zero
                },
                capturable: if holding { request.amount } else { zero },
                refunded: zero,
                status,
                hold_expires_at: holding.then(|| now + hold_duration),
            };
            let answer = intent.view();
            let acct = state.account(account);
            acct.intents.insert(id.clone(), intent);
            acct.by_our_payment
                .entry(request.payment.clone())
                .or_default()
                .push(id);
            acct.save(
                key,
                fingerprint.clone(),
                Reply::Payment(answer.clone()),
                now,
            );
            Ok(answer)
        })
        .await
    }
}

/// The behaviour of the card a payment uses, checking that the customer may use it. A card
/// made by the card form is kept by the account that uses it first.
fn method_for_payment(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
) -> Result<Behavior, GatewayError> {
    if let Some(card) = cards::by_test_payment_method(id) {
        return Ok(card.behavior);
    }
    if let Some(method) = state.loose_methods.remove(id) {
        state.account(account).methods.insert(id.to_owned(), method);
    }
    let method = state
        .account(account)
        .methods
        .get_mut(id)
        .ok_or_else(|| no_such_method(id))?;
    match method.customer.as_deref() {
        Some(owner) if owner == customer => Ok(method.behavior),
        Some(_) => Err(invalid(format!(
            "The provided PaymentMethod {id} belongs to another customer."
        ))),
        None if method.spent => Err(invalid(format!(
            "The provided PaymentMethod {id} was previously used without being attached to a Customer or was detached from a Customer, and may not be used again."
        ))),
        None => {
            // Used once without being saved: Stripe lets it be used only this once.
            method.spent = true;
            Ok(method.behavior)
        }
    }
}

/// Attaches a payment method to a customer; a test id is saved as a copy with its own id.
fn attach(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SavedCard, GatewayError> {
    state.account(account).customer(customer)?;
    let test: Option<&'static TestCard> = cards::by_test_payment_method(id);
    if let Some(card) = test {
        if !card.attachable {
            return Err(attach_declined(card.behavior));
        }
        let copy = state.new_id("pm");
        let seq = state.seq();
        let method = Method {
            id: copy.clone(),
            brand: card.brand.to_owned(),
            last4: card.last4().to_owned(),
            // Stripe's test cards expire in the future: December, a few years on.
            exp_month: 12,
            exp_year: u32::try_from(now.year() + 3).unwrap_or(2099),
            behavior: card.behavior,
            attachable: true,
            customer: Some(customer.to_owned()),
            spent: false,
            seq,
        };
        let saved = method.saved_card(false);
        state.account(account).methods.insert(copy, method);
        return Ok(saved);
    }
    if let Some(method) = state.loose_methods.remove(id) {
        state.account(account).methods.insert(id.to_owned(), method);
    }
    let acct = state.account(account);
    let is_default = acct
        .customers
        .get(customer)
        .and_then(|c| c.default_method.as_deref())
        == Some(id);
    let method = acct.methods.get_mut(id).ok_or_else(|| no_such_method(id))?;
    match method.customer.as_deref() {
        Some(owner) if owner == customer => return Ok(method.saved_card(is_default)),
        Some(_) => {
            return Err(invalid(
                "The payment method you provided has already been attached to a customer.",
            ));
        }
        None if method.spent => {
            return Err(invalid(format!(
                "This PaymentMethod {id} was previously used without being attached to a Customer or was detached from a Customer, and may not be used again."
            )));
        }
        None => {}
    }
    if !method.attachable {
        return Err(attach_declined(method.behavior));
    }
    method.customer = Some(customer.to_owned());
    Ok(method.saved_card(is_default))
}

fn random_secret() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        let account = &customer.account;
        // Made once per our id, name and email, like the Stripe adapter's derived key does.
        let ours = (
            customer.business.clone(),
            customer.customer.clone(),
            customer.name.clone(),
            customer.email.clone(),
        );
        self.serve(Operation::CreateCustomer, account, None, |state, _| {
            let existing = state.account(account).by_our_customer.get(&ours).cloned();
            if let Some(existing) = existing {
                state.replayed = true;
                return Ok(existing);
            }
            let id = state.new_id("cus");
            let acct = state.account(account);
            acct.customers.insert(
                id.clone(),
                CustomerRecord {
                    default_method: None,
                },
            );
            acct.by_our_customer.insert(ours.clone(), id.clone());
            Ok(id)
        })
        .await
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        self.serve(Operation::ListCards, &account, None, |state, _| {
            let acct = state.account(&account);
            let default = acct.customer(gateway_customer)?.default_method.clone();
            let mut methods: Vec<&Method> = acct
                .methods
                .values()
                .filter(|m| m.customer.as_deref() == Some(gateway_customer))
                .collect();
            // Newest first, as Stripe lists them.
            methods.sort_by_key(|m| std::cmp::Reverse(m.seq));
            Ok(methods
                .into_iter()
                .map(|m| m.saved_card(default.as_deref() == Some(m.id.as_str())))
                .collect())
        })
        .await
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.serve(Operation::AttachCard, &account, None, |state, now| {
            attach(state, &account, gateway_customer, payment_method, now)
        })
        .await
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.serve(Operation::DetachCard, &account, None, |state, _| {
            let acct = state.account(&account);
            let method = acct
                .methods
                .get_mut(payment_method)
                .ok_or_else(|| no_such_method(payment_method))?;
            let Some(customer) = method.customer.take() else {
                return Err(GatewayError::NotFound(format!(
                    "The payment method {payment_method} is not attached to a customer."
                )));
            };
            method.spent = true;
            if let Some(c) = acct.customers.get_mut(&customer)
                && c.default_method.as_deref() == Some(payment_method)
            {
                c.default_method = None;
            }
            Ok(())
        })
        .await
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.serve(Operation::SetDefaultCard, &account, None, |state, _| {
            let acct = state.account(&account);
            acct.customer(gateway_customer)?;
            let method = acct
                .methods
                .get(payment_method)
                .ok_or_else(|| no_such_method(payment_method))?;
            if method.customer.as_deref() != Some(gateway_customer) {
                return Err(invalid(format!(
                    "The customer does not have a payment method with the ID {payment_method}. The payment method must be attached to the customer."
                )));
            }
            if let Some(c) = acct.customers.get_mut(gateway_customer) {
                c.default_method = Some(payment_method.to_owned());
            }
            Ok(())
        })
        .await
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.pay(request, false).await
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.pay(request, true).await
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        let key = request.idempotency_key.as_str();
        let account = &request.account;
        let fingerprint = format!(
            "capture|{}|{}|{}|{}",
            request.payment_reference, request.capture, request.amount, request.final_capture
        );
        self.serve(Operation::Capture, account, Some(key), |state, now| {
            if let Some(Reply::Payment(answer)) = state.account(account).replay(key, &fingerprint, now)? {
                state.replayed = true;
                return Ok(answer);
            }
            let acct = state.account(account);
            let intent = acct.intent_mut(&request.payment_reference, now)?;
            if intent.status != GatewayStatus::RequiresCapture {
                let why = if intent.expired(now) {
                    format!(
                        " The hold expired at {} and was released.",
                        intent.hold_expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                    )
                } else {
                    String::new()
                };
                return Err(invalid(format!(
                    "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.{why}",
                    status_name(&intent.status)
                )));
            }
            if request.amount.currency() != intent.amount.currency() {
                return Err(invalid(format!(
                    "The capture is in {}, the hold in {}.",
                    request.amount.currency(),
                    intent.amount.currency()
                )));
            }
            if !request.amount.is_positive() {
                return Err(invalid("This value must be greater than or equal to 1."));
            }
            if request.amount.checked_cmp(&intent.capturable).map_err(|e| invalid(e.to_string()))?.is_gt() {
                return Err(invalid(format!(
                    "The amount to capture ({}) cannot be greater than the amount capturable ({}) on this PaymentIntent.",
                    request.amount, intent.capturable
                )));
            }
            let arithmetic = |e: billing_core::money::MoneyError| invalid(e.to_string());
            intent.received = intent.received.checked_add(&request.amount).map_err(arithmetic)?;
            let left = intent.capturable.checked_sub(&request.amount).map_err(arithmetic)?;
            if request.final_capture || left.is_zero() {
                // A final capture releases whatever it did not take.
                intent.capturable = Money::zero(left.currency());
                intent.status = GatewayStatus::Succeeded;
            } else {
                intent.capturable = left;
            }
            let answer = intent.view();
            acct.save(key, fingerprint.clone(), Reply::Payment(answer.clone()), now);
            Ok(answer)
        })
        .await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        let key = request.idempotency_key.as_str();
        let account = &request.account;
        let fingerprint = format!("cancel|{}", request.payment_reference);
        self.serve(Operation::Cancel, account, Some(key), |state, now| {
            if let Some(Reply::Payment(answer)) = state.account(account).replay(key, &fingerprint, now)? {
                state.replayed = true;
                return Ok(answer);
            }
            let acct = state.account(account);
            let intent = acct.intent_mut(&request.payment_reference, now)?;
            let cancelable = matches!(
                intent.status,
                GatewayStatus::RequiresCapture
                    | GatewayStatus::RequiresAction
                    | GatewayStatus::Processing
                    | GatewayStatus::Failed(_)
            );
            if !cancelable {
                return Err(invalid(format!(
                    "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                    status_name(&intent.status)
                )));
            }
            intent.status = GatewayStatus::Canceled;
            intent.capturable = Money::zero(intent.amount.currency());
            let answer = intent.view();
            acct.save(key, fingerprint.clone(), Reply::Payment(answer.clone()), now);
            Ok(answer)
        })
        .await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        let key = request.idempotency_key.as_str();
        let account = &request.account;
        let fingerprint = format!(
            "refund|{}|{}|{}|{}",
            request.payment_reference,
            request.refund,
            request.amount,
            request.reason.as_deref().unwrap_or_default()
        );
        self.serve(Operation::Refund, account, Some(key), |state, now| {
            if let Some(Reply::Refund(answer)) =
                state.account(account).replay(key, &fingerprint, now)?
            {
                state.replayed = true;
                return Ok(answer);
            }
            let id = state.new_id("re");
            let acct = state.account(account);
            let intent = acct.intent_mut(&request.payment_reference, now)?;
            if request.amount.currency() != intent.amount.currency() {
                return Err(invalid(format!(
                    "The refund is in {}, the payment in {}.",
                    request.amount.currency(),
                    intent.amount.currency()
                )));
            }
            if !request.amount.is_positive() {
                return Err(invalid("This value must be greater than or equal to 1."));
            }
            let arithmetic = |e: billing_core::money::MoneyError| invalid(e.to_string());
            if !intent.received.is_positive() {
                return Err(invalid(format!(
                    "This PaymentIntent ({}) does not have a successful charge to refund.",
                    intent.id
                )));
            }
            let left = intent
                .received
                .checked_sub(&intent.refunded)
                .map_err(arithmetic)?;
            if left.is_zero() {
                return Err(invalid(format!(
                    "Charge for {} has already been refunded.",
                    intent.id
                )));
            }
            if request
                .amount
                .checked_cmp(&left)
                .map_err(arithmetic)?
                .is_gt()
            {
                return Err(invalid(format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({left})",
                    request.amount
                )));
            }
            intent.refunded = intent
                .refunded
                .checked_add(&request.amount)
                .map_err(arithmetic)?;
            let answer = GatewayRefund {
                reference: id,
                status: RefundStatus::Succeeded,
                amount: request.amount,
            };
            acct.refunds.push(RefundRecord {
                refund: request.refund.clone(),
                intent: request.payment_reference.clone(),
                answer: answer.clone(),
            });
            acct.save(key, fingerprint.clone(), Reply::Refund(answer.clone()), now);
            Ok(answer)
        })
        .await
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        self.serve(Operation::FindPayment, &account, None, |state, now| {
            let acct = state.account(&account);
            // The latest attempt for our id, as a search sorted by date would give.
            let Some(reference) = acct
                .by_our_payment
                .get(payment)
                .and_then(|ids| ids.last())
                .cloned()
            else {
                return Ok(None);
            };
            Ok(Some(acct.intent_mut(&reference, now)?.view()))
        })
        .await
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        self.serve(Operation::FindRefund, &account, None, |state, now| {
            let acct = state.account(&account);
            acct.intent_mut(payment_reference, now)?;
            Ok(acct
                .refunds
                .iter()
                .rev()
                .find(|r| r.intent == payment_reference && &r.refund == refund)
                .map(|r| r.answer.clone()))
        })
        .await
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        let fingerprint = format!("setup|{gateway_customer}");
        self.serve(
            Operation::StartCardSetup,
            &account,
            Some(idempotency_key),
            |state, now| {
                if let Some(Reply::Setup(answer)) =
                    state
                        .account(&account)
                        .replay(idempotency_key, &fingerprint, now)?
                {
                    state.replayed = true;
                    return Ok(answer);
                }
                state.account(&account).customer(gateway_customer)?;
                let id = state.new_id("seti");
                let answer = CardSetup {
                    client_secret: format!("{id}_secret_{}", random_secret()),
                    reference: id.clone(),
                };
                let acct = state.account(&account);
                acct.setups.insert(
                    id,
                    Setup {
                        customer: gateway_customer.to_owned(),
                        payment_method: None,
                    },
                );
                acct.save(
                    idempotency_key,
                    fingerprint.clone(),
                    Reply::Setup(answer.clone()),
                    now,
                );
                Ok(answer)
            },
        )
        .await
    }
}
