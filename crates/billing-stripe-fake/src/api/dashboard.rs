//! What happens at Stripe outside the API client under test: a business acting in the
//! Stripe Dashboard (capture, cancel, refund), the card network (disputes) and the customer
//! (3-D Secure). Each runs Stripe's own rules and records the events Stripe would send; none
//! carries the client's metadata.

use serde_json::{Value, json};

use super::{Ctx, disputes, payment_intents, refunds};
use crate::error::ApiResult;
use crate::params::Params;

/// One operation made outside the API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operation {
    /// Captures a hold, in full (`amount: None`) or in part; `final_capture: false` keeps the
    /// rest capturable (multicapture only).
    Capture {
        payment_intent: String,
        amount: Option<i64>,
        final_capture: bool,
    },
    /// Cancels an intent (releasing a hold).
    Cancel {
        payment_intent: String,
        reason: Option<String>,
    },
    /// Refunds a payment, in full (`amount: None`) or in part, without metadata.
    Refund {
        payment_intent: String,
        amount: Option<i64>,
    },
    /// The card network opens a dispute on a payment (`pi_` or `ch_`).
    OpenDispute {
        payment: String,
        amount: Option<i64>,
        reason: Option<String>,
    },
    /// The dispute's evidence is under review.
    ReviewDispute { dispute: String },
    /// The dispute is closed, won or lost.
    CloseDispute { dispute: String, won: bool },
    /// The customer completes (or fails) 3-D Secure on a `pi_` or `seti_` intent.
    Authenticate { intent: String, success: bool },
}

/// Runs an operation on the context's account; answers the object it made or changed.
pub(crate) fn run(ctx: &mut Ctx<'_>, operation: &Operation) -> ApiResult<Value> {
    payment_intents::expire_holds(ctx);
    match operation {
        Operation::Capture {
            payment_intent,
            amount,
            final_capture,
        } => {
            let mut params = json!({"final_capture": final_capture.to_string()});
            if let Some(a) = amount {
                params["amount_to_capture"] = json!(a.to_string());
            }
            payment_intents::capture(ctx, payment_intent, &Params::new(params))
        }
        Operation::Cancel {
            payment_intent,
            reason,
        } => {
            let params = match reason {
                Some(r) => json!({"cancellation_reason": r}),
                None => json!({}),
            };
            payment_intents::cancel(ctx, payment_intent, &Params::new(params))
        }
        Operation::Refund {
            payment_intent,
            amount,
        } => {
            let mut params = json!({"payment_intent": payment_intent});
            if let Some(a) = amount {
                params["amount"] = json!(a.to_string());
            }
            refunds::create(ctx, &Params::new(params))
        }
        Operation::OpenDispute {
            payment,
            amount,
            reason,
        } => disputes::open(ctx, payment, *amount, reason.as_deref()),
        Operation::ReviewDispute { dispute } => disputes::review(ctx, dispute),
        Operation::CloseDispute { dispute, won } => disputes::settle(ctx, dispute, *won),
        Operation::Authenticate { intent, success } => {
            super::complete_authentication(ctx, intent, *success)
        }
    }
}
