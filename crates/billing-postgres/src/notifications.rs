//! The [`NotificationLog`] port on PostgreSQL: queued emails, their messages and delivery
//! states.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BusinessId, CustomerId, NotificationId};
use billing_core::notification::{CarrierReport, Notification, OutboundMessage};
use billing_core::phone::PhoneNumber;
use billing_core::ports::{
    DeliveryFailure, DueNotification, NotificationLog, NotificationLogError, TextStatus,
};
use billing_sql::errors::{is_unique_violation, notification_error as log_error};
use billing_sql::rows::{
    ClaimedRow, NOTIFICATION_COLUMNS as COLUMNS, NotificationRow, carrier_report_advances,
    stored_keys,
};
use chrono::{DateTime, Utc};

use crate::pool::on_pool;
use crate::store::PostgresStore;

/// One notification by key.
static ONE: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM notifications WHERE business_id = $1 AND id = $2")
});

/// A customer's log, newest first.
static CUSTOMER_LOG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM notifications WHERE business_id = $1 AND customer_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    )
});

/// Claims the due notifications that `due` selects: locks them (skipping rows another claim
/// has locked, so concurrent claims get disjoint sets), moves their next attempt to the lease's
/// end, and returns them with the time they were due.
fn claim(due: &str) -> String {
    let returned = COLUMNS
        .split(", ")
        .map(|column| format!("n.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH due AS ({due} FOR UPDATE SKIP LOCKED) \
         UPDATE notifications AS n SET next_attempt_at = $lease \
         FROM due WHERE n.business_id = due.business_id AND n.id = due.id \
         RETURNING {returned}, due.due_at"
    )
}

/// Claims due notifications of one business: `$1` business, `$2` now, `$3` limit, `$4` lease.
static CLAIM_OF_ONE_BUSINESS: LazyLock<String> = LazyLock::new(|| {
    claim(
        "SELECT business_id, id, next_attempt_at AS due_at FROM notifications \
         WHERE business_id = $1 AND next_attempt_at IS NOT NULL AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at, id LIMIT $3",
    )
    .replace("$lease", "$4")
});

/// Claims due notifications of every business: `$1` now, `$2` limit, `$3` lease.
static CLAIM_OF_EVERY_BUSINESS: LazyLock<String> = LazyLock::new(|| {
    claim(
        "SELECT business_id, id, next_attempt_at AS due_at FROM notifications \
         WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, business_id, id LIMIT $2",
    )
    .replace("$lease", "$3")
});

impl PostgresStore {
    async fn notification_row(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<NotificationRow>, NotificationLogError> {
        on_pool!(self, |conn| {
            sqlx::query_as(ONE.as_str())
                .bind(business.as_str())
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(log_error)
    }
}

#[async_trait]
impl NotificationLog for PostgresStore {
    async fn record_queued(
        &self,
        business: &BusinessId,
        notification: &Notification,
        message: &OutboundMessage,
    ) -> Result<(), NotificationLogError> {
        let inserted = on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO notifications (business_id, id, customer_id, kind, to_address, \
                 subject, text_body, html_body, created_at, state, attempts, next_attempt_at, \
                 channel) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $9, $10)",
            )
            .bind(business.as_str())
            .bind(notification.id.as_str())
            .bind(notification.customer.as_str())
            .bind(notification.kind.as_str())
            .bind(&message.to)
            .bind(&message.subject)
            .bind(&message.text_body)
            .bind(&message.html_body)
            .bind(notification.created_at)
            .bind(notification.channel.as_str())
            .execute(conn)
            .await
        });
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
        self.notification_row(business, id)
            .await?
            .map(|row| row.notification())
            .transpose()
            .map_err(Into::into)
    }

    async fn message(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<OutboundMessage>, NotificationLogError> {
        Ok(self
            .notification_row(business, id)
            .await?
            .map(|row| row.message()))
    }

    async fn customer_log(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, NotificationLogError> {
        let rows: Vec<NotificationRow> = on_pool!(self, |conn| {
            sqlx::query_as(CUSTOMER_LOG.as_str())
                .bind(business.as_str())
                .bind(customer.as_str())
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
        })
        .map_err(log_error)?;
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
        // One statement: it locks, leases and returns the rows at once. Two statements rather
        // than `$1 IS NULL OR business_id = $1`, which a generic plan cannot serve with an index.
        let mut rows: Vec<ClaimedRow> = on_pool!(self, |conn| match business {
            Some(business) => {
                sqlx::query_as(CLAIM_OF_ONE_BUSINESS.as_str())
                    .bind(business.as_str())
                    .bind(now)
                    .bind(i64::from(limit))
                    .bind(lease_until)
                    .fetch_all(conn)
                    .await
            }
            None => {
                sqlx::query_as(CLAIM_OF_EVERY_BUSINESS.as_str())
                    .bind(now)
                    .bind(i64::from(limit))
                    .bind(lease_until)
                    .fetch_all(conn)
                    .await
            }
        })
        .map_err(log_error)?;
        // UPDATE ... RETURNING keeps no order: the longest waiting first, as the port promises.
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
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE notifications SET state = 'sent', attempted_at = $3, outcome = $4, \
                 next_attempt_at = NULL WHERE business_id = $1 AND id = $2",
            )
            .bind(business.as_str())
            .bind(id.as_str())
            .bind(at)
            .bind(server_reply)
            .execute(conn)
            .await
        })
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
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE notifications SET state = 'failed', attempted_at = $3, outcome = $4, \
                 attempts = $5, next_attempt_at = $6 \
                 WHERE business_id = $1 AND id = $2 AND state <> 'sent'",
            )
            .bind(business.as_str())
            .bind(id.as_str())
            .bind(failure.at)
            .bind(&failure.reason)
            .bind(i64::from(failure.attempts))
            .bind(failure.retry_at)
            .execute(conn)
            .await
        })
        .map_err(log_error)?;
        // Nothing changed: either there is no such notification, or it was sent already (and
        // stays sent).
        if done.rows_affected() == 0 && self.notification_row(business, id).await?.is_none() {
            return Err(NotificationLogError::NotFound(id.clone()));
        }
        Ok(())
    }

    async fn record_carrier_report(
        &self,
        reference: &str,
        report: &CarrierReport,
    ) -> Result<Option<(BusinessId, NotificationId)>, NotificationLogError> {
        // The statuses this report is further along than, by the core's rule: the update
        // applies only over one of them (or none yet), in one statement under the row's lock.
        let behind: Vec<&str> = TextStatus::ALL
            .into_iter()
            .map(TextStatus::as_str)
            .filter(|known| carrier_report_advances(Some(known), report))
            .collect();
        let found: Option<(String, String)> = on_pool!(self, |conn| {
            sqlx::query_as(
                "WITH found AS (SELECT business_id, id, carrier_status FROM notifications \
                     WHERE outcome = $1 AND channel = 'text' AND state = 'sent' \
                     LIMIT 1 FOR UPDATE), \
                 advanced AS (UPDATE notifications AS n SET carrier_status = $2, \
                     carrier_error = $3, carrier_at = $4 FROM found \
                     WHERE n.business_id = found.business_id AND n.id = found.id \
                     AND (found.carrier_status IS NULL OR found.carrier_status = ANY($5)) \
                     RETURNING n.id) \
                 SELECT business_id, id FROM found",
            )
            .bind(reference)
            .bind(report.status.as_str())
            .bind(&report.error_code)
            .bind(report.at)
            .bind(&behind)
            .fetch_optional(conn)
            .await
        })
        .map_err(log_error)?;
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
        on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO text_opt_outs (phone, opted_out, changed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (phone) DO UPDATE SET opted_out = excluded.opted_out, \
                 changed_at = excluded.changed_at \
                 WHERE excluded.changed_at >= text_opt_outs.changed_at",
            )
            .bind(phone.as_str())
            .bind(opted_out)
            .bind(at)
            .execute(conn)
            .await
        })
        .map_err(log_error)?;
        Ok(())
    }

    async fn text_opted_out(&self, phone: &PhoneNumber) -> Result<bool, NotificationLogError> {
        let opted_out: Option<bool> = on_pool!(self, |conn| {
            sqlx::query_scalar("SELECT opted_out FROM text_opt_outs WHERE phone = $1")
                .bind(phone.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(log_error)?;
        Ok(opted_out.unwrap_or(false))
    }
}
