//! What a test does in the scripted gateway's place of a dashboard, or of the customer's
//! browser: capture, release or refund a payment outside our API, open and decide disputes,
//! complete or fail 3-D Secure; and the events the gateway recorded.

use chrono::{DateTime, Utc};

use super::ScriptedGateway;
use super::payments::{
    cancel_held, capture_held, event_type, refund_held, refund_subject, settle_card,
};
use crate::ids::PaymentId;
use crate::money::Money;
use crate::payment::Failure;
use crate::ports::{
    DisputeStatus, GatewayDispute, GatewayError, GatewayEvent, GatewayPayment, GatewayRefund,
    GatewayStatus,
};

fn account_of(account: Option<&str>) -> Option<String> {
    account.map(str::to_owned)
}

impl ScriptedGateway {
    /// The gateway's reference (`pi_...`) of the latest attempt made for our payment.
    pub fn reference_of(&self, account: Option<&str>, payment: &PaymentId) -> Option<String> {
        self.state()
            .account(&account_of(account))
            .ours
            .get(payment)
            .cloned()
    }

    /// Captures part or all of a hold in the dashboard (no capture of ours asked for it).
    ///
    /// # Errors
    /// As a capture request would be refused.
    pub fn dashboard_capture(
        &self,
        account: Option<&str>,
        reference: &str,
        amount: Money,
        final_capture: bool,
    ) -> Result<GatewayPayment, GatewayError> {
        let now = self.now();
        let account = account_of(account);
        let mut state = self.state();
        let (found, events) = state.account_and_events(&account);
        let held = found.payment_mut(reference)?;
        capture_held(held, amount, final_capture)?;
        events.emit(
            &account,
            event_type(&held.payment.status),
            held.subject(),
            now,
        );
        Ok(held.payment.clone())
    }

    /// Releases a hold (or gives up an attempt waiting for the customer) in the dashboard.
    ///
    /// # Errors
    /// As a release request would be refused.
    pub fn dashboard_cancel(
        &self,
        account: Option<&str>,
        reference: &str,
    ) -> Result<GatewayPayment, GatewayError> {
        let now = self.now();
        let account = account_of(account);
        let mut state = self.state();
        let (found, events) = state.account_and_events(&account);
        let held = found.payment_mut(reference)?;
        cancel_held(held)?;
        events.emit(&account, "payment_intent.canceled", held.subject(), now);
        Ok(held.payment.clone())
    }

    /// Refunds part or all of a payment in the dashboard: the refund names none of ours.
    ///
    /// # Errors
    /// As a refund request would be refused.
    pub fn dashboard_refund(
        &self,
        account: Option<&str>,
        reference: &str,
        amount: Money,
    ) -> Result<GatewayRefund, GatewayError> {
        let now = self.now();
        let account = account_of(account);
        let mut state = self.state();
        let id = state.id("re");
        let (found, events) = state.account_and_events(&account);
        let held = found.payment_mut(reference)?;
        let refund = refund_held(held, id, amount, None)?;
        events.emit(&account, "charge.refunded", refund_subject(held), now);
        Ok(refund)
    }

    /// The customer's bank disputes `amount` of a payment (a chargeback); the event names the
    /// payment by the gateway's id only, as Stripe's dispute events do.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown payment; [`GatewayError::InvalidRequest`] for
    /// more than was received.
    pub fn open_dispute(
        &self,
        account: Option<&str>,
        reference: &str,
        amount: Money,
        reason: &str,
    ) -> Result<GatewayDispute, GatewayError> {
        let now = self.now();
        let account = account_of(account);
        let mut state = self.state();
        let id = state.id("dp");
        let (found, events) = state.account_and_events(&account);
        let held = found.payment_mut(reference)?;
        if amount
            .checked_cmp(&held.payment.amount_received)
            .map_err(super::state::arithmetic)?
            .is_gt()
        {
            return Err(super::state::invalid("a dispute exceeds what was received"));
        }
        let dispute = GatewayDispute {
            reference: id,
            amount,
            status: DisputeStatus::Open,
            reason: Some(reason.to_owned()),
        };
        held.disputes.push(dispute.clone());
        events.emit(
            &account,
            "charge.dispute.created",
            crate::ports::EventSubject::GatewayPayment(reference.to_owned()),
            now,
        );
        Ok(dispute)
    }

