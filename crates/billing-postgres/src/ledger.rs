//! The [`Ledger`] port on PostgreSQL: bookings, append-only entries, summaries and idempotency
//! records, and transactions that serialize money-moving work per booking with advisory locks.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use async_trait::async_trait;
use billing_core::booking::BookingAccount;
use billing_core::idempotency::{Fingerprint, IdempotencyKey};
use billing_core::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use billing_core::money::Money;
use billing_core::payment::Entry;
use billing_core::ports::{
    BookingFilter, BookingLedger, CustomerOutstanding, IdempotencyRecord, Ledger, LedgerError,
    LedgerTx, StoredResponse,
};
use billing_core::status::BookingSummary;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::pool::{PooledConn, on_pool, run};

use crate::codec::{
    SUMMARY_COLUMNS, SummaryColumns, SummaryRow, corrupt, currency, customer_id, from_json,
    id_array, ledger_error, sorted_ids, to_json,
};
use crate::store::PostgresStore;

/// The advisory lock key of a booking: a 64-bit FNV-1a hash of a namespace, the business id
/// and the booking id. Stable across processes, builds and Rust versions (unlike `std`'s
/// hasher), which is what lets several processes queue on the same key.
pub fn lock_key(business: &BusinessId, booking: &BookingId) -> i64 {
    fnv_key(&["booking", business.as_str(), booking.as_str()])
}

/// The advisory lock key of a customer's saved cards.
pub(crate) fn cards_lock_key(business: &BusinessId, customer: &CustomerId) -> i64 {
    fnv_key(&["cards", business.as_str(), customer.as_str()])
}

/// FNV-1a (64 bits) of the parts, each followed by a byte that no id contains (ids are ASCII),
/// so that ("ab", "c") and ("a", "bc") differ.
fn fnv_key(parts: &[&str]) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = parts
        .iter()
        .flat_map(|part| part.bytes().chain(std::iter::once(0xff)))
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        });
    // Postgres advisory keys are signed: the same 64 bits, reinterpreted.
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// One ledger transaction of one business, on a connection of its own.
///
/// Round trips are what a charge costs on Postgres, so the transaction sends as few as it can:
/// `BEGIN` goes with the first statement; `lock` is one round trip (locks, then the read); the
/// writes (`put_booking`, `append`, `complete`, `release`) are kept and sent with `COMMIT`, in
/// one round trip. `append` still answers [`LedgerError::Conflict`] at once: under the locks,
/// the transaction has read every entry of the locked bookings, so it knows whether a
/// (payment, seq) exists, and no other writer can add one until it ends. (Entries on bookings it
/// did not lock are written at once instead; the unique key is the last guard either way.)
/// Dropping the transaction rolls back, and so releases its locks.
pub struct PostgresTx {
    conn: PooledConn,
    business: BusinessId,
    state: TxState,
    /// The bookings locked so far.
    locked: BTreeSet<BookingId>,
    /// Every (payment, seq) known to exist: read under lock, or appended by this transaction.
    known: HashSet<(PaymentId, u32)>,
    /// Writes not sent yet (statements of the session's prepared set, arguments inlined).
    pending: Vec<String>,
}

/// Where a [`PostgresTx`] stands on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxState {
    /// Nothing sent yet.
    NotStarted,
    /// `BEGIN` sent; every statement so far succeeded.
    Open,
    /// A statement failed: Postgres has aborted the transaction, and a COMMIT would silently
    /// roll back, so commit must report the failure instead.
    Failed,
}

