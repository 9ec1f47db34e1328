//! A ledger commit: a [`LedgerWrite`] encoded into rows by the caller, then written by one job
//! of the writer, all or nothing (the job's savepoint is rolled back when it refuses).

use billing_core::ids::BusinessId;
use billing_core::ports::{KeyUpdate, LedgerError, LedgerWrite};
use billing_sql::errors::{is_unique_violation, ledger_error};
use billing_sql::formats::{encode_booking, encode_entry, encode_receipt};
use billing_sql::rows::SummaryColumns;
use sqlx::SqliteConnection;

use super::day_totals::{self, DayRow};
use super::read::{KEY_COLUMNS, KeyRow};
use crate::store::{json_strings, time_text};

/// A claim's row.
#[derive(Debug)]
struct ClaimRow {
    key: String,
    fingerprint: String,
    payment: String,
    completed: bool,
    created_at: String,
    first_answer: Option<String>,
}

/// A billing view's row.
#[derive(Debug)]
struct BookingRow {
    id: String,
    customer: String,
    currency: String,
    body: String,
}

/// An entry's row, and the bookings it is linked to (each once).
#[derive(Debug)]
struct EntryRow {
    payment: String,
    seq: i64,
    body: String,
    bookings: Vec<String>,
}

/// What happens to the command's key.
#[derive(Debug)]
enum KeyChange {
    Complete {
        key: String,
        first_answer: Option<String>,
    },
    Release(String),
}

/// A write, encoded: everything the job binds, made before it reaches the writer (which then
/// only runs statements).
#[derive(Debug)]
pub(super) struct PreparedWrite {
    business: String,
    claim: Option<ClaimRow>,
    /// `[[booking, version], ...]`, for the version check; `None` when nothing was read.
    read: Option<String>,
    /// The bookings read, each once, whose versions move on.
    read_ids: String,
    bookings: Vec<BookingRow>,
    entries: Vec<EntryRow>,
    summaries: Vec<SummaryColumns>,
    key: Option<KeyChange>,
    payment_days: Vec<DayRow>,
}

impl PreparedWrite {
    /// Encodes a write (a row that cannot be encoded is refused before anything is written).
    pub(super) fn of(business: &BusinessId, write: &LedgerWrite) -> Result<Self, LedgerError> {
        let claim = match &write.claim {
            Some(record) => Some(ClaimRow {
                key: record.key.as_str().to_owned(),
                fingerprint: record.fingerprint.0.clone(),
                payment: record.payment.as_str().to_owned(),
                completed: record.completed,
                created_at: time_text(&record.created_at),
                first_answer: record
                    .first_answer
                    .as_deref()
                    .map(encode_receipt)
                    .transpose()?,
            }),
            None => None,
        };
        let read = (!write.read.is_empty()).then(|| {
            serde_json::Value::Array(
                write
                    .read
                    .iter()
                    .map(|(booking, version)| {
                        // A version beyond what SQLite counts is never the current one.
                        let version = i64::try_from(*version).unwrap_or(-1);
                        serde_json::json!([booking.as_str(), version])
                    })
                    .collect(),
            )
            .to_string()
        });
        let mut read_ids: Vec<&str> = write.read.iter().map(|(b, _)| b.as_str()).collect();
        read_ids.sort_unstable();
        read_ids.dedup();
        let bookings = write
            .bookings
            .iter()
            .map(|account| {
                Ok(BookingRow {
                    id: account.id.as_str().to_owned(),
                    customer: account.customer.as_str().to_owned(),
                    currency: account.currency.code().to_owned(),
                    body: encode_booking(account)?,
                })
            })
            .collect::<Result<_, LedgerError>>()?;
        let entries = write
            .entries
            .iter()
            .map(|entry| {
                let mut linked: Vec<String> = Vec::with_capacity(entry.bookings.len());
                for booking in &entry.bookings {
                    // An entry naming a booking twice links it once.
                    if !linked.iter().any(|b| b == booking.as_str()) {
                        linked.push(booking.as_str().to_owned());
                    }
                }
                Ok(EntryRow {
                    payment: entry.payment.as_str().to_owned(),
                    seq: i64::from(entry.seq),
                    body: encode_entry(entry)?,
                    bookings: linked,
                })
            })
            .collect::<Result<_, LedgerError>>()?;
        let key = match &write.key {
            Some(KeyUpdate::Complete { key, first_answer }) => Some(KeyChange::Complete {
                key: key.as_str().to_owned(),
                first_answer: first_answer.as_deref().map(encode_receipt).transpose()?,
            }),
            Some(KeyUpdate::Release(key)) => Some(KeyChange::Release(key.as_str().to_owned())),
            None => None,
        };
        Ok(PreparedWrite {
            business: business.as_str().to_owned(),
            claim,
            read,
            read_ids: json_strings(read_ids),
            bookings,
            entries,
            summaries: SummaryColumns::last_of_each(&write.summaries)?,
            key,
            payment_days: day_totals::rows(&write.payment_days)?,
        })
    }
}

