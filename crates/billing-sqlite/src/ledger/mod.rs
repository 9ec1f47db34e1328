//! The [`Ledger`] port on SQLite: bookings with their versions, append-only entries,
//! summaries, idempotency records and the outstanding report. Reads go through the read pool;
//! commits are jobs of the writer, all or nothing.

mod commit;
mod day_totals;
mod read;

use std::collections::HashMap;

use async_trait::async_trait;
use billing_core::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::{Payment, PaymentDayTotals, fold};
use billing_core::ports::{
    BookingFilter, Committed, CustomerOutstanding, Ledger, LedgerError, LedgerRead, LedgerSnapshot,
    LedgerWrite, OutstandingQuery, OutstandingTotal, PaymentsQuery,
};
use billing_core::status::BookingSummary;
use billing_sql::StoredRowError;
use billing_sql::errors::ledger_error;
use billing_sql::formats::decode_entry;
use billing_sql::rows::{SUMMARY_COLUMNS, SummaryRow};
use chrono::NaiveDate;
use sqlx::{QueryBuilder, Sqlite};

use crate::store::{SqliteStore, time_text};
use commit::PreparedWrite;
pub(crate) use day_totals::fill_next as fill_payment_day_totals;
use read::SnapshotQuery;

/// A currency code read back.
fn currency(code: &str) -> Result<Currency, StoredRowError> {
    Currency::from_code(code).map_err(|e| StoredRowError::new("stored currency", e))
}

/// A count read back.
fn count(n: i64) -> Result<u64, StoredRowError> {
    u64::try_from(n).map_err(|e| StoredRowError::new("stored booking count", e))
}

/// Payments from their entries' rows (payment id, entry), in the rows' order of payments.
fn payments_in_order(rows: Vec<(String, String)>) -> Result<Vec<Payment>, LedgerError> {
    let mut order: HashMap<String, usize> = HashMap::new();
    let mut entries = Vec::with_capacity(rows.len());
    for (payment, body) in rows {
        let next = order.len();
        order.entry(payment).or_insert(next);
        entries.push(decode_entry(&body)?);
    }
    let mut payments = fold(&entries).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    payments.sort_by_key(|p| order.get(p.id.as_str()).copied());
    Ok(payments)
}

#[async_trait]
impl Ledger for SqliteStore {
    async fn read(
        &self,
        business: &BusinessId,
        read: &LedgerRead<'_>,
    ) -> Result<LedgerSnapshot, LedgerError> {
        let mut bookings = read.bookings.to_vec();
        bookings.sort();
        bookings.dedup();
        let query = SnapshotQuery {
            business: business.as_str().to_owned(),
            bookings,
            key: read.key.cloned(),
            payer_of: read.payer.then(|| read.bookings.first().cloned()).flatten(),
        };
        let key = query.key.clone();
        let rows = self
            .with_reader(move |conn| {
                Box::pin(async move { read::fetch(conn, query).await.map_err(ledger_error) })
            })
            .await?;
        // Decoded here, not on the connection's task.
        rows.decode(key)
    }

