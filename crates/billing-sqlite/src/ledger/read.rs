//! What a use case decides from, in one read: bookings with their versions and entries, the
//! record under an idempotency key, and the paying customer with their cards.

use billing_core::customer::{Customer, SavedCard};
use billing_core::idempotency::{Fingerprint, IdempotencyKey};
use billing_core::ids::{BookingId, PaymentId};
use billing_core::ports::{BookingLedger, IdempotencyRecord, LedgerError, LedgerSnapshot};
use billing_sql::StoredRowError;
use billing_sql::formats::{decode_booking, decode_entry, decode_receipt};
use billing_sql::rows::{CardRow, CustomerRow};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow as _, Row as _, SqliteConnection};

use crate::store::json_strings;

/// What to read, owned (it travels to the connection's task).
#[derive(Debug)]
pub(super) struct SnapshotQuery {
    pub(super) business: String,
    /// The bookings, sorted and without duplicates.
    pub(super) bookings: Vec<BookingId>,
    pub(super) key: Option<IdempotencyKey>,
    /// The first booking asked, when its customer is asked for too.
    pub(super) payer_of: Option<BookingId>,
}

/// A booking's row with one of its entries (none for a booking without entries): id,
/// version, billing view, entry.
type LedgerRow = (String, i64, String, Option<String>);

/// A row of `idempotency_keys`, as this build reads it. The `response_*` columns of earlier
/// builds are not read: a key answered before first answers were kept replays from the
/// payment as it stands.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct KeyRow {
    fingerprint: String,
    payment_id: String,
    completed: bool,
    created_at: DateTime<Utc>,
    first_answer: Option<String>,
}

/// The columns [`KeyRow`] reads.
pub(super) const KEY_COLUMNS: &str = "fingerprint, payment_id, completed, created_at, first_answer";

impl KeyRow {
    /// The record under `key`. The key is the one asked for, not read back: a key's
    /// per-booking parts may be longer than a client's key may be.
    pub(super) fn into_record(self, key: IdempotencyKey) -> Result<IdempotencyRecord, LedgerError> {
        const WHAT: &str = "stored idempotency key";
        Ok(IdempotencyRecord {
            key,
            fingerprint: Fingerprint(self.fingerprint),
            payment: PaymentId::new(self.payment_id).map_err(|e| StoredRowError::new(WHAT, e))?,
            completed: self.completed,
            created_at: self.created_at,
            first_answer: self
                .first_answer
                .map(|text| decode_receipt(&text).map(Box::new))
                .transpose()?,
        })
    }
}

/// The rows of a snapshot, decoded once the connection is given back.
#[derive(Debug, Default)]
pub(super) struct SnapshotRows {
    ledgers: Vec<LedgerRow>,
    key: Option<KeyRow>,
    payer: Option<(CustomerRow, Vec<CardRow>)>,
}

/// Reads the rows of a snapshot: one statement for the bookings and their entries, one for
/// the key, one for the payer and their cards.
///
/// They need not read the same commit: a write decided from them lands only if the bookings
/// are still at the versions read and the key is still free, whatever was read when.
pub(super) async fn fetch(
    conn: &mut SqliteConnection,
    query: SnapshotQuery,
) -> Result<SnapshotRows, sqlx::Error> {
    let mut rows = SnapshotRows::default();
    if !query.bookings.is_empty() {
        // Each booking with every entry linked to it, in the order they were written; a
        // booking without entries comes once, with none.
        rows.ledgers = sqlx::query_as(
            "SELECT b.id, b.version, b.body, e.body \
             FROM bookings b \
             LEFT JOIN entry_bookings l ON l.business_id = b.business_id AND l.booking_id = b.id \
             LEFT JOIN entries e ON e.business_id = l.business_id \
                  AND e.payment_id = l.payment_id AND e.seq = l.seq \
             WHERE b.business_id = ?1 AND b.id IN (SELECT value FROM json_each(?2)) \
             ORDER BY b.id, e.position",
        )
        .bind(&query.business)
        .bind(json_strings(query.bookings.iter().map(BookingId::as_str)))
        .fetch_all(&mut *conn)
        .await?;
    }
    if let Some(key) = &query.key {
        rows.key = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM idempotency_keys WHERE business_id = ?1 AND key = ?2"
        ))
        .bind(&query.business)
        .bind(key.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    }
    if let Some(booking) = &query.payer_of {
        // The booking's customer, once per card (default first), or once without any.
        let found: Vec<SqliteRow> = sqlx::query(
            "SELECT c.id, c.name, c.email, c.phone, c.gateway_customer, s.payment_method, s.brand, \
             s.last4, s.exp_month, s.exp_year, s.is_default \
             FROM bookings b \
             JOIN customers c ON c.business_id = b.business_id AND c.id = b.customer_id \
             LEFT JOIN saved_cards s ON s.business_id = c.business_id \
                  AND s.customer_id = c.id \
             WHERE b.business_id = ?1 AND b.id = ?2 \
             ORDER BY s.is_default DESC, s.payment_method",
        )
        .bind(&query.business)
        .bind(booking.as_str())
        .fetch_all(&mut *conn)
        .await?;
        if let Some(first) = found.first() {
            let customer = CustomerRow::from_row(first)?;
            let mut cards = Vec::with_capacity(found.len());
            for row in &found {
                if row
                    .try_get::<Option<String>, _>("payment_method")?
                    .is_some()
                {
                    cards.push(CardRow::from_row(row)?);
                }
            }
            rows.payer = Some((customer, cards));
        }
    }
    Ok(rows)
}

impl SnapshotRows {
    /// The snapshot: bookings ordered by id, each with its entries.
    pub(super) fn decode(self, key: Option<IdempotencyKey>) -> Result<LedgerSnapshot, LedgerError> {
        let mut ledgers: Vec<BookingLedger> = Vec::new();
        let mut current: Option<String> = None;
        for (id, version, account, entry) in self.ledgers {
            if current.as_deref() != Some(id.as_str()) {
                ledgers.push(BookingLedger {
                    account: decode_booking(&account)?,
                    version: u64::try_from(version)
                        .map_err(|e| StoredRowError::new("stored booking version", e))?,
                    entries: Vec::new(),
                });
                current = Some(id);
            }
            if let (Some(entry), Some(ledger)) = (entry, ledgers.last_mut()) {
                ledger.entries.push(decode_entry(&entry)?);
            }
        }
        let key = match (self.key, key) {
            (Some(row), Some(key)) => Some(row.into_record(key)?),
            _ => None,
        };
        let payer = self.payer.map(payer).transpose()?;
        Ok(LedgerSnapshot {
            ledgers,
            key,
            payer,
        })
    }
}

fn payer(
    (customer, cards): (CustomerRow, Vec<CardRow>),
) -> Result<(Customer, Vec<SavedCard>), StoredRowError> {
    Ok((
        customer.into_customer()?,
        cards
            .into_iter()
            .map(CardRow::into_card)
            .collect::<Result<_, _>>()?,
    ))
}
