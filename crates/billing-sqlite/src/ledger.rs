//! The [`Ledger`] port on SQLite: bookings, append-only entries, summaries and idempotency
//! records, and write transactions that hold SQLite's write lock from their first statement.

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
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, Transaction};

use crate::codec::{
    SUMMARY_COLUMNS, SummaryColumns, SummaryRow, corrupt, currency, customer_id, from_json,
    is_unique_violation, json_ids, ledger_error, parse_time, sorted_ids, time_text, to_json,
};
use crate::store::SqliteStore;

/// One ledger transaction of one business: a SQLite write transaction (`BEGIN IMMEDIATE`), so
/// it holds the database's write lock from its start until commit or drop. Dropping it rolls
/// back.
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    business: BusinessId,
    /// Set when a statement failed for another reason than a conflict: the transaction's state
    /// is then unknown, so it must not commit.
    failed: bool,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("business", &self.business)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl SqliteTx {
    /// Records that the transaction can no longer commit, and passes the error on.
    fn fail(&mut self, error: sqlx::Error) -> LedgerError {
        self.failed = true;
        ledger_error(error)
    }

    async fn write_entries(
        &mut self,
        entries: &[(&Entry, String)],
        summaries: Vec<SummaryColumns>,
    ) -> Result<(), sqlx::Error> {
        let business = self.business.as_str();
        let conn: &mut SqliteConnection = &mut self.tx;
        for (entry, body) in entries {
            sqlx::query(
                "INSERT INTO entries (business_id, payment_id, seq, body) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(business)
            .bind(entry.payment.as_str())
            .bind(i64::from(entry.seq))
            .bind(body.as_str())
            .execute(&mut *conn)
            .await?;
            for booking in &entry.bookings {
                // An entry naming a booking twice links it once.
                sqlx::query(
                    "INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )
                .bind(business)
                .bind(booking.as_str())
                .bind(entry.payment.as_str())
                .bind(i64::from(entry.seq))
                .execute(&mut *conn)
                .await?;
            }
        }
        for s in summaries {
            sqlx::query(
                "INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, \
                 price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
                 refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, as_of) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                 ON CONFLICT (business_id, booking_id) DO UPDATE SET \
                 customer_id = excluded.customer_id, currency = excluded.currency, \
                 price_minor = excluded.price_minor, paid_minor = excluded.paid_minor, \
                 refunded_minor = excluded.refunded_minor, \
                 in_flight_minor = excluded.in_flight_minor, held_minor = excluded.held_minor, \
                 refunds_in_flight_minor = excluded.refunds_in_flight_minor, \
                 balance_due_minor = excluded.balance_due_minor, status = excluded.status, \
                 pending = excluded.pending, last_failed = excluded.last_failed, \
                 as_of = excluded.as_of",
            )
            .bind(business)
            .bind(s.booking_id)
            .bind(s.customer_id)
            .bind(s.currency)
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
            .bind(s.as_of)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl LedgerTx for SqliteTx {
    async fn lock(&mut self, bookings: &[BookingId]) -> Result<Vec<BookingLedger>, LedgerError> {
        // The transaction already holds the database's write lock (BEGIN IMMEDIATE): no other
        // writer, in this process or another, can change these bookings until it ends, and
        // what it reads now is the latest commit.
        let business = self.business.clone();
        match read_ledgers(&mut self.tx, &business, bookings).await {
            Ok(ledgers) => Ok(ledgers),
            Err(ReadError::Sql(e)) => Err(self.fail(e)),
            Err(ReadError::Ledger(e)) => Err(e),
        }
    }

    async fn claim(
        &mut self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, LedgerError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys \
             (business_id, key, fingerprint, payment_id, completed, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (business_id, key) DO NOTHING",
        )
        .bind(self.business.as_str())
        .bind(record.key.as_str())
        .bind(&record.fingerprint.0)
        .bind(record.payment.as_str())
        .bind(record.completed)
        .bind(time_text(&record.created_at))
        .execute(&mut *self.tx)
        .await;
        match inserted {
            Ok(done) if done.rows_affected() == 1 => Ok(None),
            Ok(_) => {
                let business = self.business.clone();
                match read_key(&mut self.tx, &business, &record.key).await {
                    Ok(Some(existing)) => Ok(Some(existing)),
                    Ok(None) => Err(LedgerError::Unavailable(
                        "idempotency key neither inserted nor found".into(),
                    )),
                    Err(ReadError::Sql(e)) => Err(self.fail(e)),
                    Err(ReadError::Ledger(e)) => Err(e),
                }
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn complete(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET completed = 1 WHERE business_id = ?1 AND key = ?2",
        )
        .bind(self.business.as_str())
        .bind(key.as_str())
        .execute(&mut *self.tx)
        .await;
        done.map(drop).map_err(|e| self.fail(e))
    }

    async fn release(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE business_id = ?1 AND key = ?2")
            .bind(self.business.as_str())
            .bind(key.as_str())
            .execute(&mut *self.tx)
            .await;
        done.map(drop).map_err(|e| self.fail(e))
    }

    async fn put_booking(&mut self, account: &BookingAccount) -> Result<(), LedgerError> {
        let body = to_json(account)?;
        let done = sqlx::query(
            "INSERT INTO bookings (business_id, id, customer_id, currency, body) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (business_id, id) DO UPDATE SET \
             customer_id = excluded.customer_id, currency = excluded.currency, \
             body = excluded.body",
        )
        .bind(self.business.as_str())
        .bind(account.id.as_str())
        .bind(account.customer.as_str())
        .bind(account.currency.code())
        .bind(body)
        .execute(&mut *self.tx)
        .await;
        done.map(drop).map_err(|e| self.fail(e))
    }

    async fn append(
        &mut self,
        entries: &[Entry],
        summaries: &[BookingSummary],
    ) -> Result<(), LedgerError> {
        let bodies = entries
            .iter()
            .map(|entry| Ok((entry, to_json(entry)?)))
            .collect::<Result<Vec<_>, LedgerError>>()?;
        let summaries = summaries
            .iter()
            .map(SummaryColumns::of)
            .collect::<Result<Vec<_>, _>>()?;
        // A savepoint makes the append all or nothing within the transaction, like the
        // in-memory store: a conflict on the third entry must not leave the first two.
        if let Err(e) = sqlx::query("SAVEPOINT ledger_append")
            .execute(&mut *self.tx)
            .await
        {
            return Err(self.fail(e));
        }
        match self.write_entries(&bodies, summaries).await {
            Ok(()) => {
                let released = sqlx::query("RELEASE ledger_append")
                    .execute(&mut *self.tx)
                    .await;
                released.map(drop).map_err(|e| self.fail(e))
            }
            Err(error) => {
                let undone = sqlx::query("ROLLBACK TO ledger_append; RELEASE ledger_append")
                    .execute(&mut *self.tx)
                    .await;
                if let Err(e) = undone {
                    return Err(self.fail(e));
                }
                if is_unique_violation(&error) {
                    // Only entries can collide: links and summaries are upserts.
                    Err(LedgerError::Conflict(format!(
                        "an entry of payment(s) {} already exists",
                        entries
                            .iter()
                            .map(|e| format!("{}#{}", e.payment, e.seq))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                } else {
                    Err(self.fail(error))
                }
            }
        }
    }

    async fn commit(self) -> Result<(), LedgerError> {
        if self.failed {
            // Dropping the transaction rolls it back.
            return Err(LedgerError::Unavailable(
                "the transaction failed earlier and was rolled back".into(),
            ));
        }
        self.tx.commit().await.map_err(ledger_error)
    }
}

/// Why a read failed: the database, or a row that does not parse.
pub(crate) enum ReadError {
    Sql(sqlx::Error),
    Ledger(LedgerError),
}

impl From<sqlx::Error> for ReadError {
    fn from(error: sqlx::Error) -> Self {
        ReadError::Sql(error)
    }
}

impl From<LedgerError> for ReadError {
    fn from(error: LedgerError) -> Self {
        ReadError::Ledger(error)
    }
}

impl From<ReadError> for LedgerError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Sql(e) => ledger_error(e),
            ReadError::Ledger(e) => e,
        }
    }
}

/// Bookings (sorted by id, unknown ones left out) with the entries touching each, in the order
/// they were written. One statement whatever the number of bookings.
async fn read_ledgers(
    conn: &mut SqliteConnection,
    business: &BusinessId,
    bookings: &[BookingId],
) -> Result<Vec<BookingLedger>, ReadError> {
    let ids = sorted_ids(bookings);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT b.id, b.body, e.body \
         FROM bookings b \
         LEFT JOIN entry_bookings l ON l.business_id = b.business_id AND l.booking_id = b.id \
         LEFT JOIN entries e ON e.business_id = l.business_id AND e.payment_id = l.payment_id \
              AND e.seq = l.seq \
         WHERE b.business_id = ?1 AND b.id IN (SELECT value FROM json_each(?2)) \
         ORDER BY b.id, e.position",
    )
    .bind(business.as_str())
    .bind(json_ids(&ids)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut ledgers: Vec<BookingLedger> = Vec::new();
    let mut current: Option<String> = None;
    for (id, account, entry) in rows {
        if current.as_deref() != Some(id.as_str()) {
            ledgers.push(BookingLedger {
                account: from_json("stored booking", &account)?,
                entries: Vec::new(),
            });
            current = Some(id);
        }
        if let (Some(entry), Some(ledger)) = (entry, ledgers.last_mut()) {
            ledger.entries.push(from_json("stored entry", &entry)?);
        }
    }
    Ok(ledgers)
}

/// The idempotency record under a key. The key is the one asked for, not parsed back: a key's
/// per-booking parts may be longer than a client's key may be.
async fn read_key(
    conn: &mut SqliteConnection,
    business: &BusinessId,
    key: &IdempotencyKey,
) -> Result<Option<IdempotencyRecord>, ReadError> {
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT fingerprint, payment_id, completed, created_at, response_status, \
         response_content_type, response_body FROM idempotency_keys \
         WHERE business_id = ?1 AND key = ?2",
    )
    .bind(business.as_str())
    .bind(key.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((fingerprint, payment, completed, created_at, status, content_type, body)) = row
    else {
        return Ok(None);
    };
    Ok(Some(IdempotencyRecord {
        key: key.clone(),
        fingerprint: Fingerprint(fingerprint),
        payment: PaymentId::new(payment).map_err(|e| corrupt("stored payment id", e))?,
        completed,
        created_at: parse_time("idempotency key time", &created_at)?,
        response: stored_response(status, content_type, body)?,
    }))
}

/// A row of the idempotency keys table: fingerprint, payment, completed, created at, and the
/// stored response's status, media type and body.
type KeyRow = (
    String,
    String,
    bool,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// The stored response of a key: all three columns, or none.
fn stored_response(
    status: Option<i64>,
    content_type: Option<String>,
    body: Option<String>,
) -> Result<Option<StoredResponse>, LedgerError> {
    match (status, content_type, body) {
        (None, None, None) => Ok(None),
        (Some(status), Some(content_type), Some(body)) => Ok(Some(StoredResponse {
            status: u16::try_from(status).map_err(|e| corrupt("stored response status", e))?,
            content_type,
            body,
        })),
        _ => Err(LedgerError::Corrupt(
            "a stored response lacks its status, media type or body".into(),
        )),
    }
}

#[async_trait]
impl Ledger for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self, business: &BusinessId) -> Result<SqliteTx, LedgerError> {
        // IMMEDIATE takes the write lock now (waiting up to the busy timeout), not at the first
        // write: a deferred transaction that read a balance could otherwise fail to upgrade, or
        // decide on a balance another writer is about to change.
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(ledger_error)?;
        Ok(SqliteTx {
            tx,
            business: business.clone(),
            failed: false,
        })
    }

    async fn load(
        &self,
        business: &BusinessId,
        bookings: &[BookingId],
    ) -> Result<Vec<BookingLedger>, LedgerError> {
        let mut conn = self.pool.acquire().await.map_err(ledger_error)?;
        Ok(read_ledgers(&mut conn, business, bookings).await?)
    }

    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError> {
        // The bookings of the payment's first entry (they never change).
        let bookings: Option<String> = sqlx::query_scalar(
            "SELECT json_extract(body, '$.bookings') FROM entries \
             WHERE business_id = ?1 AND payment_id = ?2 ORDER BY position LIMIT 1",
        )
        .bind(business.as_str())
        .bind(payment.as_str())
        .fetch_optional(&self.pool)
        .await
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
        let row: Option<SummaryRow> = sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM booking_summaries \
             WHERE business_id = ?1 AND booking_id = ?2"
        ))
        .bind(business.as_str())
        .bind(booking.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(ledger_error)?;
        row.map(SummaryRow::into_summary).transpose()
    }

    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError> {
        // Only the filters given are in the statement, so SQLite picks the index that serves
        // them (customer, status or pending, each ordered by booking id).
        let mut query = QueryBuilder::<Sqlite>::new(format!(
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
        let rows: Vec<SummaryRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(ledger_error)?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    async fn outstanding(
        &self,
        business: &BusinessId,
        customer: Option<&CustomerId>,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError> {
        // `balance_due_minor > 0` matches the partial index booking_summaries_outstanding,
        // which covers the query: only bookings that owe something are read.
        let rows: Vec<(String, String, i64, i64)> = match customer {
            Some(customer) => sqlx::query_as(
                "SELECT customer_id, currency, SUM(balance_due_minor), COUNT(*) \
                 FROM booking_summaries \
                 WHERE business_id = ?1 AND customer_id = ?2 AND balance_due_minor > 0 \
                 GROUP BY customer_id, currency ORDER BY customer_id, currency",
            )
            .bind(business.as_str())
            .bind(customer.as_str()),
            None => sqlx::query_as(
                "SELECT customer_id, currency, SUM(balance_due_minor), COUNT(*) \
                 FROM booking_summaries \
                 WHERE business_id = ?1 AND balance_due_minor > 0 \
                 GROUP BY customer_id, currency ORDER BY customer_id, currency",
            )
            .bind(business.as_str()),
        }
        .fetch_all(&self.pool)
        .await
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
        let mut conn = self.pool.acquire().await.map_err(ledger_error)?;
        Ok(read_key(&mut conn, business, key).await?)
    }

    async fn save_response(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<bool, LedgerError> {
        // One statement, outside any transaction: it only touches a completed row without a
        // response, so of two concurrent saves the first wins and the second changes nothing.
        let done = sqlx::query(
            "UPDATE idempotency_keys \
             SET response_status = ?3, response_content_type = ?4, response_body = ?5 \
             WHERE business_id = ?1 AND key = ?2 AND completed = 1 AND response_body IS NULL",
        )
        .bind(business.as_str())
        .bind(key.as_str())
        .bind(i64::from(response.status))
        .bind(response.content_type.as_str())
        .bind(response.body.as_str())
        .execute(&self.pool)
        .await
        .map_err(ledger_error)?;
        Ok(done.rows_affected() == 1)
    }
}
