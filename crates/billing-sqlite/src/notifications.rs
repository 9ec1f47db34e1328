//! The [`NotificationLog`] port on SQLite: queued emails, their messages and delivery states.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BusinessId, CustomerId, NotificationId};
use billing_core::notification::{CarrierReport, Notification, OutboundMessage};
use billing_core::phone::PhoneNumber;
use billing_core::ports::{
    DeliveryFailure, DueNotification, NotificationLog, NotificationLogError,
};
use billing_sql::errors::{is_unique_violation, notification_error};
use billing_sql::rows::{
    ClaimedRow, NOTIFICATION_COLUMNS, NotificationRow, carrier_report_advances, stored_keys,
};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::store::{SqliteStore, time_text};

/// One notification by key.
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE business_id = ?1 AND id = ?2")
});

/// A customer's log, newest first.
static OF_CUSTOMER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications \
         WHERE business_id = ?1 AND customer_id = ?2 \
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    )
});

/// Claimed rows as the claim left them, with when each was due: `?1` is a JSON array of
/// `[business, id, due]`.
static CLAIMED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {NOTIFICATION_COLUMNS}, d.due_at FROM \
         (SELECT value ->> 0 AS b, value ->> 1 AS i, value ->> 2 AS due_at FROM json_each(?1)) d \
         JOIN notifications ON business_id = d.b AND id = d.i"
    )
});

/// The keys of the due notifications, longest waiting first: of one business (`?3`) or of
/// every business. Two statements rather than `?3 IS NULL OR business_id = ?3`, so that each
/// is a range of its own partial index.
const DUE_OF_ONE_BUSINESS: &str = "SELECT business_id, id, next_attempt_at FROM notifications \
    WHERE business_id = ?3 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 \
    ORDER BY next_attempt_at, id LIMIT ?2";
const DUE_OF_EVERY_BUSINESS: &str = "SELECT business_id, id, next_attempt_at FROM notifications \
    WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 \
    ORDER BY next_attempt_at, business_id, id LIMIT ?2";

impl SqliteStore {
    async fn notification_row(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<NotificationRow>, NotificationLogError> {
        let (business, id) = (business.as_str().to_owned(), id.as_str().to_owned());
        self.with_reader(move |conn| {
            Box::pin(async move {
                sqlx::query_as(BY_ID.as_str())
                    .bind(business)
                    .bind(id)
                    .fetch_optional(conn)
                    .await
                    .map_err(notification_error)
            })
        })
        .await
    }
}

/// Leases the due notifications (in the writer's transaction: no other claim, of this process
/// or another, can read them before they are leased), and reads them back as leased.
async fn claim(
    conn: &mut SqliteConnection,
    business: Option<String>,
    now: String,
    lease_until: String,
    limit: i64,
) -> Result<Vec<ClaimedRow>, sqlx::Error> {
    let due: Vec<(String, String, String)> = match business {
        Some(business) => sqlx::query_as(DUE_OF_ONE_BUSINESS)
            .bind(now)
            .bind(limit)
            .bind(business),
        None => sqlx::query_as(DUE_OF_EVERY_BUSINESS).bind(now).bind(limit),
    }
    .fetch_all(&mut *conn)
    .await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let keys = serde_json::Value::from(
        due.into_iter()
            .map(|(business, id, due_at)| serde_json::json!([business, id, due_at]))
            .collect::<Vec<_>>(),
    )
    .to_string();
    sqlx::query(
        "UPDATE notifications SET next_attempt_at = ?1 \
         WHERE (business_id, id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2))",
    )
    .bind(lease_until)
    .bind(&keys)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(CLAIMED.as_str())
        .bind(keys)
        .fetch_all(&mut *conn)
        .await
}

#[async_trait]
impl NotificationLog for SqliteStore {
    async fn record_queued(
        &self,
        business: &BusinessId,
        notification: &Notification,
        message: &OutboundMessage,
    ) -> Result<(), NotificationLogError> {
        let business = business.as_str().to_owned();
        let id = notification.id.clone();
        let customer = notification.customer.as_str().to_owned();
        let kind = notification.kind.as_str();
        let created_at = time_text(&notification.created_at);
        let channel = notification.channel.as_str();
        let message = message.clone();
        self.with_writer(move |conn| {
            Box::pin(async move {
                let inserted = sqlx::query(
                    "INSERT INTO notifications (business_id, id, customer_id, kind, to_address, \
                     subject, text_body, html_body, created_at, state, attempts, \
                     next_attempt_at, channel) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', 0, ?9, ?10)",
                )
                .bind(business)
                .bind(id.as_str())
                .bind(customer)
                .bind(kind)
                .bind(message.to)
                .bind(message.subject)
                .bind(message.text_body)
                .bind(message.html_body)
                .bind(created_at)
                .bind(channel)
                .execute(conn)
                .await;
                match inserted {
                    Ok(_) => Ok(()),
                    Err(error) if is_unique_violation(&error) => {
                        Err(NotificationLogError::AlreadyExists(id))
                    }
                    Err(error) => Err(notification_error(error)),
                }
            })
        })
        .await
    }

    async fn notification(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<Notification>, NotificationLogError> {
        let row = self.notification_row(business, id).await?;
        Ok(row
            .as_ref()
            .map(NotificationRow::notification)
            .transpose()?)
    }

    async fn message(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<OutboundMessage>, NotificationLogError> {
        let row = self.notification_row(business, id).await?;
        Ok(row.as_ref().map(NotificationRow::message))
    }

    async fn customer_log(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, NotificationLogError> {
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let rows: Vec<NotificationRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(OF_CUSTOMER.as_str())
                        .bind(business)
                        .bind(customer)
                        .bind(i64::from(limit))
                        .fetch_all(conn)
                        .await
                        .map_err(notification_error)
                })
            })
            .await?;
        Ok(rows
            .iter()
            .map(NotificationRow::notification)
            .collect::<Result<_, _>>()?)
    }

