//! The per-day payment totals (migration 0013): the changes a commit carries, as
//! `billing_commit` takes them; a range of days read back, the shards added up; and the
//! one-off count of the payments written before the table existed.

use billing_core::ids::BusinessId;
use billing_core::money::Currency;
use billing_core::payment::{PaymentDayTotals, PaymentTotals, fold};
use billing_core::ports::LedgerError;
use billing_sql::StoredRowError;
use billing_sql::errors::ledger_error;
use billing_sql::formats::decode_entry;
use chrono::NaiveDate;
use serde::Serialize;

use crate::pool::{on_pool, run};
use crate::store::{PostgresStore, StoreError};

/// A change of one day's totals in one currency, as `billing_commit` reads it.
#[derive(Serialize)]
pub(crate) struct DayJson {
    day: NaiveDate,
    currency: String,
    charged_minor: i64,
    cash_minor: i64,
    check_minor: i64,
    other_minor: i64,
    refunded_minor: i64,
}

/// Encodes changes (or totals).
pub(crate) fn day_json(days: &[PaymentDayTotals]) -> Result<Vec<DayJson>, LedgerError> {
    days.iter()
        .map(|row| {
            let [charged, cash, check, other, refunded] = row
                .totals
                .to_minor()
                .map_err(|e| StoredRowError::new("payment totals to store", e))?;
            Ok(DayJson {
                day: row.day,
                currency: row.totals.currency().code().to_owned(),
                charged_minor: charged,
                cash_minor: cash,
                check_minor: check,
                other_minor: other,
                refunded_minor: refunded,
            })
        })
        .collect()
}

/// A row read back: day, currency, and the five columns summed over the shards.
type DayRow = (NaiveDate, String, i64, i64, i64, i64, i64);

/// The totals of the days in `[from, until)`: a range of the primary key, at most 64 shards a
/// day and currency, added up. Sums are cast back to BIGINT: past 2^63 they fail, not round.
pub(crate) async fn read(
    store: &PostgresStore,
    business: &BusinessId,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<PaymentDayTotals>, LedgerError> {
    let rows: Vec<DayRow> = on_pool!(store, |conn| {
        sqlx::query_as(
            "SELECT day, currency, SUM(charged_minor)::bigint, SUM(cash_minor)::bigint, \
             SUM(check_minor)::bigint, SUM(other_minor)::bigint, SUM(refunded_minor)::bigint \
             FROM payment_day_totals WHERE business_id = $1 AND day >= $2 AND day < $3 \
             GROUP BY day, currency ORDER BY day, currency",
        )
        .bind(business.as_str())
        .bind(from)
        .bind(until)
        .fetch_all(conn)
        .await
    })
    .map_err(ledger_error)?;
    let mut days = Vec::with_capacity(rows.len());
    for (day, code, charged, cash, check, other, refunded) in rows {
        let currency =
            Currency::from_code(&code).map_err(|e| StoredRowError::new("currency", e))?;
        let totals = PaymentTotals::from_minor(currency, [charged, cash, check, other, refunded]);
        if !totals.is_zero() {
            days.push(PaymentDayTotals { day, totals });
        }
    }
    Ok(days)
}

/// Counts the payments of every business migration 0013 left to count, one business per
/// transaction: under a lock on the totals that commits changing them wait for (and that
/// waits for those under way), the business's totals are made again from all its entries with
/// the core's rule, and it is taken off the list. A commit that wrote entries before the lock
/// but adds its change after it is not seen here, and its change then lands on these totals;
/// one that added its change before is seen whole, its change replaced.
pub(crate) async fn fill(store: &PostgresStore) -> Result<(), StoreError> {
    while fill_next(store).await? {}
    Ok(())
}

async fn fill_next(store: &PostgresStore) -> Result<bool, StoreError> {
    let mut conn = store.pool.acquire().await?;
    conn.begin().await?;
    conn.simple("LOCK TABLE payment_day_totals IN SHARE ROW EXCLUSIVE MODE")
        .await?;
    let business: Option<String> = run!(&mut conn, |c| {
        sqlx::query_scalar(
            "DELETE FROM payment_day_totals_to_fill WHERE business_id = \
             (SELECT business_id FROM payment_day_totals_to_fill ORDER BY business_id LIMIT 1) \
             RETURNING business_id",
        )
        .fetch_optional(c)
        .await
    })?;
    let Some(business) = business else {
        conn.commit().await?;
        return Ok(false);
    };
    let bodies: Vec<String> = run!(&mut conn, |c| {
        sqlx::query_scalar("SELECT body::text FROM entries WHERE business_id = $1")
            .bind(&business)
            .fetch_all(c)
            .await
    })?;
    let entries = bodies
        .iter()
        .map(|body| decode_entry(body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(LedgerError::from)?;
    let payments = fold(&entries).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    let totals = PaymentDayTotals::of(&payments)
        .map_err(|e| LedgerError::from(StoredRowError::new("payment totals", e)))?;
    let rows = serde_json::to_string(&day_json(&totals)?)
        .map_err(|e| LedgerError::from(StoredRowError::new("payment totals to store", e)))?;
    run!(&mut conn, |c| {
        sqlx::query("DELETE FROM payment_day_totals WHERE business_id = $1")
            .bind(&business)
            .execute(c)
            .await
    })?;
    run!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO payment_day_totals (business_id, day, currency, shard, \
             charged_minor, cash_minor, check_minor, other_minor, refunded_minor) \
             SELECT $1, d.day, d.currency, 0, d.charged_minor, d.cash_minor, d.check_minor, \
             d.other_minor, d.refunded_minor \
             FROM json_to_recordset($2::json) AS d (day DATE, currency TEXT, \
             charged_minor BIGINT, cash_minor BIGINT, check_minor BIGINT, other_minor BIGINT, \
             refunded_minor BIGINT)",
        )
        .bind(&business)
        .bind(&rows)
        .execute(c)
        .await
    })?;
    conn.commit().await?;
    Ok(true)
}
