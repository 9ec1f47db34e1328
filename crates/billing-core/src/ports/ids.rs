use crate::ids::PaymentId;

/// Makes new payment ids. They must be unique across every process sharing one store (random or
/// time-ordered UUIDs, say). Making an id cannot fail, so this port has no error type.
pub trait IdGenerator: Send + Sync {
    /// A fresh, never used payment id.
    fn payment_id(&self) -> PaymentId;
}
