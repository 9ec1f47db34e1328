//! The [`Ledger`] port on PostgreSQL: a read of everything a use case decides from in one
//! statement, and a commit in one statement (`billing_commit`, migration 0005, replaced by 0006,
//! 0007 and 0013) that lands only if no booking it was decided from moved. Every value is
//! bound, never written into SQL text.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use billing_core::customer::{Customer, SavedCard};
use billing_core::idempotency::{Fingerprint, IdempotencyKey};
use billing_core::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::{Payment, PaymentDayTotals, fold};
use billing_core::ports::{
    BookingFilter, BookingLedger, Committed, CustomerOutstanding, IdempotencyRecord, KeyUpdate,
    Ledger, LedgerError, LedgerRead, LedgerSnapshot, LedgerWrite, OutstandingQuery,
    OutstandingTotal, PaymentsQuery,
};
use billing_core::status::BookingSummary;
use billing_sql::StoredRowError;
use billing_sql::errors::ledger_error;
use billing_sql::formats::{
    decode_booking, decode_entry, decode_receipt, encode_booking, encode_entry, encode_receipt,
};
use billing_sql::rows::{SUMMARY_COLUMNS, SummaryColumns, SummaryRow, stored_phone};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::{Postgres, QueryBuilder};

use crate::day_totals::{DayJson, day_json};
use crate::pool::on_pool;
use crate::store::PostgresStore;

/// Everything a use case reads before it decides, in one statement: the bookings with their
/// versions (kind 0), each booking's entries in the order written (kind 1), the record under
/// the key (kind 2), and the first booking's customer (kind 3) with their cards (kind 4).
///
/// Each booking, and then its links and entries, is read in a `LATERAL` subquery per id, kept
/// apart by `OFFSET 0` (which stops Postgres from flattening it into a join), so that each step
/// can only be a lookup of one key, whatever the statistics said when the plan was made. A join
/// once let a generic plan made on small tables read every entry of the business for each
/// booking, and `id = ANY ($2)` let one scan every booking of the business (`business_id`
/// alone as the index condition, the ids as a filter): 0.7 s a read at 100,000 bookings.
const READ: &str = "WITH wanted AS MATERIALIZED ( \
        SELECT b.id, b.version, b.body, b.customer_id \
        FROM (SELECT DISTINCT unnest($2::text[]) AS id) want \
        CROSS JOIN LATERAL ( \
            SELECT b.id, b.version, b.body, b.customer_id FROM bookings b \
            WHERE b.business_id = $1 AND b.id = want.id OFFSET 0) b) \
    SELECT 0::int2 AS kind, w.id, w.version AS num, w.body::text AS body FROM wanted w \
    UNION ALL \
    SELECT 1::int2, w.id, e.position, e.body::text FROM wanted w \
    CROSS JOIN LATERAL ( \
        SELECT l.payment_id, l.seq FROM entry_bookings l \
        WHERE l.business_id = $1 AND l.booking_id = w.id OFFSET 0) l \
    CROSS JOIN LATERAL ( \
        SELECT e.position, e.body FROM entries e \
        WHERE e.business_id = $1 AND e.payment_id = l.payment_id AND e.seq = l.seq \
        OFFSET 0) e \
    UNION ALL \
    SELECT 2::int2, k.key, NULL, json_build_object('fingerprint', k.fingerprint, \
        'payment_id', k.payment_id, 'completed', k.completed, 'created_at', k.created_at, \
        'first_answer', k.first_answer)::text \
    FROM idempotency_keys k WHERE k.business_id = $1 AND k.key = $3 \
    UNION ALL \
    SELECT 3::int2, c.id, NULL, json_build_object('name', c.name, 'email', c.email, \
        'phone', c.phone, 'gateway_customer', c.gateway_customer)::text \
    FROM customers c WHERE $4 AND c.business_id = $1 \
        AND c.id = (SELECT customer_id FROM wanted WHERE id = $5) \
    UNION ALL \
    SELECT 4::int2, s.payment_method, NULL, json_build_object('brand', s.brand, \
        'last4', s.last4, 'exp_month', s.exp_month, 'exp_year', s.exp_year, \
        'is_default', s.is_default)::text \
    FROM saved_cards s WHERE $4 AND s.business_id = $1 \
        AND s.customer_id = (SELECT customer_id FROM wanted WHERE id = $5)";