    async fn claim_due(
        &self,
        business: Option<&BusinessId>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueNotification>, NotificationLogError> {
        let business = business.map(|b| b.as_str().to_owned());
        let (now, lease_until) = (time_text(&now), time_text(&lease_until));
        let mut rows = self
            .with_writer(move |conn| {
                Box::pin(async move {
                    claim(conn, business, now, lease_until, i64::from(limit))
                        .await
                        .map_err(notification_error)
                })
            })
            .await?;
        rows.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        Ok(rows
            .into_iter()
            .map(ClaimedRow::due)
            .collect::<Result<_, _>>()?)
    }

    async fn mark_sent(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        at: DateTime<Utc>,
        server_reply: &str,
    ) -> Result<(), NotificationLogError> {
        let business = business.as_str().to_owned();
        let id = id.clone();
        let (at, server_reply) = (time_text(&at), server_reply.to_owned());
        self.with_writer(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE notifications SET state = 'sent', attempted_at = ?3, outcome = ?4, \
                     next_attempt_at = NULL WHERE business_id = ?1 AND id = ?2",
                )
                .bind(business)
                .bind(id.as_str())
                .bind(at)
                .bind(server_reply)
                .execute(conn)
                .await
                .map_err(notification_error)?;
                if done.rows_affected() == 0 {
                    return Err(NotificationLogError::NotFound(id));
                }
                Ok(())
            })
        })
        .await
    }

    async fn mark_failed(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        failure: &DeliveryFailure,
    ) -> Result<(), NotificationLogError> {
        let business = business.as_str().to_owned();
        let id = id.clone();
        let failure = failure.clone();
        self.with_writer(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE notifications SET state = 'failed', attempted_at = ?3, \
                     outcome = ?4, attempts = ?5, next_attempt_at = ?6 \
                     WHERE business_id = ?1 AND id = ?2 AND state <> 'sent'",
                )
                .bind(&business)
                .bind(id.as_str())
                .bind(time_text(&failure.at))
                .bind(failure.reason)
                .bind(i64::from(failure.attempts))
                .bind(failure.retry_at.as_ref().map(time_text))
                .execute(&mut *conn)
                .await
                .map_err(notification_error)?;
                if done.rows_affected() == 1 {
                    return Ok(());
                }
                // Nothing changed: either there is no such notification, or it was sent
                // already (and stays sent).
                let exists: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM notifications WHERE business_id = ?1 AND id = ?2",
                )
                .bind(&business)
                .bind(id.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(notification_error)?;
                match exists {
                    Some(_) => Ok(()),
                    None => Err(NotificationLogError::NotFound(id)),
                }
            })
        })
        .await
    }

    async fn record_carrier_report(
        &self,
        reference: &str,
        report: &CarrierReport,
    ) -> Result<Option<(BusinessId, NotificationId)>, NotificationLogError> {
        let reference = reference.to_owned();
        let report = report.clone();
        let found: Option<(String, String)> = self
            .with_writer(move |conn| {
                Box::pin(async move {
                    let found: Option<(String, String, Option<String>)> = sqlx::query_as(
                        "SELECT business_id, id, carrier_status FROM notifications \
                         WHERE outcome = ?1 AND channel = 'text' AND state = 'sent'",
                    )
                    .bind(&reference)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(notification_error)?;
                    let Some((business, id, known)) = found else {
                        return Ok::<_, NotificationLogError>(None);
                    };
                    if carrier_report_advances(known.as_deref(), &report) {
                        sqlx::query(
                            "UPDATE notifications SET carrier_status = ?3, carrier_error = ?4, \
                             carrier_at = ?5 WHERE business_id = ?1 AND id = ?2",
                        )
                        .bind(&business)
                        .bind(&id)
                        .bind(report.status.as_str())
                        .bind(report.error_code)
                        .bind(time_text(&report.at))
                        .execute(&mut *conn)
                        .await
                        .map_err(notification_error)?;
                    }
                    Ok(Some((business, id)))
                })
            })
            .await?;
        Ok(found
            .map(|(business, id)| stored_keys(&business, &id))
            .transpose()?)
    }

    async fn set_text_opt_out(
        &self,
        phone: &PhoneNumber,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> Result<(), NotificationLogError> {
        let (phone, at) = (phone.as_str().to_owned(), time_text(&at));
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO text_opt_outs (phone, opted_out, changed_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (phone) DO UPDATE SET opted_out = excluded.opted_out, \
                     changed_at = excluded.changed_at \
                     WHERE excluded.changed_at >= text_opt_outs.changed_at",
                )
                .bind(phone)
                .bind(opted_out)
                .bind(at)
                .execute(conn)
                .await
                .map(drop)
                .map_err(notification_error)
            })
        })
        .await
    }

    async fn text_opted_out(&self, phone: &PhoneNumber) -> Result<bool, NotificationLogError> {
        let phone = phone.as_str().to_owned();
        let opted_out: Option<bool> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_scalar("SELECT opted_out FROM text_opt_outs WHERE phone = ?1")
                        .bind(phone)
                        .fetch_optional(conn)
                        .await
                        .map_err(notification_error)
                })
            })
            .await?;
        Ok(opted_out.unwrap_or(false))
    }
}
