use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::{BusinessId, CustomerId, NotificationId};
use crate::notification::{CarrierReport, Notification, OutboundMessage};
use crate::phone::PhoneNumber;

/// Why the notification log failed. A failed call wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationLogError {
    /// The business already has a notification with that id.
    #[error("notification {0} already exists")]
    AlreadyExists(NotificationId),
    /// The business has no notification with that id.
    #[error("notification {0} not found")]
    NotFound(NotificationId),
    /// The store could not be reached, or the operation failed.
    #[error("notification log unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt or from an unknown version).
    #[error("notification log data unreadable: {0}")]
    Corrupt(String),
}

/// A notification whose next attempt is due, claimed by one worker (see
/// [`NotificationLog::claim_due`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotification {
    /// The business it belongs to (a worker may serve every business at once).
    pub business: BusinessId,
    /// The notification as the claim left it.
    pub notification: Notification,
    /// The message to send.
    pub message: OutboundMessage,
    /// How many attempts were made before this one.
    pub attempts: u32,
}

/// A failed attempt, as [`NotificationLog::mark_failed`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// When the attempt failed.
    pub at: DateTime<Utc>,
    /// Why, as the mail server or the mailer put it.
    pub reason: String,
    /// How many attempts were made, this one included.
    pub attempts: u32,
    /// When the next attempt may start; `None` to give up.
    pub retry_at: Option<DateTime<Utc>>,
}

/// The log of every email queued for a business, with the message and where its delivery
/// stands, scoped per business: no method reads or writes another business's notifications
/// (only [`NotificationLog::claim_due`] may serve every business, for a worker, and it says
/// whose each one is).
///
/// A notification is *due* from the time it is queued until it is sent or given up, once its
/// next attempt time has come. Claiming moves that time forward by a lease, so that two workers
/// never send one message at the same time, and a worker that dies mid-send leaves the message
/// to be tried again when the lease runs out: delivery is at least once.
#[async_trait]
pub trait NotificationLog: Send + Sync {
    /// Records a queued notification (in
    /// [`DeliveryState::Queued`](crate::notification::DeliveryState::Queued), its address and
    /// subject those of `message`, as [`Notification::queued`] makes it) with the message to
    /// send; it is due at once. [`NotificationLogError::AlreadyExists`] when the
    /// business has a notification with that id.
    async fn record_queued(
        &self,
        business: &BusinessId,
        notification: &Notification,
        message: &OutboundMessage,
    ) -> Result<(), NotificationLogError>;

    /// A notification, or `None` when the business has no such notification.
    async fn notification(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<Notification>, NotificationLogError>;

    /// The message of a notification, or `None` when the business has no such notification.
    async fn message(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<OutboundMessage>, NotificationLogError>;

    /// A customer's notifications, newest first (those queued at the same instant by id,
    /// descending), at most `limit`.
    async fn customer_log(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, NotificationLogError>;

    /// Claims at most `limit` notifications due at `now` — of `business`, or of every business
    /// when `None` — the longest waiting first (then by business and id), and moves their next
    /// attempt to `lease_until`, all at once: a concurrent claim gets other ones. The claimed
    /// notifications come back as the claim left them (a failed one's `retry_at` reads
    /// `lease_until`) with the number of attempts made so far.
    async fn claim_due(
        &self,
        business: Option<&BusinessId>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueNotification>, NotificationLogError>;

    /// Records that the notification was sent, with the server's reply; it is never due again.
    /// [`NotificationLogError::NotFound`] when the business has no such notification.
    async fn mark_sent(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        at: DateTime<Utc>,
        server_reply: &str,
    ) -> Result<(), NotificationLogError>;

    /// Records a failed attempt; the notification is due again at `failure.retry_at`, or never
    /// when it is `None`. A notification already sent stays sent (a slow worker whose lease ran
    /// out does not undo another's delivery). [`NotificationLogError::NotFound`] when the
    /// business has no such notification.
    async fn mark_failed(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        failure: &DeliveryFailure,
    ) -> Result<(), NotificationLogError>;

    /// Records what the text provider reported of a text it took, found by the provider's
    /// message id (the reply [`mark_sent`](NotificationLog::mark_sent) kept) in whichever
    /// business sent it: the provider's ids are unique, and its callback names no business.
    /// The report is kept unless the text already has one as far along
    /// ([`TextStatus::rank`](crate::ports::TextStatus::rank)), so that a late or repeated
    /// report never undoes a later one. Answers the text's business and id, or `None` when no
    /// sent text has that id.
    async fn record_carrier_report(
        &self,
        reference: &str,
        report: &CarrierReport,
    ) -> Result<Option<(BusinessId, NotificationId)>, NotificationLogError>;

    /// Records that `phone` refused texts (`opted_out`: it replied STOP) or welcomes them
    /// again, as of `at`; a change older than the one recorded is ignored (replies may arrive
    /// out of order). Texts leave from the platform's number for every business, and the
    /// provider refuses the pair for all of them, so the choice holds for every business.
    async fn set_text_opt_out(
        &self,
        phone: &PhoneNumber,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> Result<(), NotificationLogError>;

    /// True when `phone` refused texts and has not opted in again.
    async fn text_opted_out(&self, phone: &PhoneNumber) -> Result<bool, NotificationLogError>;
}
