use crate::ids::{ApiKeyId, LinkId, NotificationId, PaymentId, RunId, StaffId};

/// Makes new payment and notification ids. They must be unique across every process sharing one
/// store (random or time-ordered UUIDs, say). Making an id cannot fail, so this port has no error
/// type.
pub trait IdGenerator: Send + Sync {
    /// A fresh, never used payment id.
    fn payment_id(&self) -> PaymentId;

    /// A fresh, never used notification id. By default a fresh payment id's text with `ntf_` in
    /// place of its `pay_` prefix (unique because payment ids are; the payment id is simply never
    /// used); generators override it to keep payment ids dense.
    fn notification_id(&self) -> NotificationId {
        NotificationId::from_payment_id(&self.payment_id())
    }

    /// A fresh, never used link id: by default a fresh payment id's text with `lnk_` in place
    /// of its `pay_` prefix, like [`IdGenerator::notification_id`].
    fn link_id(&self) -> LinkId {
        LinkId::from_payment_id(&self.payment_id())
    }

    /// A fresh, never used run id: by default a fresh payment id's text with `run_` in place
    /// of its `pay_` prefix, like [`IdGenerator::notification_id`].
    fn run_id(&self) -> RunId {
        RunId::from_payment_id(&self.payment_id())
    }

    /// A fresh, never used staff member id: by default a fresh payment id's text with `stf_`
    /// in place of its `pay_` prefix.
    fn staff_id(&self) -> StaffId {
        StaffId::from_payment_id(&self.payment_id())
    }

    /// A fresh, never used API key id: by default a fresh payment id's text with `key_` in
    /// place of its `pay_` prefix.
    fn api_key_id(&self) -> ApiKeyId {
        ApiKeyId::from_payment_id(&self.payment_id())
    }
}