/// A row of [`READ`]: its kind, an id, a number (a version or an entry's position), a body.
type ReadRow = (i16, String, Option<i64>, String);

/// The record under a key, as [`READ`] and `billing_commit` write it.
#[derive(Debug, Deserialize)]
struct KeyJson {
    fingerprint: String,
    payment_id: String,
    completed: bool,
    created_at: DateTime<Utc>,
    first_answer: Option<String>,
}

impl KeyJson {
    fn record(self, key: &IdempotencyKey) -> Result<IdempotencyRecord, LedgerError> {
        Ok(IdempotencyRecord {
            key: key.clone(),
            fingerprint: Fingerprint(self.fingerprint),
            payment: PaymentId::new(self.payment_id)
                .map_err(|e| StoredRowError::new("stored key", e))?,
            completed: self.completed,
            created_at: self.created_at,
            first_answer: self
                .first_answer
                .as_deref()
                .map(decode_receipt)
                .transpose()?
                .map(Box::new),
        })
    }
}

#[derive(Debug, Deserialize)]
struct CustomerJson {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    gateway_customer: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CardJson {
    brand: String,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    is_default: bool,
}

fn json<'a, T: Deserialize<'a>>(what: &'static str, text: &'a str) -> Result<T, LedgerError> {
    serde_json::from_str(text).map_err(|e| StoredRowError::new(what, e).into())
}

/// A booking as read: its body, its version, and its entries with their positions.
type BookingRows = (String, u64, Vec<(i64, String)>);

/// The snapshot [`READ`]'s rows make.
fn snapshot(
    rows: Vec<ReadRow>,
    key: Option<&IdempotencyKey>,
) -> Result<LedgerSnapshot, LedgerError> {
    let mut bookings: BTreeMap<String, BookingRows> = BTreeMap::new();
    let mut entries = Vec::new();
    let mut found_key = None;
    let mut customer = None;
    let mut cards = Vec::new();
    for (kind, id, number, body) in rows {
        match kind {
            0 => {
                let version = u64::try_from(number.unwrap_or(0))
                    .map_err(|e| StoredRowError::new("stored version", e))?;
                bookings.insert(id, (body, version, Vec::new()));
            }
            1 => entries.push((id, number.unwrap_or(0), body)),
            2 => found_key = Some(body),
            3 => customer = Some((id, body)),
            _ => cards.push((id, body)),
        }
    }
    for (booking, position, body) in entries {
        if let Some((_, _, list)) = bookings.get_mut(&booking) {
            list.push((position, body));
        }
    }
    let ledgers = bookings
        .into_values()
        .map(|(account, version, mut entries)| {
            // In the order written; sorted here, where a handful of rows costs less than a
            // sort node on the server.
            entries.sort_unstable_by_key(|(position, _)| *position);
            Ok(BookingLedger {
                account: decode_booking(&account)?,
                version,
                entries: entries
                    .iter()
                    .map(|(_, body)| decode_entry(body))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<Vec<_>, StoredRowError>>()?;
    let key = match (found_key, key) {
        (Some(body), Some(key)) => Some(json::<KeyJson>("stored key", &body)?.record(key)?),
        _ => None,
    };
    let payer = match customer {
        Some((id, body)) => {
            let profile: CustomerJson = json("stored customer", &body)?;
            let mut saved = cards
                .into_iter()
                .map(|(payment_method, body)| {
                    let card: CardJson = json("stored card", &body)?;
                    let number = |n: i64| {
                        u32::try_from(n).map_err(|e| StoredRowError::new("stored card", e))
                    };
                    Ok(SavedCard {
                        payment_method,
                        brand: card.brand,
                        last4: card.last4,
                        exp_month: number(card.exp_month)?,
                        exp_year: number(card.exp_year)?,
                        is_default: card.is_default,
                    })
                })
                .collect::<Result<Vec<_>, LedgerError>>()?;
            saved.sort_by(|a, b| {
                b.is_default
                    .cmp(&a.is_default)
                    .then_with(|| a.payment_method.cmp(&b.payment_method))
            });
            let customer = Customer {
                id: CustomerId::new(id).map_err(|e| StoredRowError::new("stored customer", e))?,
                name: profile.name,
                email: profile.email,
                phone: stored_phone(profile.phone.as_deref())?,
                gateway_customer: profile.gateway_customer,
            };
            Some((customer, saved))
        }
        None => None,
    };
    Ok(LedgerSnapshot {
        ledgers,
        key,
        payer,
    })
}

/// The JSON `billing_commit` takes (see migration 0005; 0006 adds the summaries' `disputed`,
/// 0013 the changes of the per-day payment totals).
#[derive(Serialize)]
struct CommitJson<'a> {
    read: Vec<ReadJson<'a>>,
    claim: Option<ClaimJson<'a>>,
    bookings: Vec<BookingJson<'a>>,
    entries: Vec<EntryJson<'a>>,
    links: Vec<LinkJson<'a>>,
    summaries: Vec<SummaryColumns>,
    key: Option<KeyOpJson<'a>>,
    payment_days: Vec<DayJson>,
}

#[derive(Serialize)]
struct ReadJson<'a> {
    id: &'a str,
    version: u64,
}

#[derive(Serialize)]
struct ClaimJson<'a> {
    key: &'a str,
    fingerprint: &'a str,
    payment_id: &'a str,
    completed: bool,
    created_at: DateTime<Utc>,
    first_answer: Option<String>,
}

#[derive(Serialize)]
struct BookingJson<'a> {
    id: &'a str,
    customer_id: &'a str,
    currency: &'a str,
    body: Box<RawValue>,
}

#[derive(Serialize)]
struct EntryJson<'a> {
    payment_id: &'a str,
    seq: u32,
    body: Box<RawValue>,
}