    /// The bank decides a dispute: won (the money stays with the business) or lost.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown dispute; [`GatewayError::InvalidRequest`] for
    /// one already decided.
    pub fn close_dispute(
        &self,
        account: Option<&str>,
        dispute: &str,
        won: bool,
    ) -> Result<GatewayDispute, GatewayError> {
        let now = self.now();
        let account = account_of(account);
        let mut state = self.state();
        let (found, events) = state.account_and_events(&account);
        let held = found
            .payments
            .values_mut()
            .find(|h| h.disputes.iter().any(|d| d.reference == dispute))
            .ok_or_else(|| GatewayError::NotFound(format!("No such dispute: '{dispute}'")))?;
        let reference = held.payment.reference.clone();
        let Some(open) = held
            .disputes
            .iter_mut()
            .find(|d| d.reference == dispute && d.status == DisputeStatus::Open)
        else {
            return Err(super::state::invalid("This dispute is already closed."));
        };
        open.status = if won {
            DisputeStatus::Won
        } else {
            DisputeStatus::Lost
        };
        let closed = open.clone();
        events.emit(
            &account,
            "charge.dispute.closed",
            crate::ports::EventSubject::GatewayPayment(reference),
            now,
        );
        Ok(closed)
    }

    /// The customer completes (`approve`) or fails the authentication a payment (`pi_...`) or
    /// a card set-up (`seti_...`) waits for, as they would on the page.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown reference; [`GatewayError::InvalidRequest`]
    /// when it does not wait for authentication.
    pub fn authenticate(
        &self,
        account: Option<&str>,
        reference: &str,
        approve: bool,
    ) -> Result<(), GatewayError> {
        let account = account_of(account);
        if reference.starts_with("seti_") {
            return self.authenticate_setup(&account, reference, approve);
        }
        let now = self.now();
        let mut state = self.state();
        let mut held = state.account(&account).payment_mut(reference)?.clone();
        if held.payment.status != GatewayStatus::RequiresAction {
            return Err(super::state::invalid(
                "This PaymentIntent does not wait for authentication.",
            ));
        }
        held.payment.next_action = None;
        held.payment.status = match (approve, held.hold) {
            (false, _) => GatewayStatus::Failed(Failure {
                code: "payment_intent_authentication_failure".into(),
                decline_code: None,
                message: "The card could not be authenticated.".into(),
            }),
            (true, true) => GatewayStatus::RequiresCapture,
            (true, false) => GatewayStatus::Succeeded,
        };
        match held.payment.status {
            GatewayStatus::Succeeded => held.payment.amount_received = held.payment.amount,
            GatewayStatus::RequiresCapture => {
                held.payment.amount_capturable = held.payment.amount;
                held.payment.hold_expires_at =
                    now.map(|n| n + chrono::Duration::days(super::HOLD_DAYS));
            }
            _ => {}
        }
        settle_card(&mut state, &account, &mut held);
        let (found, events) = state.account_and_events(&account);
        events.emit(
            &account,
            event_type(&held.payment.status),
            held.subject(),
            now,
        );
        found.payments.insert(reference.to_owned(), held);
        Ok(())
    }

    /// Every event the gateway recorded, on every account, oldest first: what it would send as
    /// webhooks.
    pub fn events(&self) -> Vec<GatewayEvent> {
        self.state()
            .events
            .list
            .iter()
            .map(|(_, event)| event.clone())
            .collect()
    }

    /// The events of one account recorded at or after `since` (all of them, for a gateway
    /// without a clock).
    pub(super) fn do_events_since(
        &self,
        account: &Option<String>,
        since: DateTime<Utc>,
    ) -> Vec<GatewayEvent> {
        self.state()
            .events
            .list
            .iter()
            .filter(|(at, event)| &event.account == account && at.is_none_or(|at| at >= since))
            .map(|(_, event)| event.clone())
            .collect()
    }
}
