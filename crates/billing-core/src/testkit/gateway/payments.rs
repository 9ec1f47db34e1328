//! Charges, holds, captures, releases and refunds at the scripted gateway, and finding them
//! again.

use chrono::Duration;

use super::cards::{Behaviour, behaviour, declined, next_action};
use super::state::{
    Held, Reply, State, another_kind_of_request, arithmetic, invalid, payment_reply,
};
use super::{HOLD_DAYS, Scripted, ScriptedGateway};
use crate::ids::PaymentId;
use crate::money::Money;
use crate::payment::Failure;
use crate::ports::{
    CancelRequest, CaptureRequest, EventSubject, GatewayError, GatewayPayment, GatewayRecord,
    GatewayRefund, GatewayStatus, PaymentRequest, Presence, RefundRequest, RefundStatus,
};

/// The failure of a card that asks for authentication while the customer is away.
fn authentication_required() -> Failure {
    Failure {
        code: "authentication_required".into(),
        decline_code: Some("authentication_required".into()),
        message: "Your card was declined. This transaction requires authentication.".into(),
    }
}

/// The event Stripe sends when a payment comes to `status`.
pub(super) fn event_type(status: &GatewayStatus) -> &'static str {
    match status {
        GatewayStatus::Succeeded => "payment_intent.succeeded",
        GatewayStatus::RequiresCapture => "payment_intent.amount_capturable_updated",
        GatewayStatus::RequiresAction => "payment_intent.requires_action",
        GatewayStatus::Processing => "payment_intent.processing",
        GatewayStatus::Failed(_) => "payment_intent.payment_failed",
        GatewayStatus::Canceled | GatewayStatus::Expired => "payment_intent.canceled",
    }
}

/// Captures `amount` of a hold, as a capture request or the dashboard does.
pub(super) fn capture_held(
    held: &mut Held,
    amount: Money,
    final_capture: bool,
) -> Result<(), GatewayError> {
    if held.payment.status != GatewayStatus::RequiresCapture {
        return Err(invalid(
            "This PaymentIntent could not be captured because it has a status other than requires_capture.",
        ));
    }
    if !final_capture && !held.payment.multicapture {
        return Err(invalid(
            "Multicapture is not available for this PaymentIntent: capture it with final_capture.",
        ));
    }
    if !amount.is_positive() {
        return Err(invalid("This value must be greater than or equal to 1."));
    }
    if amount
        .checked_cmp(&held.payment.amount_capturable)
        .map_err(arithmetic)?
        .is_gt()
    {
        return Err(invalid("amount_to_capture exceeds the amount capturable"));
    }
    let left = held
        .payment
        .amount_capturable
        .checked_sub(&amount)
        .map_err(arithmetic)?;
    held.payment.amount_received = held
        .payment
        .amount_received
        .checked_add(&amount)
        .map_err(arithmetic)?;
    if final_capture || left.is_zero() {
        held.payment.amount_capturable = Money::zero(left.currency());
        held.payment.status = GatewayStatus::Succeeded;
    } else {
        held.payment.amount_capturable = left;
    }
    Ok(())
}

/// Refunds `amount` of a payment, as a refund request or the dashboard does.
pub(super) fn refund_held(
    held: &mut Held,
    reference: String,
    amount: Money,
    ours: Option<PaymentId>,
) -> Result<GatewayRefund, GatewayError> {
    if !amount.is_positive() {
        return Err(invalid("This value must be greater than or equal to 1."));
    }
    let left = held
        .payment
        .amount_received
        .checked_sub(&held.taken_back()?)
        .map_err(arithmetic)?;
    if amount.checked_cmp(&left).map_err(arithmetic)?.is_gt() {
        return Err(invalid("refund exceeds the amount refundable"));
    }
    let refund = GatewayRefund {
        reference,
        status: RefundStatus::Succeeded,
        amount,
        refund: ours,
    };
    held.refunds.push(refund.clone());
    Ok(refund)
}

