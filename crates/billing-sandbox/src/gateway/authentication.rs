//! 3-D Secure challenges, completed or failed by the customer on the sandbox's page (or by a
//! test through [`SandboxGateway::authenticate`]); and the events the sandbox records for what
//! changes without an API call answering it.

use chrono::{DateTime, Utc};

use billing_core::money::Money;
use billing_core::ports::{GatewayError, GatewayEvent, GatewayStatus};

use crate::cards;
use crate::config::Operation;
use crate::journal::JournalError;
use crate::state::{SetupStage, State, event_type};

use super::customers::{attach_set_up, owned_elsewhere};
use super::payments::go_through;
use super::{SandboxGateway, invalid};

/// What the challenge page of a payment or set-up shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChallengePage {
    /// `pi_...` or `seti_...`.
    pub(crate) id: String,
    /// The payment's amount; `None` for saving a card.
    pub(crate) amount: Option<Money>,
    /// The card's brand and last four digits, when known.
    pub(crate) card: Option<(String, String)>,
}

/// Where the customer's browser goes once the challenge is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChallengeAnswer {
    /// Back to the page that asked, with Stripe's parameters.
    Return(String),
    /// Nowhere to go back to (an intent confirmed without a return URL).
    Done {
        /// Whether the customer completed it.
        approved: bool,
    },
}

impl SandboxGateway {
    /// The customer completes (`approve`) or fails the 3-D Secure challenge a payment
    /// (`pi_...`) or a card set-up (`seti_...`) waits for, as on the challenge page: a payment
    /// then succeeds (a hold is placed), a set-up saves its card; a failed challenge fails
    /// them (`payment_intent_authentication_failure`, `setup_intent_authentication_failure`).
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown reference; [`GatewayError::InvalidRequest`]
    /// when it does not wait for authentication; [`GatewayError::UnknownOutcome`] when a
    /// sandbox kept in a data folder could not write the outcome there.
    pub fn authenticate(
        &self,
        account: Option<&str>,
        reference: &str,
        approve: bool,
    ) -> Result<(), GatewayError> {
        let account = account.map(str::to_owned);
        let now = self.now();
        let mut state = self.state();
        let result = self.complete(&mut state, &account, reference, approve, now);
        let flushed = state.flush();
        result?;
        flushed.map_err(|e| super::unrecorded("authenticate", &e))?;
        Ok(())
    }

    /// The challenge `id` waits for, when `token` is the one its page was given.
    pub(crate) fn challenge(&self, id: &str, token: &str) -> Option<ChallengePage> {
        let now = self.now();
        let mut state = self.state();
        let account = state.account_holding(id)?;
        let acct = state.account(&account);
        let page = if let Some(setup) = acct.setups.get(id) {
            let waiting = setup.stage == SetupStage::AwaitingAuthentication;
            (waiting && setup.challenge == token).then(|| ChallengePage {
                id: id.to_owned(),
                amount: None,
                card: setup
                    .payment_method
                    .as_deref()
                    .and_then(|pm| card_of(acct.methods.get(pm).map(|m| m.saved_card(false)), pm)),
            })
        } else {
            let intent = acct.intent(id, now).ok()?;
            let waiting = intent.status == GatewayStatus::RequiresAction;
            (waiting && intent.challenge == token).then(|| ChallengePage {
                id: id.to_owned(),
                amount: Some(intent.amount),
                card: intent
                    .card
                    .as_ref()
                    .map(|c| (c.brand.clone(), c.last4.clone())),
            })
        };
        // Nothing but a hold's expiry can have changed; after a restart it is worked out
        // again from the hold's time, so a failed write loses nothing.
        let _ = state.flush();
        page
    }

