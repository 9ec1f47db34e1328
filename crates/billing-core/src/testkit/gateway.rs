//! A scripted fake gateway: stateful enough to charge, hold, capture and refund like a card
//! gateway, honouring idempotency keys, with outcomes that a test can script call by call, and
//! a log of every call.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::customer::SavedCard;
use crate::ids::PaymentId;
use crate::money::Money;
use crate::payment::Failure;
use crate::ports::{
    CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayPayment, GatewayRefund,
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

#[derive(Debug, Clone)]
struct Held {
    payment: GatewayPayment,
    refunded: Money,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<GatewayCall>,
    script: VecDeque<Scripted>,
    next: u64,
    payments: BTreeMap<String, Held>,
    ours: BTreeMap<PaymentId, String>,
    replies: BTreeMap<String, Result<GatewayPayment, GatewayError>>,
    refund_replies: BTreeMap<String, Result<GatewayRefund, GatewayError>>,
    refunds: BTreeMap<PaymentId, GatewayRefund>,
    cards: BTreeMap<String, Vec<SavedCard>>,
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{:06}", self.next)
    }
}

/// The scripted gateway. Clones share state, so a test keeps one to script and inspect.
///
/// Cards: `pm_card_chargeDeclined` is declined (`generic_decline`),
/// `pm_card_chargeDeclinedInsufficientFunds` is declined (`insufficient_funds`),
/// `pm_card_authenticationRequired` needs authentication; any other payment method succeeds.
#[derive(Debug, Clone, Default)]
pub struct ScriptedGateway {
    state: Arc<Mutex<State>>,
}

impl ScriptedGateway {
    /// A gateway where everything succeeds until scripted otherwise.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a failing test; keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// How many distinct money-moving attempts the gateway carried out (after idempotency).
    pub fn payments_made(&self) -> usize {
        self.state().payments.len()
    }