/// The event a refund sends: about our payment when it is ours.
pub(super) fn refund_subject(held: &Held) -> EventSubject {
    match &held.payment.payment {
        Some(ours) => EventSubject::RefundsOf(ours.clone()),
        None => EventSubject::GatewayPayment(held.payment.reference.clone()),
    }
}

impl ScriptedGateway {
    pub(super) fn pay(
        &self,
        request: &PaymentRequest,
        hold: bool,
    ) -> Result<GatewayPayment, GatewayError> {
        let now = self.now();
        let (on_session, save_card) = match &request.presence {
            Presence::OffSession => (false, false),
            Presence::OnSession { save_card, .. } => (true, *save_card),
        };
        let fingerprint = format!(
            "{}|{}|{}|{}|{}|{}|{:?}",
            if hold { "authorize" } else { "charge" },
            request.payment,
            request.card.gateway_customer,
            request.card.payment_method,
            request.amount,
            request.description.as_deref().unwrap_or_default(),
            request.presence,
        );
        let key = request.idempotency_key.as_str();
        let card = self.test_card(&request.card.payment_method);
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
        super::amounts::check(&request.amount).map_err(|refused| invalid(&refused.to_string()))?;
        let zero = Money::zero(request.amount.currency());
        let set_up = state.account(&request.account).set_up.contains(&(
            request.card.gateway_customer.clone(),
            request.card.payment_method.clone(),
        ));
        let asks = match behaviour(&request.card.payment_method) {
            Behaviour::AlwaysAuthenticates => true,
            Behaviour::AuthenticatesUntilSetUp => on_session || !set_up,
            _ => scripted == Some(Scripted::RequiresAction),
        };
        let decline = match (&scripted, behaviour(&request.card.payment_method)) {
            (Some(Scripted::Decline(code)), _) => Some(declined(code)),
            (_, Behaviour::Declines(code)) => Some(declined(code)),
            _ => None,
        };
        let reference = state.id("pi");
        let status = match (decline, asks, on_session, hold) {
            (Some(failure), ..) => GatewayStatus::Failed(failure),
            (None, true, false, _) => GatewayStatus::Failed(authentication_required()),
            (None, true, true, _) => GatewayStatus::RequiresAction,
            (None, false, _, true) => GatewayStatus::RequiresCapture,
            (None, false, _, false) => GatewayStatus::Succeeded,
        };
        let holding = status == GatewayStatus::RequiresCapture;
        let multicapture = hold && !state.account(&request.account).no_multicapture;
        let payment = GatewayPayment {
            reference: reference.clone(),
            amount_received: if status == GatewayStatus::Succeeded {
                request.amount
            } else {
                zero
            },
            amount_capturable: if holding { request.amount } else { zero },
            amount: request.amount,
            hold_expires_at: now
                .filter(|_| holding)
                .map(|n| n + Duration::days(HOLD_DAYS)),
            payment: Some(request.payment.clone()),
            next_action: (status == GatewayStatus::RequiresAction).then(|| next_action(&reference)),
            multicapture,
            card,
            status,
        };
        let mut held = Held {
            payment,
            customer: request.card.gateway_customer.clone(),
            payment_method: request.card.payment_method.clone(),
            save_card,
            hold,
            created: now,
            refunds: Vec::new(),
            disputes: Vec::new(),
        };
        settle_card(&mut state, &request.account, &mut held);
        let payment = held.payment.clone();
        let (account, events) = state.account_and_events(&request.account);
        events.emit(
            &request.account,
            event_type(&payment.status),
            held.subject(),
            now,
        );
        account.payments.insert(reference.clone(), held);
        account.ours.insert(request.payment.clone(), reference);
        account.save(key, fingerprint, Reply::Payment(payment.clone()), now);
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the request was carried out".into(),
            ));
        }
        Ok(payment)
    }

    pub(super) fn do_capture(
        &self,
        request: &CaptureRequest,
    ) -> Result<GatewayPayment, GatewayError> {
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
        let (account, events) = state.account_and_events(&request.account);
        let held = account.payment_mut(&request.payment_reference)?;
        capture_held(held, request.amount, request.final_capture)?;
        let answer = held.payment.clone();
        events.emit(
            &request.account,
            event_type(&answer.status),
            held.subject(),
            now,
        );
        account.save(key, fingerprint, Reply::Payment(answer.clone()), now);
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the capture".into(),
            ));
        }
        Ok(answer)
    }

    pub(super) fn do_cancel(
        &self,
        request: &CancelRequest,
    ) -> Result<GatewayPayment, GatewayError> {
        let now = self.now();
        let key = request.idempotency_key.as_str();
        let fingerprint = format!("cancel|{}", request.payment_reference);
        let mut state = self.state();
        let (account, events) = state.account_and_events(&request.account);
        if let Some(reply) = account.replay(key, &fingerprint, now)? {
            return payment_reply(reply);
        }
        let held = account.payment_mut(&request.payment_reference)?;
        cancel_held(held)?;
        let answer = held.payment.clone();
        events.emit(
            &request.account,
            event_type(&answer.status),
            held.subject(),
            now,
        );
        account.save(key, fingerprint, Reply::Payment(answer.clone()), now);
        Ok(answer)
    }

    pub(super) fn do_refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
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
        let (account, events) = state.account_and_events(&request.account);
        let held = account.payment_mut(&request.payment_reference)?;
        let refund = refund_held(
            held,
            reference,
            request.amount,
            Some(request.refund.clone()),
        )?;
        events.emit(
            &request.account,
            "charge.refunded",
            refund_subject(held),
            now,
        );
        account.save(key, fingerprint, Reply::Refund(refund.clone()), now);
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the refund".into(),
            ));
        }
        Ok(refund)
    }

    pub(super) fn do_find_payment(
        &self,
        account: &Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        let now = self.now();
        let mut state = self.state();
        let lag = state.search_lag;
        let account = state.account(account);
        let Some(reference) = account.ours.get(payment).cloned() else {
            return Ok(None);
        };
        let held = account.payment_mut(&reference)?;
        // Like Stripe's search, a payment just made is not found yet.
        if let (Some(now), Some(created)) = (now, held.created)
            && now - created < lag
        {
            return Ok(None);
        }
        Ok(Some(held.payment.clone()))
    }

    pub(super) fn do_find_refund(
        &self,
        account: &Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        let mut state = self.state();
        let held = state.account(account).payment_mut(payment_reference)?;
        Ok(held
            .refunds
            .iter()
            .find(|r| r.refund.as_ref() == Some(refund))
            .cloned())
    }

    pub(super) fn do_payment_record(
        &self,
        account: &Option<String>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        let mut state = self.state();
        let held = state.account(account).payment_mut(reference)?;
        Ok(GatewayRecord {
            payment: held.payment.clone(),
            refunds: held.refunds.clone(),
            disputes: held.disputes.clone(),
        })
    }
}

/// Releases a hold, or gives up an attempt that waits for the customer.
pub(super) fn cancel_held(held: &mut Held) -> Result<(), GatewayError> {
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
    held.payment.next_action = None;
    held.payment.amount_capturable = Money::zero(held.payment.amount.currency());
    Ok(())
}

/// Once a payment made with the customer there went through, the card is set up for charges
/// without them, and kept for the customer when they asked.
pub(super) fn settle_card(state: &mut State, account: &Option<String>, held: &mut Held) {
    let through = matches!(
        held.payment.status,
        GatewayStatus::Succeeded | GatewayStatus::RequiresCapture
    );
    if !through || !held.save_card {
        return;
    }
    let account = state.account(account);
    account
        .set_up
        .insert((held.customer.clone(), held.payment_method.clone()));
    if let (Some(card), Ok(customer)) = (
        held.payment.card.clone(),
        account.customer_mut(&held.customer),
    ) {
        customer.attach(&card);
    }
}
