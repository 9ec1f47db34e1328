//! The [`Schedules`] port on PostgreSQL: payment settings, booking schedules written by version,
//! due schedules taken under a lease, paused customers, and the history of runs.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::automation::PaymentSettings;
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::ports::{
    AutomationRun, BookingSchedule, DueSchedule, RunFilter, ScheduleError, ScheduleFilter,
    Schedules,
};
use billing_sql::errors::schedule_error;
use billing_sql::rows::{RunRow, ScheduleColumns, ScheduleRow, SettingsRow, StoredBody, TakenRow};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use crate::pool::on_pool;
use crate::store::PostgresStore;

/// The columns [`ScheduleRow`] reads, in a SELECT list (`body` as text: sqlx decodes `json`
/// into a `String` only through a cast).
const SCHEDULE_COLUMNS: &str = "business_id, booking_id, customer_id, due_at, needs_attention, \
    canceled_at, version, format, body::text AS body";

/// The columns [`RunRow`] reads, in a SELECT list.
const RUN_COLUMNS: &str = "id, booking_id, customer_id, at, outcome, format, body::text AS body";

/// One record by key.
static ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SCHEDULE_COLUMNS} FROM booking_schedules \
         WHERE business_id = $1 AND booking_id = $2"
    )
});

/// Takes the due records of every business: `$1` now, `$2` limit, `$3` the lease's end. Locks
/// them in the take's order, a range of the partial index booking_schedules_due read up to the
/// limit (skipping rows another take has locked, so concurrent takes get disjoint sets), leases
/// them, and returns them as leased with when each was due. Each locked row is updated by its
/// `ctid` (which cannot move while the statement holds its lock): joined on the key instead,
/// the generic plan, which expects a tenth of the table from `LIMIT $2`, merge-joined the whole
/// primary key index, and a take with a million records due took minutes.
static TAKE: LazyLock<String> = LazyLock::new(|| {
    let returned = SCHEDULE_COLUMNS
        .split(", ")
        .map(|column| format!("s.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH due AS (SELECT ctid AS row_id, due_at FROM booking_schedules \
         WHERE due_at IS NOT NULL AND due_at <= $1 \
         ORDER BY due_at, business_id, booking_id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE booking_schedules AS s SET due_at = $3, version = s.version + 1 \
         FROM due WHERE s.ctid = due.row_id \
         RETURNING {returned}, due.due_at AS was_due"
    )
});

/// Makes the open records `locked` selects due at `$2` at the latest, each one version
/// further. They are locked first in booking order, as every statement that writes several
/// records of a business does, so that two such statements never wait on each other in turn;
/// then each is updated by its key (joined on the whole key: a generic plan made on a small
/// table may otherwise read every record of the business once per record).
fn replan(first: &str, locked: &str) -> String {
    format!(
        "WITH {first}locked AS ({locked} ORDER BY booking_id FOR UPDATE) \
         UPDATE booking_schedules AS s \
         SET due_at = CASE WHEN s.due_at IS NULL OR s.due_at > $2 THEN $2 ELSE s.due_at END, \
         version = s.version + 1 \
         FROM locked \
         WHERE s.business_id = locked.business_id AND s.booking_id = locked.booking_id"
    )
}

/// Stores the business's (`$1`) settings (`$3` format, `$4` body) and makes its open records
/// due at `$2` at the latest, in one statement.
static PUT_SETTINGS: LazyLock<String> = LazyLock::new(|| {
    replan(
        "put AS (INSERT INTO payment_settings (business_id, format, body) \
         VALUES ($1, $3, $4::json) ON CONFLICT (business_id) DO UPDATE \
         SET format = excluded.format, body = excluded.body), ",
        "SELECT business_id, booking_id FROM booking_schedules \
         WHERE business_id = $1 AND canceled_at IS NULL",
    )
});

/// Resumes a customer (`$3`) of the business (`$1`) and makes their open records due at `$2`
/// at the latest, in one statement.
static RESUME: LazyLock<String> = LazyLock::new(|| {
    replan(
        "resumed AS (DELETE FROM automation_paused_customers \
         WHERE business_id = $1 AND customer_id = $3), ",
        "SELECT business_id, booking_id FROM booking_schedules \
         WHERE business_id = $1 AND customer_id = $3 AND canceled_at IS NULL",
    )
});

#[async_trait]
impl Schedules for PostgresStore {
    async fn payment_settings(
        &self,
        business: &BusinessId,
    ) -> Result<Option<PaymentSettings>, ScheduleError> {
        let row: Option<SettingsRow> = on_pool!(self, |conn| {
            sqlx::query_as(
                "SELECT format, body::text AS body FROM payment_settings WHERE business_id = $1",
            )
            .bind(business.as_str())
            .fetch_optional(conn)
            .await
        })
        .map_err(schedule_error)?;
        Ok(row.as_ref().map(SettingsRow::settings).transpose()?)
    }

    async fn put_payment_settings(
        &self,
        business: &BusinessId,
        settings: &PaymentSettings,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        let stored = StoredBody::settings(settings)?;
        on_pool!(self, |conn| {
            sqlx::query(PUT_SETTINGS.as_str())
                .bind(business.as_str())
                .bind(replan_at)
                .bind(stored.format)
                .bind(&stored.body)
                .execute(conn)
                .await
        })
        .map_err(schedule_error)?;
        Ok(())
    }

    async fn schedule(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSchedule>, ScheduleError> {
        let row: Option<ScheduleRow> = on_pool!(self, |conn| {
            sqlx::query_as(ONE.as_str())
                .bind(business.as_str())
                .bind(booking.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(schedule_error)?;
        Ok(row.as_ref().map(ScheduleRow::schedule).transpose()?)
    }

    async fn save_schedule(
        &self,
        business: &BusinessId,
        schedule: &BookingSchedule,
    ) -> Result<bool, ScheduleError> {
        let columns = ScheduleColumns::of(schedule)?;
        // Compare and set in one statement: version 0 stores a record only where none is; any
        // other lands only on the stored row still at that version (a concurrent write waits
        // for this one's row lock, then finds the version moved and updates nothing).
        let insert = columns.read_version == 0;
        let query = sqlx::query(if insert {
            "INSERT INTO booking_schedules (business_id, booking_id, customer_id, due_at, \
             needs_attention, canceled_at, format, body, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, 1) \
             ON CONFLICT (business_id, booking_id) DO NOTHING"
        } else {
            "UPDATE booking_schedules SET customer_id = $3, due_at = $4, needs_attention = $5, \
             canceled_at = $6, format = $7, body = $8::json, version = version + 1 \
             WHERE business_id = $1 AND booking_id = $2 AND version = $9"
        })
        .bind(business.as_str())
        .bind(schedule.booking.as_str())
        .bind(schedule.customer.as_str())
        .bind(columns.due_at)
        .bind(columns.needs_attention)
        .bind(columns.canceled_at)
        .bind(columns.body.format)
        .bind(&columns.body.body);
        let query = if insert {
            query
        } else {
            query.bind(columns.read_version)
        };
        let done = on_pool!(self, |conn| query.execute(conn).await).map_err(schedule_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn take_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueSchedule>, ScheduleError> {
        // One statement: it locks, leases and returns the rows at once.
        let mut rows: Vec<TakenRow> = on_pool!(self, |conn| {
            sqlx::query_as(TAKE.as_str())
                .bind(now)
                .bind(i64::from(limit))
                .bind(lease_until)
                .fetch_all(conn)
                .await
        })
        .map_err(schedule_error)?;
        // UPDATE ... RETURNING keeps no order: the earliest due first, as the port promises.
        rows.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        Ok(rows.iter().map(TakenRow::due).collect::<Result<_, _>>()?)
    }

    async fn list_schedules(
        &self,
        business: &BusinessId,
        filter: &ScheduleFilter,
    ) -> Result<Vec<BookingSchedule>, ScheduleError> {
        // Only the filters given are in the statement (no `$n IS NULL OR ...`, which a generic
        // plan cannot serve with an index), so the index for them serves it.
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM booking_schedules WHERE business_id = "
        ));
        query.push_bind(business.as_str());
        if let Some(customer) = &filter.customer {
            query
                .push(" AND customer_id = ")
                .push_bind(customer.as_str());
        }
        // Written out, not bound: a generic plan can use the partial index
        // booking_schedules_needing_attention only for a predicate it can see is its own.
        match filter.needs_attention {
            Some(true) => {
                query.push(" AND needs_attention");
            }
            Some(false) => {
                query.push(" AND NOT needs_attention");
            }
            None => {}
        }
        if let Some(after) = &filter.after {
            query.push(" AND booking_id > ").push_bind(after.as_str());
        }
        query
            .push(" ORDER BY booking_id LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows: Vec<ScheduleRow> =
            on_pool!(self, |conn| query.build_query_as().fetch_all(conn).await)
                .map_err(schedule_error)?;
        Ok(rows
            .iter()
            .map(ScheduleRow::schedule)
            .collect::<Result<_, _>>()?)
    }

    async fn set_customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        paused: bool,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        if paused {
            on_pool!(self, |conn| {
                sqlx::query(
                    "INSERT INTO automation_paused_customers (business_id, customer_id) \
                     VALUES ($1, $2) ON CONFLICT (business_id, customer_id) DO NOTHING",
                )
                .bind(business.as_str())
                .bind(customer.as_str())
                .execute(conn)
                .await
            })
            .map_err(schedule_error)?;
            return Ok(());
        }
        on_pool!(self, |conn| {
            sqlx::query(RESUME.as_str())
                .bind(business.as_str())
                .bind(replan_at)
                .bind(customer.as_str())
                .execute(conn)
                .await
        })
        .map_err(schedule_error)?;
        Ok(())
    }

    async fn customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<bool, ScheduleError> {
        let found: Option<i32> = on_pool!(self, |conn| {
            sqlx::query_scalar(
                "SELECT 1 FROM automation_paused_customers \
                 WHERE business_id = $1 AND customer_id = $2",
            )
            .bind(business.as_str())
            .bind(customer.as_str())
            .fetch_optional(conn)
            .await
        })
        .map_err(schedule_error)?;
        Ok(found.is_some())
    }

    async fn record_run(
        &self,
        business: &BusinessId,
        run: &AutomationRun,
    ) -> Result<(), ScheduleError> {
        let stored = StoredBody::run(run)?;
        // A run recorded again under its id (a retried call) keeps the first.
        on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO automation_runs (business_id, id, booking_id, customer_id, at, \
                 outcome, format, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json) \
                 ON CONFLICT (business_id, id) DO NOTHING",
            )
            .bind(business.as_str())
            .bind(run.id.as_str())
            .bind(run.booking.as_str())
            .bind(run.customer.as_str())
            .bind(run.at)
            .bind(run.outcome.name())
            .bind(stored.format)
            .bind(&stored.body)
            .execute(conn)
            .await
        })
        .map_err(schedule_error)?;
        Ok(())
    }

    async fn runs(
        &self,
        business: &BusinessId,
        filter: &RunFilter,
    ) -> Result<Vec<AutomationRun>, ScheduleError> {
        // Only the filters given are in the statement, so that each is a range of its index
        // (the business's, the booking's or the outcome's), newest first.
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {RUN_COLUMNS} FROM automation_runs WHERE business_id = "
        ));
        query.push_bind(business.as_str());
        if let Some(booking) = &filter.booking {
            query.push(" AND booking_id = ").push_bind(booking.as_str());
        }
        if let Some(outcome) = filter.outcome {
            query.push(" AND outcome = ").push_bind(outcome);
        }
        if let Some((at, id)) = &filter.before {
            query
                .push(" AND (at, id) < (")
                .push_bind(*at)
                .push(", ")
                .push_bind(id.as_str())
                .push(")");
        }
        query
            .push(" ORDER BY at DESC, id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows: Vec<RunRow> = on_pool!(self, |conn| query.build_query_as().fetch_all(conn).await)
            .map_err(schedule_error)?;
        Ok(rows.iter().map(RunRow::run).collect::<Result<_, _>>()?)
    }
}