    /// Answers the challenge `id` (when `token` is its page's): `Ok(None)` when there is no
    /// such challenge waiting.
    pub(crate) fn answer_challenge(
        &self,
        id: &str,
        token: &str,
        approve: bool,
    ) -> Result<Option<ChallengeAnswer>, JournalError> {
        if self.challenge(id, token).is_none() {
            return Ok(None);
        }
        let now = self.now();
        let mut state = self.state();
        let Some(account) = state.account_holding(id) else {
            return Ok(None);
        };
        let result = self.complete(&mut state, &account, id, approve, now);
        state.flush()?;
        let Ok(return_url) = result else {
            // Answered meanwhile (another tab): nothing waits any more.
            return Ok(None);
        };
        let Some(return_url) = return_url else {
            return Ok(Some(ChallengeAnswer::Done { approved: approve }));
        };
        let kind = if id.starts_with("seti_") {
            "setup_intent"
        } else {
            "payment_intent"
        };
        let separator = if return_url.contains('?') { '&' } else { '?' };
        let status = if approve { "succeeded" } else { "failed" };
        Ok(Some(ChallengeAnswer::Return(format!(
            "{return_url}{separator}{kind}={}&redirect_status={status}",
            encode(id)
        ))))
    }

    /// Completes or fails the challenge of `reference`; answers its return URL.
    fn complete(
        &self,
        state: &mut State,
        account: &Option<String>,
        reference: &str,
        approve: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, GatewayError> {
        if state.account(account).setups.contains_key(reference) {
            return complete_setup(state, account, reference, approve, now);
        }
        let mut intent = state.account(account).intent(reference, now)?.clone();
        if intent.status != GatewayStatus::RequiresAction {
            return Err(invalid(
                "This PaymentIntent does not wait for authentication.",
            ));
        }
        let status = match (approve, intent.hold) {
            (false, _) => GatewayStatus::Failed(cards::payment_authentication_failed()),
            (true, true) => GatewayStatus::RequiresCapture,
            (true, false) => GatewayStatus::Succeeded,
        };
        go_through(
            state,
            account,
            &mut intent,
            status,
            now,
            self.inner.config.hold_duration,
        )?;
        let what = if approve {
            "authenticated"
        } else {
            "authentication_failed"
        };
        let event = event_type(&intent.status);
        let (payment, customer, return_url) = (
            intent.payment.clone(),
            intent.customer.clone(),
            intent.return_url.clone(),
        );
        let acct = state.account(account);
        *acct.intent_mut(reference, now)? = intent;
        acct.emit(reference, what, event, &customer, payment, now);
        Ok(return_url)
    }
}

fn complete_setup(
    state: &mut State,
    account: &Option<String>,
    reference: &str,
    approve: bool,
    now: DateTime<Utc>,
) -> Result<Option<String>, GatewayError> {
    let setup = state.account(account).setup_mut(reference)?.clone();
    if setup.stage != SetupStage::AwaitingAuthentication {
        return Err(invalid(
            "This SetupIntent does not wait for authentication.",
        ));
    }
    let stage = match (approve, setup.payment_method.as_deref()) {
        (true, Some(method)) if !owned_elsewhere(state, account, &setup.customer, method) => {
            SetupStage::Saved(attach_set_up(state, account, &setup.customer, method, now)?)
        }
        // Saved by another customer while the challenge waited: not this one's to keep.
        (true, Some(_)) => {
            SetupStage::Refused(cards::failure("card_declined", Some("generic_decline")))
        }
        _ => SetupStage::Refused(cards::setup_authentication_failed()),
    };
    state.account(account).setup_mut(reference)?.stage = stage;
    Ok(setup.return_url)
}

/// A card's brand and last four digits; a test id's from its test card.
fn card_of(saved: Option<billing_core::customer::SavedCard>, id: &str) -> Option<(String, String)> {
    match saved {
        Some(card) => Some((card.brand, card.last4)),
        None => cards::by_test_payment_method(id)
            .map(|card| (card.brand.to_owned(), card.last4().to_owned())),
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(super) async fn events_since(
    gateway: &SandboxGateway,
    account: Option<String>,
    since: DateTime<Utc>,
) -> Result<Vec<GatewayEvent>, GatewayError> {
    gateway
        .serve(Operation::EventsSince, &account, None, |state, now| {
            let acct = state.account(&account);
            acct.expire_due(now);
            let mut events: Vec<_> = acct.events.iter().filter(|e| e.at >= since).collect();
            events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
            Ok(events.into_iter().map(|e| e.view(&account)).collect())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("pi_sbx0001"), "pi_sbx0001");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
