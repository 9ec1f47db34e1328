//! The per-day payment totals (migration 0012): the changes a commit carries, added in its
//! transaction; a range of days read back; and the one-off count of the payments written
//! before the table existed.

use billing_core::payment::{PaymentDayTotals, PaymentTotals, fold};
use billing_core::ports::LedgerError;
use billing_sql::StoredRowError;
use billing_sql::errors::ledger_error;
use billing_sql::formats::decode_entry;
use chrono::NaiveDate;
use sqlx::SqliteConnection;

use super::currency;

/// How a day is stored: `YYYY-MM-DD`, which sorts as the days do.
const DAY: &str = "%Y-%m-%d";

/// A change of one day's totals in one currency, encoded.
#[derive(Debug)]
pub(super) struct DayRow {
    day: String,
    currency: String,
    minor: [i64; 5],
}

/// Encodes rows (changes, or totals).
pub(super) fn rows(days: &[PaymentDayTotals]) -> Result<Vec<DayRow>, LedgerError> {
    days.iter()
        .map(|row| {
            Ok(DayRow {
                day: row.day.format(DAY).to_string(),
                currency: row.totals.currency().code().to_owned(),
                minor: row
                    .totals
                    .to_minor()
                    .map_err(|e| StoredRowError::new("payment totals to store", e))?,
            })
        })
        .collect()
}

/// Adds changes to the kept totals, in the caller's transaction.
pub(super) async fn add(
    conn: &mut SqliteConnection,
    business: &str,
    rows: &[DayRow],
) -> Result<(), LedgerError> {
    for row in rows {
        let [charged, cash, check, other, refunded] = row.minor;
        sqlx::query(
            "INSERT INTO payment_day_totals (business_id, day, currency, charged_minor, \
             cash_minor, check_minor, other_minor, refunded_minor) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (business_id, day, currency) DO UPDATE SET \
             charged_minor = charged_minor + excluded.charged_minor, \
             cash_minor = cash_minor + excluded.cash_minor, \
             check_minor = check_minor + excluded.check_minor, \
             other_minor = other_minor + excluded.other_minor, \
             refunded_minor = refunded_minor + excluded.refunded_minor",
        )
        .bind(business)
        .bind(&row.day)
        .bind(&row.currency)
        .bind(charged)
        .bind(cash)
        .bind(check)
        .bind(other)
        .bind(refunded)
        .execute(&mut *conn)
        .await
        .map_err(ledger_error)?;
    }
    Ok(())
}

/// A stored row: day, currency, and the five columns.
pub(super) type StoredRow = (String, String, i64, i64, i64, i64, i64);

/// The rows of the days in `[from, until)`, a range of the primary key.
pub(super) async fn read(
    conn: &mut SqliteConnection,
    business: String,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<StoredRow>, LedgerError> {
    sqlx::query_as(
        "SELECT day, currency, charged_minor, cash_minor, check_minor, other_minor, \
         refunded_minor FROM payment_day_totals \
         WHERE business_id = ?1 AND day >= ?2 AND day < ?3 ORDER BY day, currency",
    )
    .bind(business)
    .bind(from.format(DAY).to_string())
    .bind(until.format(DAY).to_string())
    .fetch_all(conn)
    .await
    .map_err(ledger_error)
}

/// Stored rows decoded, leaving out those that come to nothing.
pub(super) fn decode(rows: Vec<StoredRow>) -> Result<Vec<PaymentDayTotals>, LedgerError> {
    let mut days = Vec::with_capacity(rows.len());
    for (day, code, charged, cash, check, other, refunded) in rows {
        let totals =
            PaymentTotals::from_minor(currency(&code)?, [charged, cash, check, other, refunded]);
        if totals.is_zero() {
            continue;
        }
        days.push(PaymentDayTotals {
            day: NaiveDate::parse_from_str(&day, DAY)
                .map_err(|e| StoredRowError::new("stored day", e))?,
            totals,
        });
    }
    Ok(days)
}

/// Counts the payments of one business still to be counted (migration 0012), in the writer's
/// transaction: its totals are made again from all its entries, with the core's rule, and it
/// is taken off the list. Answers false when no business is left. Commits made since the
/// migration (their changes already added) are counted again from their entries: the totals
/// are replaced, not added to.
pub(crate) async fn fill_next(conn: &mut SqliteConnection) -> Result<bool, LedgerError> {
    let business: Option<String> =
        sqlx::query_scalar("SELECT business_id FROM payment_day_totals_to_fill LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(ledger_error)?;
    let Some(business) = business else {
        return Ok(false);
    };
    let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM entries WHERE business_id = ?1")
        .bind(&business)
        .fetch_all(&mut *conn)
        .await
        .map_err(ledger_error)?;
    let entries = bodies
        .iter()
        .map(|body| decode_entry(body))
        .collect::<Result<Vec<_>, _>>()?;
    let payments = fold(&entries).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    let totals =
        PaymentDayTotals::of(&payments).map_err(|e| StoredRowError::new("payment totals", e))?;
    for statement in [
        "DELETE FROM payment_day_totals WHERE business_id = ?1",
        "DELETE FROM payment_day_totals_to_fill WHERE business_id = ?1",
    ] {
        sqlx::query(statement)
            .bind(&business)
            .execute(&mut *conn)
            .await
            .map_err(ledger_error)?;
    }
    add(conn, &business, &rows(&totals)?).await?;
    Ok(true)
}
