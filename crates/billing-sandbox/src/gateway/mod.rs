//! [`SandboxGateway`]: the [`PaymentGateway`] port served in process.
//!
//! The gateway's own machinery (latency, rate limit, faults, the call log) is here; what each
//! call does is in one module per area: [`customers`] (and their cards), [`payments`],
//! [`holds`] and [`refunds`].

mod customers;
mod holds;
mod payments;
mod refunds;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::ports::{
    CancelRequest, CaptureRequest, CardSetup, Clock, GatewayError, GatewayPayment, GatewayRefund,
    NewGatewayCustomer, PaymentGateway, PaymentRequest, RefundRequest,
};

use crate::config::{Fault, Operation, SandboxConfig, TokenBucket};
use crate::state::{SandboxCall, State};

fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.into(),
        request_id: None,
    }
}

fn no_such_method(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("No such PaymentMethod: '{id}'"))
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
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        customers::create_customer(self, customer).await
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        customers::list_cards(self, account, gateway_customer).await
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        customers::attach_card(self, account, gateway_customer, payment_method).await
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        customers::detach_card(self, account, payment_method).await
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        customers::set_default_card(self, account, gateway_customer, payment_method).await
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        payments::pay(self, request, false).await
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        payments::pay(self, request, true).await
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        holds::capture(self, request).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        holds::cancel(self, request).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        refunds::refund(self, request).await
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        payments::find_payment(self, account, payment).await
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        refunds::find_refund(self, account, payment_reference, refund).await
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        customers::start_card_setup(self, account, gateway_customer, idempotency_key).await
    }
}
