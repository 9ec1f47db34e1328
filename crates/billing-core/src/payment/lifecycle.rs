//! The lifecycle of a payment record: where it can be, what can happen to it, and the one
//! function that says which moves are allowed.

use super::{Failure, KindName};

/// Where a payment record is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentState {
    /// Sent (or about to be sent) to the gateway; the outcome is not known yet.
    Pending,
    /// The customer must authenticate (3-D Secure) before the card can be charged or held.
    RequiresAction,
    /// The money moved.
    Succeeded,
    /// A hold is in place and nothing was captured yet.
    Authorized,
    /// Part of a hold was captured; the rest is still held.
    PartiallyCaptured,
    /// A hold was captured and closed; anything not captured was released.
    Captured,
    /// Canceled before any money moved (a hold released in full).
    Canceled,
    /// A hold ran out before it was captured.
    Expired,
    /// The gateway refused it or it could not be made.
    Failed(Failure),
}

impl PaymentState {
    /// The state's name, without the failure details.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::RequiresAction => "requires_action",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Authorized => "authorized",
            PaymentState::PartiallyCaptured => "partially_captured",
            PaymentState::Captured => "captured",
            PaymentState::Canceled => "canceled",
            PaymentState::Expired => "expired",
            PaymentState::Failed(_) => "failed",
        }
    }

    /// True when no event can move the record any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded
                | PaymentState::Captured
                | PaymentState::Canceled
                | PaymentState::Expired
                | PaymentState::Failed(_)
        )
    }

    /// True while the outcome at the gateway is still open.
    pub fn is_in_flight(&self) -> bool {
        matches!(self, PaymentState::Pending | PaymentState::RequiresAction)
    }
}

/// What happened to a payment record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentEvent {
    /// The money moved.
    Succeeded,
    /// The customer must authenticate first.
    ActionRequired,
    /// The gateway placed the hold.
    HoldPlaced,
    /// Part of the hold was captured and the rest stays held.
    PartlyCaptured,
    /// The hold was captured and closed.
    CaptureClosed,
    /// Canceled (a hold released, or an attempt abandoned).
    Canceled,
    /// The hold ran out.
    Expired,
    /// The gateway refused it.
    Failed(Failure),
}

impl PaymentEvent {
    /// Every event, with a sample failure, for exhaustive tests.
    pub fn all() -> Vec<PaymentEvent> {
        vec![
            PaymentEvent::Succeeded,
            PaymentEvent::ActionRequired,
            PaymentEvent::HoldPlaced,
            PaymentEvent::PartlyCaptured,
            PaymentEvent::CaptureClosed,
            PaymentEvent::Canceled,
            PaymentEvent::Expired,
            PaymentEvent::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("generic_decline".into()),
                message: "The card was declined.".into(),
            }),
        ]
    }
}

/// A move that the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind:?} in state {from} cannot take {event:?}")]
pub struct InvalidTransition {
    /// The kind of record.
    pub kind: KindName,
    /// Its state's name.
    pub from: &'static str,
    /// The refused event.
    pub event: PaymentEvent,
}

/// The lifecycle of every payment record: the state a record of `kind` in state `from` moves to
/// on `event`, or why it cannot. Terminal states never move again.
pub fn transition(
    kind: KindName,
    from: &PaymentState,
    event: &PaymentEvent,
) -> Result<PaymentState, InvalidTransition> {
    use KindName as K;
    use PaymentEvent as E;
    use PaymentState as S;
    let next = match (kind, from, event) {
        // Charges: one gateway attempt, possibly through authentication.
        (K::Charge, S::Pending | S::RequiresAction, E::Succeeded) => Some(S::Succeeded),
        (K::Charge, S::Pending, E::ActionRequired) => Some(S::RequiresAction),
        (K::Charge, S::Pending | S::RequiresAction, E::Canceled) => Some(S::Canceled),
        // Collections are recorded when the money is in hand; a pending one is only confirmed.
        (K::Collection, S::Pending, E::Succeeded) => Some(S::Succeeded),
        (K::Collection, S::Pending, E::Canceled) => Some(S::Canceled),
        // Holds: placed, captured in parts, closed, canceled or expired.
        (K::Authorization, S::Pending | S::RequiresAction, E::HoldPlaced) => Some(S::Authorized),
        (K::Authorization, S::Pending, E::ActionRequired) => Some(S::RequiresAction),
        (K::Authorization, S::Pending | S::RequiresAction | S::Authorized, E::Canceled) => {
            Some(S::Canceled)
        }
        (K::Authorization, S::Authorized | S::PartiallyCaptured, E::PartlyCaptured) => {
            Some(S::PartiallyCaptured)
        }
        (K::Authorization, S::Authorized | S::PartiallyCaptured, E::CaptureClosed) => {
            Some(S::Captured)
        }
        // Releasing the rest of a partly captured hold closes it as captured.
        (K::Authorization, S::PartiallyCaptured, E::Canceled | E::Expired) => Some(S::Captured),
        (K::Authorization, S::Authorized, E::Expired) => Some(S::Expired),
        // Captures and refunds: one gateway attempt each.
        (K::Capture | K::Refund, S::Pending, E::Succeeded) => Some(S::Succeeded),
        // Disputes: open until the bank decides; lost, the money went back (succeeded); won, it
        // stays (canceled). A dispute is never an attempt of ours, so it never fails.
        (K::Dispute, S::Pending, E::Succeeded) => Some(S::Succeeded),
        (K::Dispute, S::Pending, E::Canceled) => Some(S::Canceled),
        (K::Dispute, _, _) => None,
        // Any attempt still open can fail.
        (_, S::Pending | S::RequiresAction, E::Failed(failure)) => Some(S::Failed(failure.clone())),
        _ => None,
    };
    next.ok_or_else(|| InvalidTransition {
        kind,
        from: from.name(),
        event: event.clone(),
    })
}