    /// The total captured across every payment the gateway holds.
    pub fn total_received(&self, currency: crate::money::Currency) -> Money {
        let state = self.state();
        state
            .payments
            .values()
            .try_fold(Money::zero(currency), |t, h| {
                t.checked_add(&h.payment.amount_received)
            })
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
        let mut state = self.state();
        if let Some(reply) = state.replies.get(&request.idempotency_key) {
            return reply.clone();
        }
        let scripted = state.script.pop_front();
        if let Some(Scripted::Fail(error)) = &scripted {
            return Err(error.clone());
        }
        if scripted == Some(Scripted::LostRequest) {
            return Err(GatewayError::UnknownOutcome(
                "timed out before the request arrived".into(),
            ));
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
        let payment = GatewayPayment {
            reference: reference.clone(),
            amount_received: if status == GatewayStatus::Succeeded {
                request.amount
            } else {
                zero
            },
            amount_capturable: if status == GatewayStatus::RequiresCapture {
                request.amount
            } else {
                zero
            },
            status,
            amount: request.amount,
            hold_expires_at: None,
        };
        state.payments.insert(
            reference.clone(),
            Held {
                payment: payment.clone(),
                refunded: zero,
            },
        );
        state.ours.insert(request.payment.clone(), reference);
        state
            .replies
            .insert(request.idempotency_key.clone(), Ok(payment.clone()));
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

#[async_trait]
impl PaymentGateway for ScriptedGateway {
    async fn create_customer(
        &self,
        _customer: &NewGatewayCustomer,
    ) -> Result<String, GatewayError> {
        self.log("create_customer", None, None);
        let mut state = self.state();
        let id = state.id("cus");
        state.cards.insert(id.clone(), Vec::new());
        Ok(id)
    }

    async fn list_cards(
        &self,
        _account: Option<String>,
        customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        self.log("list_cards", None, None);
        self.state()
            .cards
            .get(customer)
            .cloned()
            .ok_or_else(|| GatewayError::NotFound(customer.to_owned()))
    }

    async fn attach_card(
        &self,
        _account: Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.log("attach_card", None, None);
        let mut state = self.state();
        let cards = state
            .cards
            .get_mut(customer)
            .ok_or_else(|| GatewayError::NotFound(customer.to_owned()))?;
        let (brand, last4) = match payment_method {
            "pm_card_mastercard" => ("mastercard", "4444"),
            "pm_card_chargeDeclined" => ("visa", "0002"),
            "pm_card_chargeDeclinedInsufficientFunds" => ("visa", "9995"),
            "pm_card_authenticationRequired" => ("visa", "3184"),
            _ => ("visa", "4242"),
        };
        let card = SavedCard {
            payment_method: payment_method.to_owned(),
            brand: brand.into(),
            last4: last4.into(),
            exp_month: 12,
            exp_year: 2034,
            is_default: false,
        };
        cards.retain(|c| c.payment_method != payment_method);
        cards.push(card.clone());
        Ok(card)
    }

    async fn detach_card(
        &self,
        _account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.log("detach_card", None, None);
        let mut state = self.state();
        let mut found = false;
        for cards in state.cards.values_mut() {
            let before = cards.len();
            cards.retain(|c| c.payment_method != payment_method);
            found |= cards.len() != before;
        }
        if found {
            Ok(())
        } else {
            Err(GatewayError::NotFound(payment_method.to_owned()))
        }
    }

    async fn set_default_card(
        &self,
        _account: Option<String>,
        _customer: &str,
        _payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.log("set_default_card", None, None);
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
        let mut state = self.state();
        if let Some(reply) = state.replies.get(&request.idempotency_key) {
            return reply.clone();
        }
        let scripted = state.script.pop_front();
        match scripted {
            Some(Scripted::Fail(error)) => return Err(error),
            Some(Scripted::LostRequest) => {
                return Err(GatewayError::UnknownOutcome("timed out".into()));
            }
            _ => {}
        }
        let held = state
            .payments
            .get_mut(&request.payment_reference)
            .ok_or_else(|| GatewayError::NotFound(request.payment_reference.clone()))?;
        if held.payment.status != GatewayStatus::RequiresCapture {
            return Err(invalid("this payment cannot be captured"));
        }
        if request
            .amount
            .checked_cmp(&held.payment.amount_capturable)
            .map_err(|e| invalid(&e.to_string()))?
            .is_gt()
        {
            return Err(invalid("amount_to_capture exceeds the amount capturable"));
        }
        let received = held
            .payment
            .amount_received
            .checked_add(&request.amount)
            .map_err(|e| invalid(&e.to_string()))?;
        let left = held
            .payment
            .amount_capturable
            .checked_sub(&request.amount)
            .map_err(|e| invalid(&e.to_string()))?;
        held.payment.amount_received = received;
        if request.final_capture || left.is_zero() {
            held.payment.amount_capturable = Money::zero(left.currency());
            held.payment.status = GatewayStatus::Succeeded;
        } else {
            held.payment.amount_capturable = left;
        }
        let answer = held.payment.clone();
        state
            .replies
            .insert(request.idempotency_key.clone(), Ok(answer.clone()));
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the capture".into(),
            ));
        }
        Ok(answer)
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        self.log("cancel", Some(&request.idempotency_key), None);
        let mut state = self.state();
        if let Some(reply) = state.replies.get(&request.idempotency_key) {
            return reply.clone();
        }
        let held = state
            .payments
            .get_mut(&request.payment_reference)
            .ok_or_else(|| GatewayError::NotFound(request.payment_reference.clone()))?;
        if !matches!(
            held.payment.status,
            GatewayStatus::RequiresCapture | GatewayStatus::RequiresAction
        ) {
            return Err(invalid("this payment cannot be canceled"));
        }
        held.payment.status = GatewayStatus::Canceled;
        held.payment.amount_capturable = Money::zero(held.payment.amount.currency());
        let answer = held.payment.clone();
        state
            .replies
            .insert(request.idempotency_key.clone(), Ok(answer.clone()));
        Ok(answer)
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.log(
            "refund",
            Some(&request.idempotency_key),
            Some(request.amount),
        );
        let mut state = self.state();
        if let Some(reply) = state.refund_replies.get(&request.idempotency_key) {
            return reply.clone();
        }
        let scripted = state.script.pop_front();
        match scripted {
            Some(Scripted::Fail(error)) => return Err(error),
            Some(Scripted::LostRequest) => {
                return Err(GatewayError::UnknownOutcome("timed out".into()));
            }
            _ => {}
        }
        let reference = state.id("re");
        let held = state
            .payments
            .get_mut(&request.payment_reference)
            .ok_or_else(|| GatewayError::NotFound(request.payment_reference.clone()))?;
        let left = held
            .payment
            .amount_received
            .checked_sub(&held.refunded)
            .map_err(|e| invalid(&e.to_string()))?;
        if request
            .amount
            .checked_cmp(&left)
            .map_err(|e| invalid(&e.to_string()))?
            .is_gt()
        {
            return Err(invalid("refund exceeds the amount refundable"));
        }
        held.refunded = held
            .refunded
            .checked_add(&request.amount)
            .map_err(|e| invalid(&e.to_string()))?;
        let refund = GatewayRefund {
            reference,
            status: RefundStatus::Succeeded,
            amount: request.amount,
        };
        state.refunds.insert(request.refund.clone(), refund.clone());
        state
            .refund_replies
            .insert(request.idempotency_key.clone(), Ok(refund.clone()));
        if scripted == Some(Scripted::LostAnswer) {
            return Err(GatewayError::UnknownOutcome(
                "timed out after the refund".into(),
            ));
        }
        Ok(refund)
    }

    async fn find_payment(
        &self,
        _account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        self.log("find_payment", None, None);
        let state = self.state();
        Ok(state
            .ours
            .get(payment)
            .and_then(|r| state.payments.get(r))
            .map(|h| h.payment.clone()))
    }

    async fn find_refund(
        &self,
        _account: Option<String>,
        _payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        self.log("find_refund", None, None);
        Ok(self.state().refunds.get(refund).cloned())
    }

    async fn start_card_setup(
        &self,
        _account: Option<String>,
        customer: &str,
        key: &str,
    ) -> Result<CardSetup, GatewayError> {
        self.log("start_card_setup", Some(key), None);
        let mut state = self.state();
        if !state.cards.contains_key(customer) {
            return Err(GatewayError::NotFound(customer.to_owned()));
        }
        let reference = state.id("seti");
        Ok(CardSetup {
            client_secret: format!("{reference}_secret"),
            reference,
        })
    }
}