/// Writes a prepared write, in the writer's transaction. `Ok(Some(row))`: the key to claim was
/// taken, and nothing was written. An error leaves writes behind that the writer rolls back
/// (to the job's savepoint).
pub(super) async fn apply(
    conn: &mut SqliteConnection,
    write: PreparedWrite,
) -> Result<Option<KeyRow>, LedgerError> {
    let business = write.business.as_str();
    // 1. A taken key: nothing else is looked at.
    if let Some(claim) = &write.claim {
        let taken: Option<KeyRow> = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM idempotency_keys WHERE business_id = ?1 AND key = ?2"
        ))
        .bind(business)
        .bind(&claim.key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ledger_error)?;
        if taken.is_some() {
            return Ok(taken);
        }
    }
    // 2. Every booking read is still at its version (a booking not stored is at 0). The
    // writer holds the write lock: nothing can move them between this check and the commit.
    if let Some(read) = &write.read {
        let moved: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT r.value ->> 0, r.value ->> 1, coalesce(b.version, 0) \
             FROM json_each(?2) r \
             LEFT JOIN bookings b ON b.business_id = ?1 AND b.id = r.value ->> 0 \
             WHERE coalesce(b.version, 0) <> r.value ->> 1 LIMIT 1",
        )
        .bind(business)
        .bind(read)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ledger_error)?;
        if let Some((booking, read, current)) = moved {
            return Err(LedgerError::Conflict(format!(
                "booking {booking} is at version {current}, not {read}"
            )));
        }
    }
    // 3. Then everything lands.
    if let Some(claim) = &write.claim {
        sqlx::query(
            "INSERT INTO idempotency_keys (business_id, key, fingerprint, payment_id, completed, \
             created_at, first_answer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(business)
        .bind(&claim.key)
        .bind(&claim.fingerprint)
        .bind(&claim.payment)
        .bind(claim.completed)
        .bind(&claim.created_at)
        .bind(&claim.first_answer)
        .execute(&mut *conn)
        .await
        .map_err(ledger_error)?;
    }
    for booking in &write.bookings {
        sqlx::query(
            "INSERT INTO bookings (business_id, id, customer_id, currency, body) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (business_id, id) DO UPDATE SET \
             customer_id = excluded.customer_id, currency = excluded.currency, \
             body = excluded.body",
        )
        .bind(business)
        .bind(&booking.id)
        .bind(&booking.customer)
        .bind(&booking.currency)
        .bind(&booking.body)
        .execute(&mut *conn)
        .await
        .map_err(ledger_error)?;
    }
    if write.read.is_some() {
        // Every booking read that is stored, or was just made, is one version further.
        sqlx::query(
            "UPDATE bookings SET version = version + 1 \
             WHERE business_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
        )
        .bind(business)
        .bind(&write.read_ids)
        .execute(&mut *conn)
        .await
        .map_err(ledger_error)?;
    }
    for entry in &write.entries {
        append(conn, business, entry).await?;
    }
    for summary in &write.summaries {
        put_summary(conn, business, summary).await?;
    }
    day_totals::add(conn, business, &write.payment_days).await?;
    match &write.key {
        Some(KeyChange::Complete { key, first_answer }) => {
            // The first answer kept never changes.
            sqlx::query(
                "UPDATE idempotency_keys \
                 SET completed = 1, first_answer = coalesce(first_answer, ?3) \
                 WHERE business_id = ?1 AND key = ?2",
            )
            .bind(business)
            .bind(key)
            .bind(first_answer)
            .execute(&mut *conn)
            .await
            .map_err(ledger_error)?;
        }
        Some(KeyChange::Release(key)) => {
            sqlx::query("DELETE FROM idempotency_keys WHERE business_id = ?1 AND key = ?2")
                .bind(business)
                .bind(key)
                .execute(&mut *conn)
                .await
                .map_err(ledger_error)?;
        }
        None => {}
    }
    Ok(None)
}