    async fn commit(
        &self,
        business: &BusinessId,
        write: &LedgerWrite,
    ) -> Result<Committed, LedgerError> {
        if write.is_empty() && write.read.is_empty() {
            // Nothing to check, nothing to write.
            return Ok(Committed::Written);
        }
        let prepared = PreparedWrite::of(business, write)?;
        let taken = self
            .with_writer(move |conn| Box::pin(commit::apply(conn, prepared)))
            .await?;
        match (taken, &write.claim) {
            (Some(row), Some(claim)) => Ok(Committed::KeyTaken(Box::new(
                row.into_record(claim.key.clone())?,
            ))),
            _ => Ok(Committed::Written),
        }
    }

    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError> {
        let (business, payment) = (business.as_str().to_owned(), payment.as_str().to_owned());
        // The bookings of the payment's first entry (they never change).
        let body: Option<String> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_scalar(
                        "SELECT body FROM entries WHERE business_id = ?1 AND payment_id = ?2 \
                         ORDER BY seq LIMIT 1",
                    )
                    .bind(business)
                    .bind(payment)
                    .fetch_optional(conn)
                    .await
                    .map_err(ledger_error)
                })
            })
            .await?;
        Ok(body
            .map(|body| decode_entry(&body).map(|entry| entry.bookings))
            .transpose()?)
    }

    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError> {
        let (business, filter) = (business.as_str().to_owned(), filter.clone());
        let rows: Vec<SummaryRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    // Only the filters given are in the statement, so SQLite picks the index
                    // that serves them (customer, status, pending or holding, each ordered by
                    // booking).
                    let mut query = QueryBuilder::<Sqlite>::new(format!(
                        "SELECT {SUMMARY_COLUMNS} FROM booking_summaries WHERE business_id = "
                    ));
                    query.push_bind(business);
                    if let Some(customer) = filter.customer {
                        query
                            .push(" AND customer_id = ")
                            .push_bind(String::from(customer));
                    }
                    if let Some(status) = filter.status {
                        query.push(" AND status = ").push_bind(status.as_str());
                    }
                    if let Some(pending) = filter.pending {
                        query.push(" AND pending = ").push_bind(pending);
                    }
                    // Written out, not bound: `held_minor > 0` is what lets SQLite use the
                    // partial index booking_summaries_holding.
                    match filter.holding {
                        Some(true) => {
                            query.push(" AND held_minor > 0");
                        }
                        Some(false) => {
                            query.push(" AND held_minor <= 0");
                        }
                        None => {}
                    }
                    // Service dates and a text are filters on the rows read in booking order
                    // (the page order), stopped at the limit. An undated booking is in no
                    // range: NULL compares to nothing.
                    if let Some(from) = filter.service_from {
                        query
                            .push(" AND service_at >= ")
                            .push_bind(time_text(&from));
                    }
                    if let Some(until) = filter.service_until {
                        query
                            .push(" AND service_at < ")
                            .push_bind(time_text(&until));
                    }
                    // A substring, not a pattern: `instr`, so that `_` and `%` are themselves.
                    // Ids are ASCII, which `lower` folds.
                    if let Some(text) = filter.search.filter(|t| !t.is_empty()) {
                        let text = text.to_ascii_lowercase();
                        query
                            .push(" AND (instr(lower(booking_id), ")
                            .push_bind(text.clone())
                            .push(") > 0 OR instr(lower(customer_id), ")
                            .push_bind(text)
                            .push(") > 0)");
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
                        .map_err(ledger_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(SummaryRow::into_summary)
            .collect::<Result<_, _>>()?)
    }

    async fn payments_created(
        &self,
        business: &BusinessId,
        query: &PaymentsQuery,
    ) -> Result<Vec<Payment>, LedgerError> {
        let (business, query) = (business.as_str().to_owned(), query.clone());
        let rows: Vec<(String, String)> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    // The page is a range of payment_openings' key, read from the cursor and
                    // stopped at the limit; then each payment's entries, by the entries'
                    // (business, payment, seq) key. `CROSS JOIN` fixes that order: left to
                    // its planner, SQLite 3.46 made `entries` the outer table and scanned the
                    // page once per entry of the business (seconds at 10^4 bookings).
                    let mut sql = QueryBuilder::<Sqlite>::new(
                        "SELECT o.payment_id, e.body FROM (SELECT created_at, payment_id \
                         FROM payment_openings WHERE business_id = ",
                    );
                    sql.push_bind(business.clone())
                        .push(" AND created_at >= ")
                        .push_bind(time_text(&query.from))
                        .push(" AND created_at < ")
                        .push_bind(time_text(&query.until));
                    if let Some((at, payment)) = query.after {
                        sql.push(" AND (created_at, payment_id) > (")
                            .push_bind(time_text(&at))
                            .push(", ")
                            .push_bind(String::from(payment))
                            .push(")");
                    }
                    sql.push(" ORDER BY created_at, payment_id LIMIT ")
                        .push_bind(i64::from(query.limit))
                        .push(") o CROSS JOIN entries e WHERE e.business_id = ")
                        .push_bind(business)
                        .push(
                            " AND e.payment_id = o.payment_id \
                             ORDER BY o.created_at, o.payment_id, e.seq",
                        );
                    sql.build_query_as()
                        .fetch_all(conn)
                        .await
                        .map_err(ledger_error)
                })
            })
            .await?;
        payments_in_order(rows)
    }

    async fn outstanding(
        &self,
        business: &BusinessId,
        query: &OutstandingQuery,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError> {
        let (business, query) = (business.as_str().to_owned(), query.clone());
        let rows: Vec<(String, String, i64, i64)> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    // `balance_due_minor > 0` matches the partial index
                    // booking_summaries_outstanding, (business, customer, currency, balance)
                    // of owing bookings only: the page is a range of it, read in order from
                    // the cursor and stopped at the limit, whatever the number of bookings.
                    let mut sql = QueryBuilder::<Sqlite>::new(
                        "SELECT customer_id, currency, SUM(balance_due_minor), COUNT(*) \
                         FROM booking_summaries WHERE business_id = ",
                    );
                    sql.push_bind(business).push(" AND balance_due_minor > 0");
                    if let Some(customer) = query.customer {
                        sql.push(" AND customer_id = ")
                            .push_bind(String::from(customer));
                    }
                    if let Some((customer, currency)) = query.after {
                        sql.push(" AND (customer_id, currency) > (")
                            .push_bind(String::from(customer))
                            .push(", ")
                            .push_bind(currency.code().to_owned())
                            .push(")");
                    }
                    sql.push(
                        " GROUP BY customer_id, currency ORDER BY customer_id, currency LIMIT ",
                    )
                    .push_bind(i64::from(query.limit));
                    sql.build_query_as()
                        .fetch_all(conn)
                        .await
                        .map_err(ledger_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(customer, code, due, bookings)| {
                Ok(CustomerOutstanding {
                    customer: CustomerId::new(customer)
                        .map_err(|e| StoredRowError::new("stored customer id", e))?,
                    balance_due: Money::from_minor(due, currency(&code)?),
                    bookings: count(bookings)?,
                })
            })
            .collect::<Result<_, StoredRowError>>()?)
    }

    async fn outstanding_totals(
        &self,
        business: &BusinessId,
    ) -> Result<Vec<OutstandingTotal>, LedgerError> {
        let business = business.as_str().to_owned();
        // One row per currency the business ever had owed in, kept by the triggers of
        // booking_summaries: no booking is read.
        let rows: Vec<(String, i64, i64)> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(
                        "SELECT currency, balance_due_minor, bookings FROM outstanding_totals \
                         WHERE business_id = ?1 AND balance_due_minor > 0 ORDER BY currency",
                    )
                    .bind(business)
                    .fetch_all(conn)
                    .await
                    .map_err(ledger_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(code, due, bookings)| {
                Ok(OutstandingTotal {
                    balance_due: Money::from_minor(due, currency(&code)?),
                    bookings: count(bookings)?,
                })
            })
            .collect::<Result<_, StoredRowError>>()?)
    }

    async fn payment_day_totals(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<PaymentDayTotals>, LedgerError> {
        let business = business.as_str().to_owned();
        // One row per day and currency, kept by the commits: no payment is read.
        let rows = self
            .with_reader(move |conn| {
                Box::pin(async move { day_totals::read(conn, business, from, until).await })
            })
            .await?;
        day_totals::decode(rows)
    }
}
