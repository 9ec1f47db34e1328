//! The notification log (`notifications`): what was queued, the message, and where its
//! delivery stands.

use billing_core::ids::{BusinessId, CustomerId, NotificationId};
use billing_core::notification::{
    CarrierReport, Channel, DeliveryState, Notification, NotificationKind, OutboundMessage,
};
use billing_core::ports::{DueNotification, TextStatus};
use chrono::{DateTime, Utc};

use super::id;
use crate::StoredRowError;

const WHAT: &str = "stored notification";

/// The columns [`NotificationRow`] reads, in a SELECT list.
pub const NOTIFICATION_COLUMNS: &str = "business_id, id, customer_id, kind, to_address, \
    subject, text_body, html_body, created_at, state, attempts, attempted_at, outcome, \
    next_attempt_at, channel, carrier_status, carrier_error, carrier_at";

/// A notification row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct NotificationRow {
    business_id: String,
    id: String,
    customer_id: String,
    kind: String,
    to_address: String,
    subject: String,
    text_body: String,
    html_body: Option<String>,
    created_at: DateTime<Utc>,
    state: String,
    attempts: i64,
    attempted_at: Option<DateTime<Utc>>,
    outcome: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    channel: String,
    carrier_status: Option<String>,
    carrier_error: Option<String>,
    carrier_at: Option<DateTime<Utc>>,
}

/// A claimed row and when it was due (the claim has moved its next attempt to the lease's end).
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedRow {
    #[sqlx(flatten)]
    row: NotificationRow,
    due_at: DateTime<Utc>,
}

impl NotificationRow {
    fn attempts(&self) -> Result<u32, StoredRowError> {
        u32::try_from(self.attempts).map_err(|e| StoredRowError::new(WHAT, e))
    }

    fn delivery(&self) -> Result<DeliveryState, StoredRowError> {
        let last_attempt = || -> Result<(DateTime<Utc>, String), StoredRowError> {
            let at = self
                .attempted_at
                .ok_or_else(|| StoredRowError::new(WHAT, "an attempt without its time"))?;
            let outcome = self
                .outcome
                .clone()
                .ok_or_else(|| StoredRowError::new(WHAT, "an attempt without its outcome"))?;
            Ok((at, outcome))
        };
        match self.state.as_str() {
            "queued" => Ok(DeliveryState::Queued),
            "sent" => {
                let (at, server_reply) = last_attempt()?;
                Ok(DeliveryState::Sent { at, server_reply })
            }
            "failed" => {
                let (at, reason) = last_attempt()?;
                Ok(DeliveryState::Failed {
                    at,
                    reason,
                    attempts: self.attempts()?,
                    retry_at: self.next_attempt_at,
                })
            }
            other => Err(StoredRowError::new(
                WHAT,
                format!("unknown delivery state {other:?}"),
            )),
        }
    }

    fn carrier(&self) -> Result<Option<CarrierReport>, StoredRowError> {
        let Some(status) = &self.carrier_status else {
            return Ok(None);
        };
        Ok(Some(CarrierReport {
            status: TextStatus::parse(status).ok_or_else(|| {
                StoredRowError::new(WHAT, format!("unknown carrier status {status:?}"))
            })?,
            error_code: self.carrier_error.clone(),
            at: self
                .carrier_at
                .ok_or_else(|| StoredRowError::new(WHAT, "a carrier status without its time"))?,
        }))
    }

    /// The notification.
    pub fn notification(&self) -> Result<Notification, StoredRowError> {
        Ok(Notification {
            id: id::<NotificationId>(WHAT, &self.id)?,
            customer: id::<CustomerId>(WHAT, &self.customer_id)?,
            kind: NotificationKind::parse(&self.kind).ok_or_else(|| {
                StoredRowError::new(WHAT, format!("unknown kind {:?}", self.kind))
            })?,
            channel: Channel::parse(&self.channel).ok_or_else(|| {
                StoredRowError::new(WHAT, format!("unknown channel {:?}", self.channel))
            })?,
            to: self.to_address.clone(),
            subject: self.subject.clone(),
            created_at: self.created_at,
            delivery: self.delivery()?,
            carrier: self.carrier()?,
        })
    }

    /// The message to send.
    pub fn message(&self) -> OutboundMessage {
        OutboundMessage {
            to: self.to_address.clone(),
            subject: self.subject.clone(),
            text_body: self.text_body.clone(),
            html_body: self.html_body.clone(),
        }
    }
}

impl ClaimedRow {
    /// The claimed notification, as the claim left it (a failed one's retry reads the lease's
    /// end), with its message and attempts so far.
    pub fn due(self) -> Result<DueNotification, StoredRowError> {
        Ok(DueNotification {
            business: id::<BusinessId>(WHAT, &self.row.business_id)?,
            notification: self.row.notification()?,
            message: self.row.message(),
            attempts: self.row.attempts()?,
        })
    }

    /// The order a claim answers in: the longest waiting first, then by business and id.
    pub fn order_key(&self) -> (DateTime<Utc>, &str, &str) {
        (self.due_at, &self.row.business_id, &self.row.id)
    }
}

/// True when `report` is further along than the carrier status stored (none, or one of a
/// lower [`TextStatus::rank`]): a late or repeated report never undoes a later one. An
/// unreadable stored status is replaced.
pub fn carrier_report_advances(stored: Option<&str>, report: &CarrierReport) -> bool {
    stored
        .and_then(TextStatus::parse)
        .is_none_or(|known| report.status.rank() > known.rank())
}

/// A stored notification's business and id, read back.
pub fn stored_keys(
    business: &str,
    id: &str,
) -> Result<(BusinessId, NotificationId), StoredRowError> {
    Ok((
        super::id::<BusinessId>(WHAT, business)?,
        super::id::<NotificationId>(WHAT, id)?,
    ))
}
