//! The [`Schedules`] port on SQLite: payment settings, booking schedules written by version,
//! due schedules taken under a lease, paused customers, and the history of runs.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::automation::PaymentSettings;
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::ports::{
    AutomationRun, BookingSchedule, DueSchedule, RunFilter, ScheduleError, ScheduleFilter,
    Schedules,
};
use billing_sql::errors::schedule_error;
use billing_sql::rows::{
    RUN_COLUMNS, RunRow, SCHEDULE_COLUMNS, ScheduleColumns, ScheduleRow, SettingsRow, StoredBody,
};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::store::{SqliteStore, time_text};

/// One record by key.
static ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SCHEDULE_COLUMNS} FROM booking_schedules WHERE business_id = ?1 \
         AND booking_id = ?2"
    )
});

/// The keys of the due records, in the take's order: a range of the partial index
/// booking_schedules_due, read up to the limit.
const DUE: &str = "SELECT business_id, booking_id FROM booking_schedules \
    WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at, business_id, booking_id LIMIT ?2";

/// Leases the records whose keys `?2` lists (a JSON array of `[business, booking]`) until `?1`.
static TAKE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE booking_schedules SET due_at = ?1, version = version + 1 \
         WHERE (business_id, booking_id) IN \
         (SELECT value ->> 0, value ->> 1 FROM json_each(?2)) RETURNING {SCHEDULE_COLUMNS}"
    )
});

/// Makes the open records `?1` selects due at `?2` at the latest, each one version further.
fn replan(which: &str) -> String {
    format!(
        "UPDATE booking_schedules \
         SET due_at = CASE WHEN due_at IS NULL OR due_at > ?2 THEN ?2 ELSE due_at END, \
         version = version + 1 WHERE business_id = ?1 AND canceled_at IS NULL{which}"
    )
}

/// Every open record of the business (`?1`), due at `?2` at the latest.
static REPLAN_BUSINESS: LazyLock<String> = LazyLock::new(|| replan(""));

/// The open records of a customer (`?3`) of the business (`?1`), due at `?2` at the latest.
static REPLAN_CUSTOMER: LazyLock<String> = LazyLock::new(|| replan(" AND customer_id = ?3"));

/// Takes the due records in the writer's transaction (no other take, of this process or
/// another, can read them before they are leased), as the take left them, earliest due first.
async fn take(
    conn: &mut SqliteConnection,
    now: String,
    lease_until: String,
    limit: i64,
) -> Result<Vec<ScheduleRow>, sqlx::Error> {
    let keys: Vec<(String, String)> = sqlx::query_as(DUE)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let listed = serde_json::Value::from(
        keys.iter()
            .map(|(business, booking)| serde_json::json!([business, booking]))
            .collect::<Vec<_>>(),
    )
    .to_string();
    let mut rows: Vec<ScheduleRow> = sqlx::query_as(TAKE.as_str())
        .bind(lease_until)
        .bind(listed)
        .fetch_all(&mut *conn)
        .await?;
    // RETURNING keeps no order, and the rows no longer say when they were due: the order of
    // the keys is the take's.
    let position: HashMap<(&str, &str), usize> = keys
        .iter()
        .enumerate()
        .map(|(n, (business, booking))| ((business.as_str(), booking.as_str()), n))
        .collect();
    rows.sort_by_key(|row| position.get(&row.key()).copied());
    Ok(rows)
}

