//! [`SandboxGateway`]: the [`PaymentGateway`](billing_core::ports::PaymentGateway) port served
//! in process.
//!
//! The gateway's own machinery (latency, rate limit, faults, the call log, the journal) is
//! here; the port's methods are in [`port`], and what each call does in one module per area:
//! [`customers`] (and their cards), [`setups`], [`payments`], [`holds`], [`refunds`],
//! [`amounts`] and [`authentication`] (3-D Secure challenges and the events they leave).

mod amounts;
mod authentication;
mod customers;
mod holds;
mod payments;
mod port;
mod refunds;
mod setups;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;

use billing_core::ports::{Clock, GatewayError, GatewayPayment};

use crate::config::{Fault, Operation, SandboxConfig, TokenBucket};
use crate::journal::{self, JournalError};
use crate::state::{FaultRule, SandboxCall, State};

pub(crate) use authentication::{ChallengeAnswer, ChallengePage};

fn invalid(message: impl Into<String>) -> GatewayError {
    GatewayError::InvalidRequest {
        message: message.into(),
        request_id: None,
    }
}

/// A key already used by another request: that request was carried out and may have moved
/// money, so this is never "nothing done".
fn key_reused(message: &str) -> GatewayError {
    GatewayError::UnknownOutcome(message.to_owned())
}

fn no_such_method(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("No such PaymentMethod: '{id}'"))
}

/// A call was carried out in memory but could not be written to the data folder: whether it
/// survives a restart is unknown, which is what the caller must be told.
fn unrecorded(operation: &str, error: &JournalError) -> GatewayError {
    GatewayError::UnknownOutcome(format!(
        "sandbox: {operation} was carried out but could not be written to its data folder ({error})"
    ))
}