#[derive(Serialize)]
struct LinkJson<'a> {
    booking_id: &'a str,
    payment_id: &'a str,
    seq: u32,
}

#[derive(Serialize)]
struct KeyOpJson<'a> {
    op: &'static str,
    key: &'a str,
    first_answer: Option<String>,
}

fn raw(text: String) -> Result<Box<RawValue>, LedgerError> {
    RawValue::from_string(text).map_err(|e| StoredRowError::new("row to store", e).into())
}

/// The JSON of a write.
fn commit_json(write: &LedgerWrite) -> Result<String, LedgerError> {
    let claim = match &write.claim {
        Some(record) => Some(ClaimJson {
            key: record.key.as_str(),
            fingerprint: &record.fingerprint.0,
            payment_id: record.payment.as_str(),
            completed: record.completed,
            created_at: record.created_at,
            first_answer: record
                .first_answer
                .as_deref()
                .map(encode_receipt)
                .transpose()?,
        }),
        None => None,
    };
    let bookings = write
        .bookings
        .iter()
        .map(|account| {
            Ok(BookingJson {
                id: account.id.as_str(),
                customer_id: account.customer.as_str(),
                currency: account.currency.code(),
                body: raw(encode_booking(account)?)?,
            })
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    let mut links = Vec::new();
    let mut entries = Vec::with_capacity(write.entries.len());
    for entry in &write.entries {
        entries.push(EntryJson {
            payment_id: entry.payment.as_str(),
            seq: entry.seq,
            body: raw(encode_entry(entry)?)?,
        });
        let mut seen = Vec::new();
        for booking in &entry.bookings {
            // An entry naming a booking twice links it once.
            if !seen.contains(&booking) {
                seen.push(booking);
                links.push(LinkJson {
                    booking_id: booking.as_str(),
                    payment_id: entry.payment.as_str(),
                    seq: entry.seq,
                });
            }
        }
    }
    let summaries = SummaryColumns::last_of_each(&write.summaries)?;
    let key = match &write.key {
        Some(KeyUpdate::Complete { key, first_answer }) => Some(KeyOpJson {
            op: "complete",
            key: key.as_str(),
            first_answer: first_answer.as_deref().map(encode_receipt).transpose()?,
        }),
        Some(KeyUpdate::Release(key)) => Some(KeyOpJson {
            op: "release",
            key: key.as_str(),
            first_answer: None,
        }),
        None => None,
    };
    let commit = CommitJson {
        read: write
            .read
            .iter()
            .map(|(id, version)| ReadJson {
                id: id.as_str(),
                version: *version,
            })
            .collect(),
        claim,
        bookings,
        entries,
        links,
        summaries,
        key,
        payment_days: day_json(&write.payment_days)?,
    };
    serde_json::to_string(&commit).map_err(|e| StoredRowError::new("write to store", e).into())
}

/// A refused commit: a booking moved (`serialization_failure`, raised by `billing_commit`) or
/// an entry exists (`unique_violation`) is a conflict; anything else is the store's failure.
fn commit_error(error: sqlx::Error) -> LedgerError {
    let code = error
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    match code.as_deref() {
        Some("40001" | "23505") => LedgerError::Conflict(error.to_string()),
        _ => ledger_error(error),
    }
}

/// Payments from their entries' rows (payment id, entry), in the rows' order of payments: the
/// store's order, by the time kept to the microsecond (the fold orders by the entries' times,
/// to the nanosecond), so that a page ends with the payment its cursor names.
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

/// Money of a stored currency code.
fn money(minor: i64, code: &str) -> Result<Money, LedgerError> {
    let currency = Currency::from_code(code).map_err(|e| StoredRowError::new("currency", e))?;
    Ok(Money::from_minor(minor, currency))
}

#[async_trait]
impl Ledger for PostgresStore {
    async fn read(
        &self,
        business: &BusinessId,
        read: &LedgerRead<'_>,
    ) -> Result<LedgerSnapshot, LedgerError> {
        let ids: Vec<&str> = read.bookings.iter().map(BookingId::as_str).collect();
        let first = ids.first().copied();
        let rows: Vec<ReadRow> = on_pool!(self, |conn| {
            sqlx::query_as(READ)
                .bind(business.as_str())
                .bind(&ids)
                .bind(read.key.map(IdempotencyKey::as_str))
                .bind(read.payer)
                .bind(first)
                .fetch_all(conn)
                .await
        })
        .map_err(ledger_error)?;
        snapshot(rows, read.key)
    }

    async fn commit(
        &self,
        business: &BusinessId,
        write: &LedgerWrite,
    ) -> Result<Committed, LedgerError> {
        if write.is_empty() && write.read.is_empty() {
            return Ok(Committed::Written);
        }
        let payload = commit_json(write)?;
        let answer: String = on_pool!(self, |conn| {
            sqlx::query_scalar("SELECT billing_commit($1, $2::json)")
                .bind(business.as_str())
                .bind(&payload)
                .fetch_one(conn)
                .await
        })
        .map_err(commit_error)?;
        if answer == "written" {
            return Ok(Committed::Written);
        }
        let key =
            write.claim.as_ref().map(|c| &c.key).ok_or_else(|| {
                LedgerError::Corrupt(format!("unexpected commit answer {answer}"))
            })?;
        let record = json::<KeyJson>("stored key", &answer)?.record(key)?;
        Ok(Committed::KeyTaken(Box::new(record)))
    }

    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError> {
        // The bookings of the payment's opening entry (they never change), by the primary key.
        let bookings: Option<String> = on_pool!(self, |conn| {
            sqlx::query_scalar(
                "SELECT (body -> 'bookings')::text FROM entries \
                 WHERE business_id = $1 AND payment_id = $2 AND seq = 0",
            )
            .bind(business.as_str())
            .bind(payment.as_str())
            .fetch_optional(conn)
            .await
        })
        .map_err(ledger_error)?;
        let Some(bookings) = bookings else {
            return Ok(None);
        };
        let ids: Vec<String> = json("stored entry bookings", &bookings)?;
        ids.into_iter()
            .map(|b| {
                BookingId::new(b).map_err(|e| StoredRowError::new("stored booking id", e).into())
            })
            .collect::<Result<Vec<_>, LedgerError>>()
            .map(Some)
    }

    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError> {
        // Only the filters given are in the statement (no `$n IS NULL OR ...`, which a generic
        // plan cannot serve with an index), so the index for them serves it.
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
        // Written out, not bound: a generic plan can use the partial index
        // booking_summaries_holding only for a predicate it can see is `held_minor > 0`.
        match filter.holding {
            Some(true) => {
                query.push(" AND held_minor > 0");
            }
            Some(false) => {
                query.push(" AND held_minor <= 0");
            }
            None => {}
        }
        // Service dates and a text filter the rows read in booking order (the page order),
        // stopped at the limit. An undated booking is in no range: NULL compares to nothing.
        if let Some(from) = filter.service_from {
            query.push(" AND service_at >= ").push_bind(from);
        }
        if let Some(until) = filter.service_until {
            query.push(" AND service_at < ").push_bind(until);
        }
        // A substring, not a pattern: `strpos`, so that `_` and `%` are themselves. Ids are
        // ASCII, which `lower` folds.
        if let Some(text) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            let text = text.to_ascii_lowercase();
            query
                .push(" AND (strpos(lower(booking_id), ")
                .push_bind(text.clone())
                .push(") > 0 OR strpos(lower(customer_id), ")
                .push_bind(text)
                .push(") > 0)");
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
        rows.into_iter()
            .map(|row| row.into_summary().map_err(LedgerError::from))
            .collect()
    }

    async fn payments_created(
        &self,
        business: &BusinessId,
        query: &PaymentsQuery,
    ) -> Result<Vec<Payment>, LedgerError> {
        // The page is a range of payment_openings' key (migration 0012), read from the cursor
        // and stopped at the limit; then each payment's entries, one payment at a time by the
        // entries' primary key (`OFFSET 0` keeps the lookup from being flattened into a join).
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT o.payment_id, e.body::text FROM (SELECT created_at, payment_id \
             FROM payment_openings WHERE business_id = ",
        );
        sql.push_bind(business.as_str())
            .push(" AND created_at >= ")
            .push_bind(query.from)
            .push(" AND created_at < ")
            .push_bind(query.until);
        if let Some((at, payment)) = &query.after {
            sql.push(" AND (created_at, payment_id) > (")
                .push_bind(*at)
                .push(", ")
                .push_bind(payment.as_str())
                .push(")");
        }
        sql.push(" ORDER BY created_at, payment_id LIMIT ")
            .push_bind(i64::from(query.limit))
            .push(
                ") o CROSS JOIN LATERAL (SELECT e.seq, e.body FROM entries e \
                 WHERE e.business_id = ",
            )
            .push_bind(business.as_str())
            .push(
                " AND e.payment_id = o.payment_id OFFSET 0) e \
                 ORDER BY o.created_at, o.payment_id, e.seq",
            );
        let rows: Vec<(String, String)> =
            on_pool!(self, |conn| sql.build_query_as().fetch_all(conn).await)
                .map_err(ledger_error)?;
        payments_in_order(rows)
    }

    async fn outstanding(
        &self,
        business: &BusinessId,
        query: &OutstandingQuery,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError> {
        // `balance_due_minor > 0` matches the partial index booking_summaries_outstanding,
        // which covers the query and is in (customer, currency) order: a page reads its own
        // customers' bookings and stops. The sum is cast back to BIGINT: past 2^63 minor units
        // it fails rather than rounds.
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT customer_id, currency, SUM(balance_due_minor)::bigint, COUNT(*) \
             FROM booking_summaries WHERE business_id = ",
        );
        sql.push_bind(business.as_str())
            .push(" AND balance_due_minor > 0");
        if let Some(customer) = &query.customer {
            sql.push(" AND customer_id = ").push_bind(customer.as_str());
        }
        if let Some((customer, currency)) = &query.after {
            sql.push(" AND (customer_id, currency) > (")
                .push_bind(customer.as_str())
                .push(", ")
                .push_bind(currency.code())
                .push(")");
        }
        sql.push(" GROUP BY customer_id, currency ORDER BY customer_id, currency LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows: Vec<(String, String, i64, i64)> =
            on_pool!(self, |conn| sql.build_query_as().fetch_all(conn).await)
                .map_err(ledger_error)?;
        rows.into_iter()
            .map(|(customer, code, due, bookings)| {
                Ok(CustomerOutstanding {
                    customer: CustomerId::new(customer)
                        .map_err(|e| StoredRowError::new("stored customer id", e))?,
                    balance_due: money(due, &code)?,
                    bookings: u64::try_from(bookings)
                        .map_err(|e| StoredRowError::new("booking count", e))?,
                })
            })
            .collect()
    }

    async fn outstanding_totals(
        &self,
        business: &BusinessId,
    ) -> Result<Vec<OutstandingTotal>, LedgerError> {
        let rows: Vec<(String, i64, i64)> = on_pool!(self, |conn| {
            sqlx::query_as(
                "SELECT currency, SUM(balance_due_minor)::bigint, SUM(bookings)::bigint \
                 FROM outstanding_totals WHERE business_id = $1 \
                 GROUP BY currency HAVING SUM(bookings) > 0 ORDER BY currency",
            )
            .bind(business.as_str())
            .fetch_all(conn)
            .await
        })
        .map_err(ledger_error)?;
        rows.into_iter()
            .map(|(code, due, bookings)| {
                Ok(OutstandingTotal {
                    balance_due: money(due, &code)?,
                    bookings: u64::try_from(bookings)
                        .map_err(|e| StoredRowError::new("booking count", e))?,
                })
            })
            .collect()
    }

    async fn payment_day_totals(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<PaymentDayTotals>, LedgerError> {
        crate::day_totals::read(self, business, from, until).await
    }
}

/// The advisory lock key of a customer's saved cards: a 64-bit FNV-1a hash of a namespace, the
/// business id and the customer id, stable across processes, builds and Rust versions (unlike
/// `std`'s hasher), which is what lets several processes queue on the same key.
pub(crate) fn cards_lock_key(business: &BusinessId, customer: &CustomerId) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = ["cards", business.as_str(), customer.as_str()]
        .iter()
        .flat_map(|part| part.bytes().chain(std::iter::once(0xff)))
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        });
    // Postgres advisory keys are signed: the same 64 bits, reinterpreted.
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_lock_keys_are_stable_and_scoped() {
        let acme = BusinessId::new("acme").expect("business id");
        let globex = BusinessId::new("globex").expect("business id");
        let ada = CustomerId::new("c-1").expect("customer id");
        assert_eq!(cards_lock_key(&acme, &ada), cards_lock_key(&acme, &ada));
        assert_ne!(cards_lock_key(&acme, &ada), cards_lock_key(&globex, &ada));
    }

    #[test]
    fn a_write_is_one_json_document_with_raw_bodies() {
        let write = LedgerWrite::default();
        let json = commit_json(&write).expect("json");
        assert_eq!(
            json,
            r#"{"read":[],"claim":null,"bookings":[],"entries":[],"links":[],"summaries":[],"key":null,"payment_days":[]}"#
        );
    }
}