/// Appends an entry and its links. (business, payment, seq) is unique: an entry that exists
/// is a conflict.
async fn append(
    conn: &mut SqliteConnection,
    business: &str,
    entry: &EntryRow,
) -> Result<(), LedgerError> {
    let inserted = sqlx::query(
        "INSERT INTO entries (business_id, payment_id, seq, body) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(business)
    .bind(&entry.payment)
    .bind(entry.seq)
    .bind(&entry.body)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error) => {
            return Err(LedgerError::Conflict(format!(
                "entry {}#{} exists",
                entry.payment, entry.seq
            )));
        }
        Err(error) => return Err(ledger_error(error)),
    }
    for booking in &entry.bookings {
        sqlx::query(
            "INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(business)
        .bind(booking)
        .bind(&entry.payment)
        .bind(entry.seq)
        .execute(&mut *conn)
        .await
        .map_err(ledger_error)?;
    }
    Ok(())
}

/// Creates or replaces a booking's summary (the triggers of `booking_summaries` keep the
/// outstanding totals).
async fn put_summary(
    conn: &mut SqliteConnection,
    business: &str,
    s: &SummaryColumns,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, \
         price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
         refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, disputed, \
         service_at, completed_at, as_of) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18) \
         ON CONFLICT (business_id, booking_id) DO UPDATE SET \
         customer_id = excluded.customer_id, currency = excluded.currency, \
         price_minor = excluded.price_minor, paid_minor = excluded.paid_minor, \
         refunded_minor = excluded.refunded_minor, in_flight_minor = excluded.in_flight_minor, \
         held_minor = excluded.held_minor, \
         refunds_in_flight_minor = excluded.refunds_in_flight_minor, \
         balance_due_minor = excluded.balance_due_minor, status = excluded.status, \
         pending = excluded.pending, last_failed = excluded.last_failed, \
         disputed = excluded.disputed, service_at = excluded.service_at, \
         completed_at = excluded.completed_at, as_of = excluded.as_of",
    )
    .bind(business)
    .bind(&s.booking_id)
    .bind(&s.customer_id)
    .bind(&s.currency)
    .bind(s.price)
    .bind(s.paid)
    .bind(s.refunded)
    .bind(s.in_flight)
    .bind(s.held)
    .bind(s.refunds_in_flight)
    .bind(s.balance_due)
    .bind(s.status)
    .bind(s.pending)
    .bind(s.last_failed)
    .bind(s.disputed)
    .bind(s.service_at.as_ref().map(time_text))
    .bind(s.completed_at.as_ref().map(time_text))
    .bind(time_text(&s.as_of))
    .execute(&mut *conn)
    .await
    .map_err(ledger_error)?;
    Ok(())
}
