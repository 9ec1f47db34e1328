//! Operations made outside the API client under test: the business in Stripe's Dashboard, the
//! card network, the customer finishing 3-D Secure. Each follows Stripe's rules and records
//! the events Stripe would send (delivered to the webhook endpoint when there is one).

use serde_json::Value;

use super::{DEFAULT_API_VERSION, FakeStripe, Shared};
use crate::api::Ctx;
use crate::api::dashboard::{self, Operation};
use crate::error::ApiError;
use crate::state::random_alnum;

impl Shared {
    /// Runs an operation on an account (`None`: the platform). Its events carry a request
    /// id of their own (as the Dashboard's do) and no idempotency key.
    pub(super) fn operate(
        &self,
        account: Option<&str>,
        operation: &Operation,
    ) -> Result<Value, ApiError> {
        self.with_state(|state| {
            let mut ctx = Ctx::new(
                state,
                account.map(str::to_owned),
                format!("req_{}", random_alnum(14)),
                None,
                DEFAULT_API_VERSION.into(),
            );
            dashboard::run(&mut ctx, operation)
        })
    }
}

/// What happens at Stripe outside the API: each method answers the object it made or changed,
/// or Stripe's error message.
impl FakeStripe {
    fn operate(&self, account: Option<&str>, operation: Operation) -> Result<Value, String> {
        self.shared
            .operate(account, &operation)
            .map_err(|e| e.message)
    }

    /// Finishes the customer's 3-D Secure step of an intent in `requires_action`
    /// (`pi_...` or `seti_...`), which a real test mode does in a browser (the fake's page
    /// for it is `GET /_fake/3ds/{intent}`). `success: false` fails it as Stripe does
    /// (`requires_payment_method`, `payment_intent_authentication_failure`). Returns the
    /// updated intent.
    ///
    /// # Errors
    /// The Stripe error message when the intent is missing or not awaiting action.
    pub fn complete_authentication(
        &self,
        account: Option<&str>,
        intent_id: &str,
        success: bool,
    ) -> Result<Value, String> {
        self.operate(
            account,
            Operation::Authenticate {
                intent: intent_id.to_owned(),
                success,
            },
        )
    }

    /// Captures a hold in the Dashboard: all that is capturable (`amount: None`) or part of
    /// it. `final_capture: false` keeps the rest capturable, which needs multicapture.
    /// Emits `charge.captured` and `payment_intent.succeeded` (final) or
    /// `payment_intent.amount_capturable_updated`. Returns the PaymentIntent.
    ///
    /// # Errors
    /// Stripe's error message (not capturable, amount too large, no multicapture, ...).
    pub fn capture_in_dashboard(
        &self,
        account: Option<&str>,
        payment_intent: &str,
        amount: Option<i64>,
        final_capture: bool,
    ) -> Result<Value, String> {
        self.operate(
            account,
            Operation::Capture {
                payment_intent: payment_intent.to_owned(),
                amount,
                final_capture,
            },
        )
    }

    /// Cancels an intent in the Dashboard (a hold is released). Emits
    /// `payment_intent.canceled` (or `payment_intent.succeeded` for a multicapture hold that
    /// was partly captured). Returns the PaymentIntent.
    ///
    /// # Errors
    /// Stripe's error message when the intent cannot be canceled.
    pub fn cancel_in_dashboard(
        &self,
        account: Option<&str>,
        payment_intent: &str,
    ) -> Result<Value, String> {
        self.operate(
            account,
            Operation::Cancel {
                payment_intent: payment_intent.to_owned(),
                reason: None,
            },
        )
    }

    /// Refunds a payment in the Dashboard, in full (`amount: None`) or in part, with no
    /// metadata. Emits `refund.created` and `charge.refunded`. Returns the Refund.
    ///
    /// # Errors
    /// Stripe's error message (nothing to refund, amount too large, disputed charge, ...).
    pub fn refund_in_dashboard(
        &self,
        account: Option<&str>,
        payment_intent: &str,
        amount: Option<i64>,
    ) -> Result<Value, String> {
        self.operate(
            account,
            Operation::Refund {
                payment_intent: payment_intent.to_owned(),
                amount,
            },
        )
    }

    /// The card network opens a dispute on a payment (`pi_...` or `ch_...`), for `amount`
    /// (default: what was captured and not refunded) and `reason` (default `fraudulent`).
    /// The charge becomes `disputed`; the dispute is `needs_response`. Emits
    /// `charge.dispute.created` and `charge.dispute.funds_withdrawn`. Returns the Dispute.
    ///
    /// # Errors
    /// When the payment is missing, has nothing captured to dispute, or is disputed already.
    pub fn open_dispute(
        &self,
        account: Option<&str>,
        payment: &str,
        amount: Option<i64>,
        reason: Option<&str>,
    ) -> Result<Value, String> {
        self.operate(
            account,
            Operation::OpenDispute {
                payment: payment.to_owned(),
                amount,
                reason: reason.map(str::to_owned),
            },
        )
    }

    /// The dispute's evidence went to the network: `needs_response` becomes `under_review`.
    /// Emits `charge.dispute.updated`. Returns the Dispute.
    ///
    /// # Errors
    /// When the dispute is missing or no longer takes evidence.
    pub fn review_dispute(&self, account: Option<&str>, dispute: &str) -> Result<Value, String> {
        self.operate(
            account,
            Operation::ReviewDispute {
                dispute: dispute.to_owned(),
            },
        )
    }

    /// The network closes the dispute, `won` or lost. Emits `charge.dispute.closed` (and
    /// `charge.dispute.funds_reinstated` when won). Returns the Dispute.
    ///
    /// # Errors
    /// When the dispute is missing or closed already.
    pub fn close_dispute(
        &self,
        account: Option<&str>,
        dispute: &str,
        won: bool,
    ) -> Result<Value, String> {
        self.operate(
            account,
            Operation::CloseDispute {
                dispute: dispute.to_owned(),
                won,
            },
        )
    }
}
