//! The [`NotificationLog`] port on SQLite: queued emails, their messages and delivery states.

use async_trait::async_trait;
use billing_core::ids::{BusinessId, CustomerId, NotificationId};
use billing_core::notification::{DeliveryState, Notification, NotificationKind, OutboundMessage};
use billing_core::ports::{
    DeliveryFailure, DueNotification, NotificationLog, NotificationLogError,
};
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::LazyLock;

use crate::codec::is_unique_violation;
use crate::store::SqliteStore;

/// The columns [`NotificationRow`] reads, in a SELECT list.
const COLUMNS: &str = "business_id, id, customer_id, kind, to_address, subject, text_body, \
    html_body, created_at, state, attempts, attempted_at, outcome, next_attempt_at";

/// The due notifications of one business, longest waiting first.
static DUE_OF_ONE_BUSINESS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM notifications WHERE business_id = ?1 \
         AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?2 \
         ORDER BY next_attempt_at, id LIMIT ?3"
    )
});

/// The due notifications of every business, longest waiting first.
static DUE_OF_EVERY_BUSINESS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM notifications \
         WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 \
         ORDER BY next_attempt_at, business_id, id LIMIT ?2"
    )
});

/// A time as this table stores it: fixed width, so that text order is time order.
fn sortable(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(what: &str, text: &str) -> Result<DateTime<Utc>, NotificationLogError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, e))
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> NotificationLogError {
    NotificationLogError::Corrupt(format!("{what}: {error}"))
}

/// Unreadable rows are `Corrupt`; everything else (I/O, pool, locks) is `Unavailable`.
fn log_error(error: sqlx::Error) -> NotificationLogError {
    match error {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => NotificationLogError::Corrupt(error.to_string()),
        other => NotificationLogError::Unavailable(other.to_string()),
    }
}

/// A notification row as read.
#[derive(Debug, sqlx::FromRow)]
struct NotificationRow {
    business_id: String,
    id: String,
    customer_id: String,
    kind: String,
    to_address: String,
    subject: String,
    text_body: String,
    html_body: Option<String>,
    created_at: String,
    state: String,
    attempts: i64,
    attempted_at: Option<String>,
    outcome: Option<String>,
    next_attempt_at: Option<String>,
}

impl NotificationRow {
    fn attempts(&self) -> Result<u32, NotificationLogError> {
        u32::try_from(self.attempts).map_err(|e| corrupt("stored attempts", e))
    }

    fn delivery(&self) -> Result<DeliveryState, NotificationLogError> {
        let last_attempt = || -> Result<(DateTime<Utc>, String), NotificationLogError> {
            let at = self
                .attempted_at
                .as_deref()
                .ok_or_else(|| corrupt("notification", "an attempt without its time"))?;
            let outcome = self
                .outcome
                .clone()
                .ok_or_else(|| corrupt("notification", "an attempt without its outcome"))?;
            Ok((parse_time("attempt time", at)?, outcome))
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
                    retry_at: self
                        .next_attempt_at
                        .as_deref()
                        .map(|t| parse_time("retry time", t))
                        .transpose()?,
                })
            }
            other => Err(corrupt("unknown delivery state", other)),
        }
    }

    fn notification(&self) -> Result<Notification, NotificationLogError> {
        Ok(Notification {
            id: NotificationId::new(self.id.as_str()).map_err(|e| corrupt("stored id", e))?,
            customer: CustomerId::new(self.customer_id.as_str())
                .map_err(|e| corrupt("stored customer id", e))?,
            kind: NotificationKind::parse(&self.kind)
                .ok_or_else(|| corrupt("unknown notification kind", &self.kind))?,
            to: self.to_address.clone(),
            subject: self.subject.clone(),
            created_at: parse_time("creation time", &self.created_at)?,
            delivery: self.delivery()?,
        })
    }

    fn message(&self) -> OutboundMessage {
        OutboundMessage {
            to: self.to_address.clone(),
            subject: self.subject.clone(),
            text_body: self.text_body.clone(),
            html_body: self.html_body.clone(),
        }
    }

    fn due(self) -> Result<DueNotification, NotificationLogError> {
        Ok(DueNotification {
            business: BusinessId::new(self.business_id.as_str())
                .map_err(|e| corrupt("stored business id", e))?,
            notification: self.notification()?,
            message: self.message(),
            attempts: self.attempts()?,
        })
    }
}

impl SqliteStore {
    async fn row(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<NotificationRow>, NotificationLogError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE business_id = ?1 AND id = ?2"
        ))
        .bind(business.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(log_error)
    }
}

