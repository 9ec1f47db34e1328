//! Payment automation's tables on SQLite: every statement of the store served by its index
//! (a take reads the rows it takes, however many wait), and rows that do not read back
//! reported as corrupt.
#![allow(clippy::expect_used)]

mod common;

use billing_core::ids::{BookingId, BusinessId};
use billing_core::ports::{RunFilter, ScheduleError, Schedules};
use common::{TestResult, database, plan};
use sqlx::Connection as _;

#[tokio::test]
async fn every_statement_is_served_by_its_index() -> TestResult {
    let (_dir, url, _store) = database().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let t = "'2026-01-15T09:00:00.000000000Z'";
    for (sql, index) in [
        (
            // The take's keys, across businesses, in the take's order.
            format!(
                "SELECT business_id, booking_id FROM booking_schedules \
                 WHERE due_at IS NOT NULL AND due_at <= {t} \
                 ORDER BY due_at, business_id, booking_id LIMIT 10"
            ),
            "booking_schedules_due",
        ),
        (
            // The take's lease, by key.
            format!(
                "UPDATE booking_schedules SET due_at = {t}, version = version + 1 \
                 WHERE (business_id, booking_id) IN \
                 (SELECT value ->> 0, value ->> 1 FROM json_each('[[\"acme\", \"b-1\"]]')) \
                 RETURNING business_id"
            ),
            "sqlite_autoindex_booking_schedules_1",
        ),
        (
            // New settings, and a customer resumed, make their open records due.
            format!(
                "UPDATE booking_schedules SET due_at = {t}, version = version + 1 \
                 WHERE business_id = 'acme' AND canceled_at IS NULL"
            ),
            // (Either index that starts with the business serves it.)
            "(business_id=?)",
        ),
        (
            format!(
                "UPDATE booking_schedules SET due_at = {t}, version = version + 1 \
                 WHERE business_id = 'acme' AND canceled_at IS NULL AND customer_id = 'c'"
            ),
            "booking_schedules_by_customer",
        ),
        (
            "SELECT booking_id FROM booking_schedules WHERE business_id = 'acme' \
             AND customer_id = 'c' AND booking_id > 'b' ORDER BY booking_id LIMIT 10"
                .to_owned(),
            "booking_schedules_by_customer",
        ),
        (
            "SELECT booking_id, body FROM booking_schedules WHERE business_id = 'acme' \
             AND needs_attention AND booking_id > 'b' ORDER BY booking_id LIMIT 10"
                .to_owned(),
            "booking_schedules_needing_attention",
        ),
        (
            format!(
                "SELECT id, body FROM automation_runs WHERE business_id = 'acme' \
                 AND (at, id) < ({t}, 'run-1') ORDER BY at DESC, id DESC LIMIT 10"
            ),
            "automation_runs_newest",
        ),
        (
            format!(
                "SELECT id, body FROM automation_runs WHERE business_id = 'acme' \
                 AND booking_id = 'b' AND (at, id) < ({t}, 'run-1') \
                 ORDER BY at DESC, id DESC LIMIT 10"
            ),
            "automation_runs_by_booking",
        ),
        (
            "SELECT id, body FROM automation_runs WHERE business_id = 'acme' \
             AND outcome = 'declined' ORDER BY at DESC, id DESC LIMIT 10"
                .to_owned(),
            "automation_runs_by_outcome",
        ),
    ] {
        let plan = plan(&mut conn, &sql).await?;
        assert!(plan.contains(index), "{sql}\n{plan}");
        let scans = plan
            .lines()
            .filter(|step| step.starts_with("SCAN") && !step.contains("VIRTUAL TABLE"))
            .count();
        assert_eq!(scans, 0, "{sql}\n{plan}");
        // In index order: nothing is read beyond the page (or the take) to sort it.
        if !sql.contains("json_each") {
            assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
        }
    }
    // A page after a cursor is a range of the index, not a filter on every newer run.
    let cursor = plan(
        &mut conn,
        &format!(
            "SELECT id FROM automation_runs WHERE business_id = 'acme' \
             AND (at, id) < ({t}, 'run-1') ORDER BY at DESC, id DESC LIMIT 10"
        ),
    )
    .await?;
    assert!(
        cursor.contains("(business_id=? AND (at,id)<(?,?))"),
        "{cursor}"
    );
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn unreadable_rows_are_corrupt() -> TestResult {
    let (_dir, url, store) = database().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::raw_sql(
        r#"
        INSERT INTO payment_settings (business_id, format, body)
            VALUES ('acme', 1, '{"policy":{"type":"sometimes"}}');
        INSERT INTO booking_schedules (business_id, booking_id, customer_id, due_at,
            needs_attention, canceled_at, version, format, body)
            VALUES ('acme', 'b-1', 'c-1', NULL, 0, NULL, 1, 4, '{}');
        INSERT INTO automation_runs (business_id, id, booking_id, customer_id, at, outcome,
            format, body)
            VALUES ('acme', 'run-1', 'b-1', 'c-1', '2026-01-15T09:00:00.000000000Z', 'declined',
            1, '{"action":{"type":"capture"},"reason":"policy","attempt":1,"payment":null,"outcome":{"type":"succeeded"}}');
        "#,
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    let acme = BusinessId::new("acme")?;
    let settings = store.payment_settings(&acme).await;
    assert!(
        matches!(&settings, Err(ScheduleError::Corrupt(e)) if e.contains("sometimes")),
        "{settings:?}"
    );
    let schedule = store.schedule(&acme, &BookingId::new("b-1")?).await;
    assert!(
        matches!(&schedule, Err(ScheduleError::Corrupt(e)) if e.contains("format version 4")),
        "{schedule:?}"
    );
    // The outcome column is what filters read: one the body contradicts is refused.
    let runs = store.runs(&acme, &RunFilter::default()).await;
    assert!(matches!(runs, Err(ScheduleError::Corrupt(_))), "{runs:?}");
    Ok(())
}