impl std::fmt::Debug for PostgresTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTx")
            .field("business", &self.business)
            .field("state", &self.state)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl PostgresTx {
    /// Records that the transaction can no longer commit, and passes the error on. A unique
    /// violation can only come from an entry's (payment, seq): it is a conflict.
    fn fail(&mut self, error: sqlx::Error) -> LedgerError {
        self.state = TxState::Failed;
        if error
            .as_database_error()
            .is_some_and(|e| e.is_unique_violation())
        {
            return LedgerError::Conflict(error.to_string());
        }
        ledger_error(error)
    }

    fn check_usable(&self) -> Result<(), LedgerError> {
        match self.state {
            TxState::Failed => Err(LedgerError::Unavailable(
                "the transaction failed earlier and was rolled back".into(),
            )),
            TxState::NotStarted | TxState::Open => Ok(()),
        }
    }

    /// Runs `tail` in the transaction as one simple query, preceded by what must come first:
    /// `BEGIN` when not sent yet, the session's prepared statements when this connection lacks
    /// them, and the writes kept so far. Gives every row of every statement.
    async fn script(&mut self, tail: &str) -> Result<Vec<PgRow>, LedgerError> {
        self.check_usable()?;
        let mut sql = String::new();
        if self.state == TxState::NotStarted {
            sql.push_str("BEGIN; ");
            self.state = TxState::Open;
            self.conn.set_in_transaction(true);
        }
        let prepare = !self.conn.prepared();
        if prepare {
            sql.push_str(SESSION_STATEMENTS);
        }
        for write in self.pending.drain(..) {
            sql.push_str(&write);
            sql.push_str("; ");
        }
        sql.push_str(tail);
        let result = run!(&mut self.conn, |conn| {
            sqlx::Executor::fetch_all(conn, sql.as_str()).await
        });
        if prepare {
            match &result {
                Ok(_) => self.conn.set_prepared(),
                // Some of the statements may exist now: this connection is not reused.
                Err(_) => self.conn.discard(),
            }
        }
        result.map_err(|e| self.fail(e))
    }
}

/// A text literal for the simple-query protocol: single quotes doubled. The connection runs
/// with `standard_conforming_strings` on (see the store), so a backslash is an ordinary
/// character and nothing else can end the literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A Postgres array literal of ids (`{"a","b"}`), as a text literal. Ids are ASCII letters,
/// digits and `_-.:`, none of which needs escaping inside the quotes.
fn id_array_literal<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let elements: Vec<String> = ids.map(|id| format!("\"{id}\"")).collect();
    literal(&format!("{{{}}}", elements.join(",")))
}