#[async_trait]
impl NotificationLog for SqliteStore {
    async fn record_queued(
        &self,
        business: &BusinessId,
        notification: &Notification,
        message: &OutboundMessage,
    ) -> Result<(), NotificationLogError> {
        let created_at = sortable(&notification.created_at);
        let inserted = sqlx::query(
            "INSERT INTO notifications (business_id, id, customer_id, kind, to_address, subject, \
             text_body, html_body, created_at, state, attempts, next_attempt_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', 0, ?9)",
        )
        .bind(business.as_str())
        .bind(notification.id.as_str())
        .bind(notification.customer.as_str())
        .bind(notification.kind.as_str())
        .bind(&message.to)
        .bind(&message.subject)
        .bind(&message.text_body)
        .bind(&message.html_body)
        .bind(&created_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(NotificationLogError::AlreadyExists(notification.id.clone()))
            }
            Err(error) => Err(log_error(error)),
        }
    }

    async fn notification(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<Notification>, NotificationLogError> {
        self.row(business, id)
            .await?
            .map(|row| row.notification())
            .transpose()
    }

    async fn message(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<OutboundMessage>, NotificationLogError> {
        Ok(self.row(business, id).await?.map(|row| row.message()))
    }

    async fn customer_log(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, NotificationLogError> {
        let rows: Vec<NotificationRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE business_id = ?1 AND customer_id = ?2 \
             ORDER BY created_at DESC, id DESC LIMIT ?3"
        ))
        .bind(business.as_str())
        .bind(customer.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(log_error)?;
        rows.iter().map(NotificationRow::notification).collect()
    }

    async fn claim_due(
        &self,
        business: Option<&BusinessId>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueNotification>, NotificationLogError> {
        let now = sortable(&now);
        let lease_until = sortable(&lease_until);
        // A write transaction from its first statement: no other claim can read the same due
        // rows before this one has leased them.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(log_error)?;
        // Two statements rather than `?2 IS NULL OR business_id = ?2`, so that each is served
        // by its own partial index.
        let mut rows: Vec<NotificationRow> = match business {
            Some(business) => sqlx::query_as(DUE_OF_ONE_BUSINESS.as_str())
                .bind(business.as_str())
                .bind(&now)
                .bind(i64::from(limit)),
            None => sqlx::query_as(DUE_OF_EVERY_BUSINESS.as_str())
                .bind(&now)
                .bind(i64::from(limit)),
        }
        .fetch_all(&mut *tx)
        .await
        .map_err(log_error)?;
        for row in &mut rows {
            sqlx::query(
                "UPDATE notifications SET next_attempt_at = ?3 WHERE business_id = ?1 AND id = ?2",
            )
            .bind(&row.business_id)
            .bind(&row.id)
            .bind(&lease_until)
            .execute(&mut *tx)
            .await
            .map_err(log_error)?;
            row.next_attempt_at = Some(lease_until.clone());
        }
        tx.commit().await.map_err(log_error)?;
        rows.into_iter().map(NotificationRow::due).collect()
    }

    async fn mark_sent(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        at: DateTime<Utc>,
        server_reply: &str,
    ) -> Result<(), NotificationLogError> {
        let done = sqlx::query(
            "UPDATE notifications SET state = 'sent', attempted_at = ?3, outcome = ?4, \
             next_attempt_at = NULL WHERE business_id = ?1 AND id = ?2",
        )
        .bind(business.as_str())
        .bind(id.as_str())
        .bind(sortable(&at))
        .bind(server_reply)
        .execute(&self.pool)
        .await
        .map_err(log_error)?;
        if done.rows_affected() == 0 {
            return Err(NotificationLogError::NotFound(id.clone()));
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        failure: &DeliveryFailure,
    ) -> Result<(), NotificationLogError> {
        let done = sqlx::query(
            "UPDATE notifications SET state = 'failed', attempted_at = ?3, outcome = ?4, \
             attempts = ?5, next_attempt_at = ?6 \
             WHERE business_id = ?1 AND id = ?2 AND state <> 'sent'",
        )
        .bind(business.as_str())
        .bind(id.as_str())
        .bind(sortable(&failure.at))
        .bind(&failure.reason)
        .bind(i64::from(failure.attempts))
        .bind(failure.retry_at.as_ref().map(sortable))
        .execute(&self.pool)
        .await
        .map_err(log_error)?;
        // Nothing changed: either there is no such notification, or it was sent already (and
        // stays sent).
        if done.rows_affected() == 0 && self.row(business, id).await?.is_none() {
            return Err(NotificationLogError::NotFound(id.clone()));
        }
        Ok(())
    }
}