/// A random secret (client secrets, challenge tokens).
fn random_secret() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// An in-process gateway that behaves like Stripe's test mode. Clones share their state, so a
/// test keeps one to inspect and to inject faults into while the service holds another.
///
/// - **Cards**: Stripe's test payment methods by id (`pm_card_visa`, `pm_card_mastercard`,
///   `pm_card_amex`, `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`,
///   `pm_card_visa_chargeDeclinedExpiredCard`, `pm_card_chargeDeclinedIncorrectCvc`,
///   `pm_card_chargeDeclinedProcessingError`, `pm_card_chargeCustomerFail`...), and card
///   numbers typed into a card form through
///   [`SandboxGateway::create_payment_method_from_card`] (`4242424242424242` succeeds,
///   `4000000000000002` declines, `4000000000009995` lacks funds; any other valid number
///   succeeds). As on Stripe, attaching a test payment method saves a copy under a new id, and
///   a card that declines cannot be saved (except `chargeCustomerFail`); decline cards are
///   charged by their test id directly.
/// - **3-D Secure**: `4000 0027 6000 3184` (`pm_card_authenticationRequired`) and
///   `4000 0000 0000 3220` (`pm_card_threeDSecure2Required`) always ask;
///   `4000 0025 0000 3155` (`pm_card_authenticationRequiredOnSetup`) asks on-session and when
///   set up, and charges off-session once set up (by a card set-up, or a payment that saved it
///   after the customer authenticated). Off-session, a card that asks is declined
///   (`authentication_required`). On-session, the payment or set-up waits
///   (`RequiresAction`) with a next action naming the sandbox's own challenge page
///   ([`SandboxGateway::challenge_pages`]), where the customer completes or fails it.
/// - **Amounts** follow Stripe's rules (`billing-stripe-rules`): its currencies, its unit for
///   each, its minimum charge, at most eight digits; a charge of another amount is refused.
/// - **Holds** last [`SandboxConfig::hold_duration`] (7 days) by the core's [`Clock`]; past
///   that they are released (`Expired`) and cannot be captured. Holds can be captured in
///   several parts (`final_capture: false`) on the accounts
///   [`SandboxConfig::multicapture`] allows; a final capture releases the rest.
/// - **Refunds** are bounded by what was captured and not yet refunded.
/// - **Idempotency keys** per account, with Stripe's semantics: the same request under a used
///   key gets the first answer; another request under it is refused; a key is forgotten 24
///   hours (on the core's clock) after its first use.
/// - **Connected accounts** are kept apart: what one makes is not found from another.
/// - **Customers** are made once per account and our customer id, as the Stripe adapter's
///   key derived from that id makes them.
/// - **Lookups** are immediate: a payment is found by our id as soon as it is made (no search
///   lag).
/// - **Events** ([`PaymentGateway::events_since`](billing_core::ports::PaymentGateway::events_since))
///   are recorded for what changes without an API call answering it — a challenge the
///   customer completed or failed, a hold that expired — which is what webhooks would bring.
/// - **Kept in a data folder** with [`SandboxGateway::open`]: every record survives a restart.
#[derive(Clone)]
pub struct SandboxGateway {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    config: SandboxConfig,
    state: Mutex<State>,
    limiter: Option<Mutex<TokenBucket>>,
    /// Connected accounts made through onboarding, and their links.
    accounts: crate::connect::AccountsCell,
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
    /// A sandbox with the default settings, on the core's clock, kept in memory only.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_config(clock, SandboxConfig::default())
    }

    /// A sandbox with these settings, on the core's clock, kept in memory only.
    pub fn with_config(clock: Arc<dyn Clock>, config: SandboxConfig) -> Self {
        Self::with_state(clock, config, State::default())
    }

    /// A sandbox kept in the data folder `dir` (made if missing): its customers, cards,
    /// payments, set-ups, refunds, idempotency keys and events are read back from its journal
    /// (`sandbox-journal.jsonl`), and every call writes what it changed there before it
    /// answers. A card saved before a restart can be charged after it, and payments left
    /// pending are found again. One process uses a folder at a time.
    ///
    /// # Errors
    /// [`JournalError`] when the folder cannot be made, read or written, or its journal has a
    /// line this build cannot read (other than a last line cut off by a killed process).
    pub fn open(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        config: SandboxConfig,
    ) -> Result<Self, JournalError> {
        let state = journal::open(dir.as_ref(), clock.now(), config.sync_writes)?;
        let accounts =
            crate::connect::Accounts::open(dir.as_ref()).map_err(|source| JournalError::Io {
                path: dir.as_ref().join(crate::connect::ACCOUNTS_FILE),
                source,
            })?;
        let sandbox = Self::with_state(clock, config, state);
        *sandbox
            .inner
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = accounts;
        Ok(sandbox)
    }

    fn with_state(clock: Arc<dyn Clock>, config: SandboxConfig, state: State) -> Self {
        let limiter = config
            .rate_limit
            .map(|rate| Mutex::new(TokenBucket::new(rate)));
        SandboxGateway {
            inner: Arc::new(Inner {
                clock,
                config,
                state: Mutex::new(state),
                limiter,
                accounts: Mutex::default(),
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

    fn challenge_base(&self) -> &str {
        &self.inner.config.challenge_base
    }

    pub(crate) fn connect_accounts(&self) -> &crate::connect::AccountsCell {
        &self.inner.accounts
    }

    pub(crate) fn now_for_connect(&self) -> DateTime<Utc> {
        self.now()
    }

    pub(crate) fn challenge_base_for_connect(&self) -> &str {
        self.challenge_base()
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
            self.state().faults.push(FaultRule {
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

    /// A charge or hold as it stands now (a hold past its expiry shows as expired).
    pub fn payment(&self, account: Option<&str>, reference: &str) -> Option<GatewayPayment> {
        let now = self.now();
        let mut state = self.state();
        let account = account.map(str::to_owned);
        if !state.accounts.contains_key(&account) {
            return None;
        }
        let found = state
            .account(&account)
            .intent(reference, now)
            .ok()
            .map(|i| i.view(self.challenge_base()));
        // Only a hold's expiry can have changed here; were its write to fail, the expiry is
        // worked out again from the hold's time after a restart, so nothing is lost.
        let _ = state.flush();
        found
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

    /// Serves one call: latency, rate limit, injected fault, then `work` under the lock, what
    /// it changed written to the journal, and an entry in the call log.
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
        let result = match (state.flush(), result, fault) {
            (Err(error), _, _) => Err(unrecorded(operation.name(), &error)),
            // Whatever the call did stands; only its answer is lost.
            (Ok(()), _, Some(Fault::TimeoutAfterCharge)) => {
                Err(GatewayError::UnknownOutcome(format!(
                    "sandbox: {operation} was carried out but its answer was lost (injected timeout)"
                )))
            }
            (Ok(()), result, _) => result,
        };
        call.error = result.as_ref().err().cloned();
        self.log(&mut state, call);
        result
    }
}