#[async_trait]
impl Schedules for SqliteStore {
    async fn payment_settings(
        &self,
        business: &BusinessId,
    ) -> Result<Option<PaymentSettings>, ScheduleError> {
        let business = business.as_str().to_owned();
        let row: Option<SettingsRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(
                        "SELECT format, body FROM payment_settings WHERE business_id = ?1",
                    )
                    .bind(business)
                    .fetch_optional(conn)
                    .await
                    .map_err(schedule_error)
                })
            })
            .await?;
        Ok(row.as_ref().map(SettingsRow::settings).transpose()?)
    }

    async fn put_payment_settings(
        &self,
        business: &BusinessId,
        settings: &PaymentSettings,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        let stored = StoredBody::settings(settings)?;
        let (business, replan_at) = (business.as_str().to_owned(), time_text(&replan_at));
        // One job of the writer: the settings and the records made due land together.
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO payment_settings (business_id, format, body) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (business_id) DO UPDATE SET format = excluded.format, \
                     body = excluded.body",
                )
                .bind(&business)
                .bind(stored.format)
                .bind(stored.body)
                .execute(&mut *conn)
                .await
                .map_err(schedule_error)?;
                sqlx::query(REPLAN_BUSINESS.as_str())
                    .bind(&business)
                    .bind(replan_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(schedule_error)?;
                Ok(())
            })
        })
        .await
    }

    async fn schedule(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSchedule>, ScheduleError> {
        let (business, booking) = (business.as_str().to_owned(), booking.as_str().to_owned());
        let row: Option<ScheduleRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(ONE.as_str())
                        .bind(business)
                        .bind(booking)
                        .fetch_optional(conn)
                        .await
                        .map_err(schedule_error)
                })
            })
            .await?;
        Ok(row.as_ref().map(ScheduleRow::schedule).transpose()?)
    }

    async fn save_schedule(
        &self,
        business: &BusinessId,
        schedule: &BookingSchedule,
    ) -> Result<bool, ScheduleError> {
        let columns = ScheduleColumns::of(schedule)?;
        let business = business.as_str().to_owned();
        let booking = schedule.booking.as_str().to_owned();
        let customer = schedule.customer.as_str().to_owned();
        self.with_writer(move |conn| {
            Box::pin(async move {
                // Compare and set in one statement: version 0 stores a record only where none
                // is; any other lands only on the stored row still at that version.
                let insert = columns.read_version == 0;
                let query = sqlx::query(if insert {
                    "INSERT INTO booking_schedules (business_id, booking_id, customer_id, \
                     due_at, needs_attention, canceled_at, format, body, version) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1) \
                     ON CONFLICT (business_id, booking_id) DO NOTHING"
                } else {
                    "UPDATE booking_schedules SET customer_id = ?3, due_at = ?4, \
                     needs_attention = ?5, canceled_at = ?6, format = ?7, body = ?8, \
                     version = version + 1 \
                     WHERE business_id = ?1 AND booking_id = ?2 AND version = ?9"
                })
                .bind(business)
                .bind(booking)
                .bind(customer)
                .bind(columns.due_at.as_ref().map(time_text))
                .bind(columns.needs_attention)
                .bind(columns.canceled_at.as_ref().map(time_text))
                .bind(columns.body.format)
                .bind(columns.body.body);
                let query = if insert {
                    query
                } else {
                    query.bind(columns.read_version)
                };
                let done = query.execute(conn).await.map_err(schedule_error)?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn take_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueSchedule>, ScheduleError> {
        let (now, lease_until) = (time_text(&now), time_text(&lease_until));
        let rows = self
            .with_writer(move |conn| {
                Box::pin(async move {
                    take(conn, now, lease_until, i64::from(limit))
                        .await
                        .map_err(schedule_error)
                })
            })
            .await?;
        Ok(rows
            .iter()
            .map(ScheduleRow::due)
            .collect::<Result<_, _>>()?)
    }

    async fn list_schedules(
        &self,
        business: &BusinessId,
        filter: &ScheduleFilter,
    ) -> Result<Vec<BookingSchedule>, ScheduleError> {
        let (business, filter) = (business.as_str().to_owned(), filter.clone());
        let rows: Vec<ScheduleRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    // Only the filters given are in the statement, so SQLite picks the index
                    // that serves them (the customer's, or the partial one of the records that
                    // need attention, each ordered by booking).
                    let mut query = QueryBuilder::<Sqlite>::new(format!(
                        "SELECT {SCHEDULE_COLUMNS} FROM booking_schedules WHERE business_id = "
                    ));
                    query.push_bind(business);
                    if let Some(customer) = filter.customer {
                        query
                            .push(" AND customer_id = ")
                            .push_bind(String::from(customer));
                    }
                    // Written out, not bound: the term must read as the partial index's own.
                    match filter.needs_attention {
                        Some(true) => {
                            query.push(" AND needs_attention");
                        }
                        Some(false) => {
                            query.push(" AND NOT needs_attention");
                        }
                        None => {}
                    }
                    if let Some(after) = filter.after {
                        query
                            .push(" AND booking_id > ")
                            .push_bind(String::from(after));
                    }
                    query
                        .push(" ORDER BY booking_id LIMIT ")
                        .push_bind(i64::from(filter.limit));
                    query
                        .build_query_as()
                        .fetch_all(conn)
                        .await
                        .map_err(schedule_error)
                })
            })
            .await?;
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
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let replan_at = time_text(&replan_at);
        self.with_writer(move |conn| {
            Box::pin(async move {
                if paused {
                    sqlx::query(
                        "INSERT INTO automation_paused_customers (business_id, customer_id) \
                         VALUES (?1, ?2) ON CONFLICT (business_id, customer_id) DO NOTHING",
                    )
                    .bind(business)
                    .bind(customer)
                    .execute(&mut *conn)
                    .await
                    .map_err(schedule_error)?;
                    return Ok(());
                }
                // Resumed: the customer's open records are planned again, in the same job.
                sqlx::query(
                    "DELETE FROM automation_paused_customers \
                     WHERE business_id = ?1 AND customer_id = ?2",
                )
                .bind(&business)
                .bind(&customer)
                .execute(&mut *conn)
                .await
                .map_err(schedule_error)?;
                sqlx::query(REPLAN_CUSTOMER.as_str())
                    .bind(business)
                    .bind(replan_at)
                    .bind(customer)
                    .execute(&mut *conn)
                    .await
                    .map_err(schedule_error)?;
                Ok(())
            })
        })
        .await
    }

    async fn customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<bool, ScheduleError> {
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let found: Option<i64> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_scalar(
                        "SELECT 1 FROM automation_paused_customers \
                         WHERE business_id = ?1 AND customer_id = ?2",
                    )
                    .bind(business)
                    .bind(customer)
                    .fetch_optional(conn)
                    .await
                    .map_err(schedule_error)
                })
            })
            .await?;
        Ok(found.is_some())
    }

    async fn record_run(
        &self,
        business: &BusinessId,
        run: &AutomationRun,
    ) -> Result<(), ScheduleError> {
        let stored = StoredBody::run(run)?;
        let business = business.as_str().to_owned();
        let (id, booking) = (run.id.as_str().to_owned(), run.booking.as_str().to_owned());
        let customer = run.customer.as_str().to_owned();
        let (at, outcome) = (time_text(&run.at), run.outcome.name());
        self.with_writer(move |conn| {
            Box::pin(async move {
                // A run recorded again under its id (a retried call) keeps the first.
                sqlx::query(
                    "INSERT INTO automation_runs (business_id, id, booking_id, customer_id, at, \
                     outcome, format, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (business_id, id) DO NOTHING",
                )
                .bind(business)
                .bind(id)
                .bind(booking)
                .bind(customer)
                .bind(at)
                .bind(outcome)
                .bind(stored.format)
                .bind(stored.body)
                .execute(conn)
                .await
                .map_err(schedule_error)?;
                Ok(())
            })
        })
        .await
    }

    async fn runs(
        &self,
        business: &BusinessId,
        filter: &RunFilter,
    ) -> Result<Vec<AutomationRun>, ScheduleError> {
        let (business, filter) = (business.as_str().to_owned(), filter.clone());
        let rows: Vec<RunRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    // Only the filters given are in the statement, so that each is a range of
                    // its index (the business's, the booking's or the outcome's), newest first.
                    let mut query = QueryBuilder::<Sqlite>::new(format!(
                        "SELECT {RUN_COLUMNS} FROM automation_runs WHERE business_id = "
                    ));
                    query.push_bind(business);
                    if let Some(booking) = filter.booking {
                        query
                            .push(" AND booking_id = ")
                            .push_bind(String::from(booking));
                    }
                    if let Some(outcome) = filter.outcome {
                        query.push(" AND outcome = ").push_bind(outcome);
                    }
                    if let Some((at, id)) = filter.before {
                        query
                            .push(" AND (at, id) < (")
                            .push_bind(time_text(&at))
                            .push(", ")
                            .push_bind(String::from(id))
                            .push(")");
                    }
                    query
                        .push(" ORDER BY at DESC, id DESC LIMIT ")
                        .push_bind(i64::from(filter.limit));
                    query
                        .build_query_as()
                        .fetch_all(conn)
                        .await
                        .map_err(schedule_error)
                })
            })
            .await?;
        Ok(rows.iter().map(RunRow::run).collect::<Result<_, _>>()?)
    }
}