/// A time as the simple-query protocol takes it (RFC 3339; Postgres keeps microseconds).
fn time_literal(at: &DateTime<Utc>) -> String {
    literal(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// One append, as the JSON document `billing_append` reads: the entries, their booking links
/// and the summaries they change.
fn append_payload(entries: &[Entry], summaries: &[BookingSummary]) -> Result<String, LedgerError> {
    let mut links = BTreeSet::new();
    let mut link_rows = Vec::new();
    let mut entry_rows = Vec::new();
    for entry in entries {
        entry_rows.push(serde_json::json!({
            "payment_id": entry.payment.as_str(),
            "seq": entry.seq,
            "body": serde_json::to_value(entry).map_err(|e| corrupt("cannot serialize", e))?,
        }));
        for booking in &entry.bookings {
            // An entry naming a booking twice links it once.
            if links.insert((booking.as_str(), entry.payment.as_str(), entry.seq)) {
                link_rows.push(serde_json::json!({
                    "booking_id": booking.as_str(),
                    "payment_id": entry.payment.as_str(),
                    "seq": entry.seq,
                }));
            }
        }
    }
    // The last summary of a booking wins, as when they are stored one after the other (one
    // upsert statement cannot touch a row twice).
    let mut summary_rows = Vec::new();
    for (index, summary) in summaries.iter().enumerate() {
        if summaries[index + 1..]
            .iter()
            .any(|later| later.booking == summary.booking)
        {
            continue;
        }
        let s = SummaryColumns::of(summary)?;
        summary_rows.push(serde_json::json!({
            "booking_id": s.booking_id,
            "customer_id": s.customer_id,
            "currency": s.currency,
            "price_minor": s.price,
            "paid_minor": s.paid,
            "refunded_minor": s.refunded,
            "in_flight_minor": s.in_flight,
            "held_minor": s.held,
            "refunds_in_flight_minor": s.refunds_in_flight,
            "balance_due_minor": s.balance_due,
            "status": s.status,
            "pending": s.pending,
            "last_failed": s.last_failed,
            "as_of": s.as_of.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        }));
    }
    to_json(&serde_json::json!({
        "entries": entry_rows,
        "links": link_rows,
        "summaries": summary_rows,
    }))
}

#[async_trait]
impl LedgerTx for PostgresTx {
    async fn lock(&mut self, bookings: &[BookingId]) -> Result<Vec<BookingLedger>, LedgerError> {
        let ids = sorted_ids(bookings);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One advisory lock per booking, held until commit or rollback. Keys are taken in
        // ascending order (deduplicated; unnest keeps the array's order), so two transactions locking overlapping bookings
        // always queue in the same order and cannot deadlock. A lock needs no row, so a
        // booking not stored yet is locked just the same.
        let mut keys: Vec<i64> = ids.iter().map(|b| lock_key(&self.business, b)).collect();
        keys.sort_unstable();
        keys.dedup();
        let keys: Vec<String> = keys.iter().map(i64::to_string).collect();
        // The read is a statement of its own, after the locks: in READ COMMITTED it reads with
        // a snapshot taken once the locks were granted, so it sees whatever the previous holder
        // committed.
        let tail = format!(
            "EXECUTE billing_lock_bookings({}); EXECUTE billing_read_ledgers({}, {})",
            literal(&format!("{{{}}}", keys.join(","))),
            literal(self.business.as_str()),
            id_array_literal(ids.iter().map(BookingId::as_str)),
        );
        let rows = self.script(&tail).await?;
        self.locked.extend(ids.iter().cloned());
        // The lock statement's rows (one void column each) come first: skip them.
        let rows = rows
            .iter()
            .filter(|row| row.len() == 4)
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(ledger_error)?;
        let ledgers = group_ledgers(rows)?;
        for ledger in &ledgers {
            self.known
                .extend(ledger.entries.iter().map(|e| (e.payment.clone(), e.seq)));
        }
        Ok(ledgers)
    }

    async fn claim(
        &mut self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, LedgerError> {
        // The insert, then the read of whatever holds the key, as two statements: when the key
        // was taken by a transaction that committed while the insert waited, only a new
        // statement's snapshot sees that row.
        let business = literal(self.business.as_str());
        let key = literal(record.key.as_str());
        let tail = format!(
            "EXECUTE billing_claim({business}, {key}, {}, {}, {}, {}); \
             EXECUTE billing_read_key({business}, {key})",
            literal(&record.fingerprint.0),
            literal(record.payment.as_str()),
            record.completed,
            time_literal(&record.created_at),
        );
        let rows = self.script(&tail).await?;
        if rows.iter().any(|row| row.len() == 1) {
            // The insert's RETURNING row: the key is ours.
            return Ok(None);
        }
        let row = rows.iter().find(|row| row.len() == 7).ok_or_else(|| {
            LedgerError::Unavailable("idempotency key neither inserted nor found".into())
        })?;
        let row: KeyRow = (
            row.try_get(0).map_err(ledger_error)?,
            row.try_get(1).map_err(ledger_error)?,
            row.try_get(2).map_err(ledger_error)?,
            row.try_get(3).map_err(ledger_error)?,
            row.try_get(4).map_err(ledger_error)?,
            row.try_get(5).map_err(ledger_error)?,
            row.try_get(6).map_err(ledger_error)?,
        );
        Ok(Some(key_record(&record.key, row)?))
    }

    async fn complete(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError> {
        self.check_usable()?;
        self.pending.push(format!(
            "EXECUTE billing_complete({}, {})",
            literal(self.business.as_str()),
            literal(key.as_str())
        ));
        Ok(())
    }

    async fn release(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError> {
        self.check_usable()?;
        self.pending.push(format!(
            "EXECUTE billing_release({}, {})",
            literal(self.business.as_str()),
            literal(key.as_str())
        ));
        Ok(())
    }

    async fn put_booking(&mut self, account: &BookingAccount) -> Result<(), LedgerError> {
        self.check_usable()?;
        let body = to_json(account)?;
        self.pending.push(format!(
            "EXECUTE billing_put_booking({}, {}, {}, {}, {})",
            literal(self.business.as_str()),
            literal(account.id.as_str()),
            literal(account.customer.as_str()),
            literal(account.currency.code()),
            literal(&body)
        ));
        Ok(())
    }

    async fn append(
        &mut self,
        entries: &[Entry],
        summaries: &[BookingSummary],
    ) -> Result<(), LedgerError> {
        self.check_usable()?;
        let mut batch = HashSet::new();
        for entry in entries {
            let id = (entry.payment.clone(), entry.seq);
            if self.known.contains(&id) || !batch.insert(id) {
                return Err(LedgerError::Conflict(format!(
                    "entry {}#{} exists",
                    entry.payment, entry.seq
                )));
            }
        }
        let statement = format!(
            "EXECUTE billing_append({}, {})",
            literal(self.business.as_str()),
            literal(&append_payload(entries, summaries)?)
        );
        let under_lock = entries.iter().all(|entry| {
            !entry.bookings.is_empty() && entry.bookings.iter().all(|b| self.locked.contains(b))
        });
        if under_lock {
            self.pending.push(statement);
        } else {
            // Entries this transaction cannot vouch for: the unique key decides, now. A
            // conflict then aborts the transaction (it can only be dropped).
            self.script(&statement).await?;
        }
        self.known.extend(batch);
        Ok(())
    }

    async fn commit(mut self) -> Result<(), LedgerError> {
        self.check_usable()?;
        if self.state == TxState::NotStarted && self.pending.is_empty() {
            // Nothing was read or written.
            return Ok(());
        }
        self.script("COMMIT").await?;
        self.conn.set_in_transaction(false);
        Ok(())
    }
}

/// The statements every connection prepares once, with its first transaction: the locks and
/// the locked read, the idempotency claim, and the writes. Prepared, Postgres plans them once
/// per connection rather than once per use.
const SESSION_STATEMENTS: &str = "\
    PREPARE billing_lock_bookings (bigint[]) AS \
        SELECT pg_advisory_xact_lock(k) FROM unnest($1) AS k; \
    PREPARE billing_read_ledgers (text, text[]) AS \
        SELECT b.id, b.body::text, e.position, e.body::text \
        FROM bookings b \
        LEFT JOIN LATERAL ( \
            SELECT e.position, e.body FROM entry_bookings l \
            JOIN entries e ON e.business_id = l.business_id AND e.payment_id = l.payment_id \
                AND e.seq = l.seq \
            WHERE l.business_id = b.business_id AND l.booking_id = b.id OFFSET 0 \
        ) e ON TRUE \
        WHERE b.business_id = $1 AND b.id = ANY($2); \
    PREPARE billing_claim (text, text, text, text, boolean, timestamptz) AS \
        INSERT INTO idempotency_keys \
            (business_id, key, fingerprint, payment_id, completed, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_id, key) DO NOTHING \
        RETURNING 1; \
    PREPARE billing_read_key (text, text) AS \
        SELECT fingerprint, payment_id, completed, created_at, response_status, \
            response_content_type, response_body FROM idempotency_keys \
        WHERE business_id = $1 AND key = $2; \
    PREPARE billing_complete (text, text) AS \
        UPDATE idempotency_keys SET completed = TRUE WHERE business_id = $1 AND key = $2; \
    PREPARE billing_release (text, text) AS \
        DELETE FROM idempotency_keys WHERE business_id = $1 AND key = $2; \
    PREPARE billing_put_booking (text, text, text, text, json) AS \
        INSERT INTO bookings (business_id, id, customer_id, currency, body) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (business_id, id) DO UPDATE \
        SET customer_id = excluded.customer_id, currency = excluded.currency, \
            body = excluded.body; \
    PREPARE billing_append (text, json) AS \
        WITH new_entries AS ( \
            INSERT INTO entries (business_id, payment_id, seq, body) \
            SELECT $1, e.payment_id, e.seq, e.body \
            FROM json_to_recordset($2 -> 'entries') \
                AS e (payment_id text, seq bigint, body json) \
        ), links AS ( \
            INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) \
            SELECT $1, l.booking_id, l.payment_id, l.seq \
            FROM json_to_recordset($2 -> 'links') \
                AS l (booking_id text, payment_id text, seq bigint) \
        ) \
        INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, \
            price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
            refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, as_of) \
        SELECT $1, s.booking_id, s.customer_id, s.currency, s.price_minor, s.paid_minor, \
            s.refunded_minor, s.in_flight_minor, s.held_minor, s.refunds_in_flight_minor, \
            s.balance_due_minor, s.status, s.pending, s.last_failed, s.as_of \
        FROM json_to_recordset($2 -> 'summaries') AS s (booking_id text, customer_id text, \
            currency text, price_minor bigint, paid_minor bigint, refunded_minor bigint, \
            in_flight_minor bigint, held_minor bigint, refunds_in_flight_minor bigint, \
            balance_due_minor bigint, status text, pending boolean, last_failed boolean, \
            as_of timestamptz) \
        WHERE true \
        ON CONFLICT (business_id, booking_id) DO UPDATE SET \
            customer_id = excluded.customer_id, currency = excluded.currency, \
            price_minor = excluded.price_minor, paid_minor = excluded.paid_minor, \
            refunded_minor = excluded.refunded_minor, \
            in_flight_minor = excluded.in_flight_minor, held_minor = excluded.held_minor, \
            refunds_in_flight_minor = excluded.refunds_in_flight_minor, \
            balance_due_minor = excluded.balance_due_minor, status = excluded.status, \
            pending = excluded.pending, last_failed = excluded.last_failed, \
            as_of = excluded.as_of; ";

/// The read of bookings with the entries touching each, in the order they were written, up to
/// the business id. One statement whatever the number of bookings.
///
/// The entries are read in a `LATERAL` subquery per booking, kept apart by `OFFSET 0` (which
/// stops Postgres from flattening it back into a join), on purpose: plans are generic (see the
/// store's connection options), and a plain join let Postgres plan the entries side once for
/// the whole business (every entry of every booking, materialized) while the tables were
/// small, and keep that plan as they grew: each read then cost as much as the whole ledger,
/// and charges through the service slowed down as they were made. The fenced lateral form can
/// only be an index lookup per booking.
const READ_LEDGERS: &str = "SELECT b.id, b.body::text, e.position, e.body::text \
     FROM bookings b \
     LEFT JOIN LATERAL ( \
         SELECT e.position, e.body FROM entry_bookings l \
         JOIN entries e ON e.business_id = l.business_id AND e.payment_id = l.payment_id \
             AND e.seq = l.seq \
         WHERE l.business_id = b.business_id AND l.booking_id = b.id OFFSET 0 \
     ) e ON TRUE \
     WHERE b.business_id = ";

/// A row of [`READ_LEDGERS`]: booking id and body, and one entry's position and body.
type LedgerRow = (String, String, Option<i64>, Option<String>);

/// Rows of [`READ_LEDGERS`] grouped into ledgers, by booking id, each booking's entries in the
/// order they were written. Sorted here rather than by the statement: a sort node costs more to
/// set up on the server than sorting a handful of rows costs here.
fn group_ledgers(rows: Vec<LedgerRow>) -> Result<Vec<BookingLedger>, LedgerError> {
    let mut bookings: BTreeMap<String, (String, Vec<(i64, String)>)> = BTreeMap::new();
    for (id, account, position, entry) in rows {
        let (_, entries) = bookings.entry(id).or_insert_with(|| (account, Vec::new()));
        if let (Some(position), Some(entry)) = (position, entry) {
            entries.push((position, entry));
        }
    }
    bookings
        .into_values()
        .map(|(account, mut entries)| {
            entries.sort_unstable_by_key(|(position, _)| *position);
            Ok(BookingLedger {
                account: from_json("stored booking", &account)?,
                entries: entries
                    .iter()
                    .map(|(_, entry)| from_json("stored entry", entry))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

/// A row of the idempotency keys table: fingerprint, payment, completed, created at, and the
/// stored response's status, media type and body.
type KeyRow = (
    String,
    String,
    bool,
    DateTime<Utc>,
    Option<i32>,
    Option<String>,
    Option<String>,
);

/// The read of the idempotency record under a key.
fn key_query<'q>(
    business: &'q BusinessId,
    key: &'q IdempotencyKey,
) -> sqlx::query::QueryAs<'q, Postgres, KeyRow, sqlx::postgres::PgArguments> {
    sqlx::query_as(
        "SELECT fingerprint, payment_id, completed, created_at, response_status, \
         response_content_type, response_body FROM idempotency_keys \
         WHERE business_id = $1 AND key = $2",
    )
    .bind(business.as_str())
    .bind(key.as_str())
}

/// An idempotency record read back. The key is the one asked for, not parsed back: a key's
/// per-booking parts may be longer than a client's key may be.
fn key_record(key: &IdempotencyKey, row: KeyRow) -> Result<IdempotencyRecord, LedgerError> {
    let (fingerprint, payment, completed, created_at, status, content_type, body) = row;
    let response = match (status, content_type, body) {
        (None, None, None) => None,
        (Some(status), Some(content_type), Some(body)) => Some(StoredResponse {
            status: u16::try_from(status).map_err(|e| corrupt("stored response status", e))?,
            content_type,
            body,
        }),
        _ => {
            return Err(LedgerError::Corrupt(
                "a stored response lacks its status, media type or body".into(),
            ));
        }
    };
    Ok(IdempotencyRecord {
        key: key.clone(),
        fingerprint: Fingerprint(fingerprint),
        payment: PaymentId::new(payment).map_err(|e| corrupt("stored payment id", e))?,
        completed,
        created_at,
        response,
    })
}

#[async_trait]
impl Ledger for PostgresStore {
    type Tx = PostgresTx;

    async fn begin(&self, business: &BusinessId) -> Result<PostgresTx, LedgerError> {
        // A connection now (so an unreachable server is reported here); BEGIN goes with the
        // first statement.
        let conn = self.pool.acquire().await.map_err(ledger_error)?;
        Ok(PostgresTx {
            conn,
            business: business.clone(),
            state: TxState::NotStarted,
            locked: BTreeSet::new(),
            known: HashSet::new(),
            pending: Vec::new(),
        })
    }

    async fn load(
        &self,
        business: &BusinessId,
        bookings: &[BookingId],
    ) -> Result<Vec<BookingLedger>, LedgerError> {
        let ids = sorted_ids(bookings);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let read_sql = format!("{READ_LEDGERS}$1 AND b.id = ANY($2::text[])");
        let rows = on_pool!(self, |conn| {
            sqlx::query_as(&read_sql)
                .bind(business.as_str())
                .bind(id_array(&ids))
                .fetch_all(conn)
                .await
        })
        .map_err(ledger_error)?;
        group_ledgers(rows)
    }

    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError> {
        // The bookings of the payment's first entry (they never change). By seq, the primary
        // key's order: no sort.
        let bookings: Option<String> = on_pool!(self, |conn| {
            sqlx::query_scalar(
                "SELECT (body -> 'bookings')::text FROM entries \
                     WHERE business_id = $1 AND payment_id = $2 ORDER BY seq LIMIT 1",
            )
            .bind(business.as_str())
            .bind(payment.as_str())
            .fetch_optional(conn)
            .await
        })
        .map_err(ledger_error)?;
        bookings
            .map(|b| from_json("stored entry bookings", &b))
            .transpose()
    }

    async fn summary(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSummary>, LedgerError> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM booking_summaries \
             WHERE business_id = $1 AND booking_id = $2"
        );
        let row: Option<SummaryRow> = on_pool!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(business.as_str())
                .bind(booking.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(ledger_error)?;
        row.map(SummaryRow::into_summary).transpose()
    }

    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError> {
        // Only the filters given are in the statement (no `$n IS NULL OR ...`, which a generic
        // plan cannot serve with an index), so Postgres picks the index for them.
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM booking_summaries WHERE business_id = "
        ));
        query.push_bind(business.as_str());
        if let Some(customer) = &filter.customer {
            query
                .push(" AND customer_id = ")
                .push_bind(customer.as_str());
        }
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(pending) = filter.pending {
            query.push(" AND pending = ").push_bind(pending);
        }
        if let Some(after) = &filter.after {
            query.push(" AND booking_id > ").push_bind(after.as_str());
        }
        query
            .push(" ORDER BY booking_id LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows: Vec<SummaryRow> =
            on_pool!(self, |conn| query.build_query_as().fetch_all(conn).await)
                .map_err(ledger_error)?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    async fn outstanding(
        &self,
        business: &BusinessId,
        customer: Option<&CustomerId>,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError> {
        // `balance_due_minor > 0` matches the partial index booking_summaries_outstanding,
        // which covers the query: only bookings that owe something are read. The sum is cast
        // back to BIGINT: past 2^63 minor units it fails rather than rounds.
        let rows: Vec<(String, String, i64, i64)> = on_pool!(self, |conn| {
            match customer {
                Some(customer) => sqlx::query_as(
                    "SELECT customer_id, currency, SUM(balance_due_minor)::bigint, COUNT(*) \
                 FROM booking_summaries \
                 WHERE business_id = $1 AND customer_id = $2 AND balance_due_minor > 0 \
                 GROUP BY customer_id, currency ORDER BY customer_id, currency",
                )
                .bind(business.as_str())
                .bind(customer.as_str()),
                None => sqlx::query_as(
                    "SELECT customer_id, currency, SUM(balance_due_minor)::bigint, COUNT(*) \
                 FROM booking_summaries \
                 WHERE business_id = $1 AND balance_due_minor > 0 \
                 GROUP BY customer_id, currency ORDER BY customer_id, currency",
                )
                .bind(business.as_str()),
            }
            .fetch_all(conn)
            .await
        })
        .map_err(ledger_error)?;
        rows.into_iter()
            .map(|(customer, code, due, bookings)| {
                Ok(CustomerOutstanding {
                    customer: customer_id(customer)?,
                    balance_due: Money::from_minor(due, currency(&code)?),
                    bookings: u64::try_from(bookings).map_err(|e| corrupt("booking count", e))?,
                })
            })
            .collect()
    }

    async fn idempotency(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, LedgerError> {
        let row = on_pool!(self, |conn| key_query(business, key)
            .fetch_optional(conn)
            .await)
        .map_err(ledger_error)?;
        row.map(|row| key_record(key, row)).transpose()
    }

    async fn save_response(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<bool, LedgerError> {
        // One statement in its own implicit transaction: it only touches a completed row
        // without a response, and a concurrent save waits on the row lock and then finds the
        // response set (READ COMMITTED rechecks the WHERE on the updated row), so the first
        // writer wins and the second changes nothing.
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE idempotency_keys \
                 SET response_status = $3, response_content_type = $4, response_body = $5 \
                 WHERE business_id = $1 AND key = $2 AND completed \
                 AND response_body IS NULL",
            )
            .bind(business.as_str())
            .bind(key.as_str())
            .bind(i32::from(response.status))
            .bind(response.content_type.as_str())
            .bind(response.body.as_str())
            .execute(conn)
            .await
        })
        .map_err(ledger_error)?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> BookingId {
        BookingId::new(text).expect("booking id")
    }

    #[test]
    fn lock_keys_are_stable_and_scoped() {
        let acme = BusinessId::new("acme").expect("business id");
        let globex = BusinessId::new("globex").expect("business id");
        // Every process (and every version) must compute the same key: pinned.
        assert_eq!(lock_key(&acme, &id("b-1")), 8_687_692_105_096_810_117);
        assert_ne!(lock_key(&acme, &id("b-1")), lock_key(&globex, &id("b-1")));
        assert_ne!(lock_key(&acme, &id("b-1")), lock_key(&acme, &id("b-2")));
        let customer = CustomerId::new("b-1").expect("customer id");
        assert_ne!(
            lock_key(&acme, &id("b-1")),
            cards_lock_key(&acme, &customer)
        );
    }

    #[test]
    fn literals_cannot_be_ended_early() {
        assert_eq!(literal("plain"), "'plain'");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        assert_eq!(literal(r"back\slash'"), r"'back\slash'''");
        assert_eq!(
            id_array_literal(["b-1", "b.2:x"].into_iter()),
            r#"'{"b-1","b.2:x"}'"#
        );
    }

    #[test]
    fn the_last_summary_of_a_booking_wins() {
        use billing_core::money::{Currency, Money};
        use billing_core::status::{Balance, BookingStatus, PaymentStatus};
        let summary = |minor| {
            let m = Money::from_minor(minor, Currency::USD);
            BookingSummary {
                booking: id("b-1"),
                customer: CustomerId::new("c").expect("customer id"),
                currency: Currency::USD,
                balance: Balance {
                    price: m,
                    paid: m,
                    refunded: m,
                    in_flight: m,
                    held: m,
                    refunds_in_flight: m,
                    balance_due: m,
                },
                status: BookingStatus {
                    status: PaymentStatus::NotCharged,
                    pending: false,
                    last_failed: false,
                },
                as_of: DateTime::UNIX_EPOCH,
            }
        };
        let payload = append_payload(&[], &[summary(1), summary(2)]).expect("payload");
        let value: serde_json::Value = serde_json::from_str(&payload).expect("json");
        let rows = value["summaries"].as_array().expect("summaries");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["price_minor"], 2);
        assert_eq!(rows[0]["as_of"], "1970-01-01T00:00:00Z");
    }
}
