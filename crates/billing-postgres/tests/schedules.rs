//! Payment automation's tables on PostgreSQL: every statement of the store, planned as the
//! store's sessions plan it (one generic plan, no sequential scan), is served by its index (a
//! take reads the rows it takes, however many wait); and rows that do not read back are
//! reported as corrupt.
#![allow(clippy::expect_used)]

mod common;

use billing_core::ids::{BookingId, BusinessId};
use billing_core::ports::{RunFilter, ScheduleError, Schedules};
use common::{TestResult, database, generic_plan, planning_connection};
use sqlx::Connection as _;

#[tokio::test]
async fn every_statement_is_served_by_its_index_in_a_generic_plan() -> TestResult {
    let (_server, url, _store) = database("schedule_plans").await;
    let mut conn = planning_connection(&url).await?;
    let columns = "s.business_id, s.booking_id, s.customer_id, s.due_at, s.needs_attention, \
        s.canceled_at, s.version, s.format, s.body::text AS body";
    for (name, statement, arguments, index) in [
        (
            "take",
            format!(
                "(timestamptz, bigint, timestamptz) AS \
                 WITH due AS (SELECT ctid AS row_id, due_at FROM booking_schedules \
                 WHERE due_at IS NOT NULL AND due_at <= $1 \
                 ORDER BY due_at, business_id, booking_id LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 UPDATE booking_schedules AS s SET due_at = $3, version = s.version + 1 \
                 FROM due WHERE s.ctid = due.row_id RETURNING {columns}, due.due_at AS was_due"
            ),
            "(now(), 10, now())",
            "booking_schedules_due",
        ),
        (
            "put_settings",
            "(text, timestamptz, integer, text) AS \
             WITH put AS (INSERT INTO payment_settings (business_id, format, body) \
             VALUES ($1, $3, $4::json) ON CONFLICT (business_id) DO UPDATE \
             SET format = excluded.format, body = excluded.body), \
             locked AS (SELECT business_id, booking_id FROM booking_schedules \
             WHERE business_id = $1 AND canceled_at IS NULL ORDER BY booking_id FOR UPDATE) \
             UPDATE booking_schedules AS s SET due_at = $2, version = s.version + 1 \
             FROM locked WHERE s.business_id = locked.business_id \
             AND s.booking_id = locked.booking_id"
                .to_owned(),
            "('acme', now(), 1, '{}')",
            "booking_schedules_pkey",
        ),
        (
            "resume",
            "(text, timestamptz, text) AS \
             WITH resumed AS (DELETE FROM automation_paused_customers \
             WHERE business_id = $1 AND customer_id = $3), \
             locked AS (SELECT business_id, booking_id FROM booking_schedules \
             WHERE business_id = $1 AND customer_id = $3 AND canceled_at IS NULL \
             ORDER BY booking_id FOR UPDATE) \
             UPDATE booking_schedules AS s SET due_at = $2, version = s.version + 1 \
             FROM locked WHERE s.business_id = locked.business_id \
             AND s.booking_id = locked.booking_id"
                .to_owned(),
            "('acme', now(), 'c')",
            "booking_schedules_by_customer",
        ),
        (
            "by_customer",
            "(text, text, text, bigint) AS SELECT booking_id, body::text FROM \
             booking_schedules WHERE business_id = $1 AND customer_id = $2 \
             AND booking_id > $3 ORDER BY booking_id LIMIT $4"
                .to_owned(),
            "('acme', 'c', 'b', 10)",
            "booking_schedules_by_customer",
        ),
        (
            "needing_attention",
            "(text, text, bigint) AS SELECT booking_id, body::text FROM booking_schedules \
             WHERE business_id = $1 AND needs_attention AND booking_id > $2 \
             ORDER BY booking_id LIMIT $3"
                .to_owned(),
            "('acme', 'b', 10)",
            "booking_schedules_needing_attention",
        ),
        (
            "runs",
            "(text, timestamptz, text, bigint) AS SELECT id, body::text FROM automation_runs \
             WHERE business_id = $1 AND (at, id) < ($2, $3) ORDER BY at DESC, id DESC LIMIT $4"
                .to_owned(),
            "('acme', now(), 'run-1', 10)",
            "automation_runs_newest",
        ),
        (
            "runs_of_booking",
            "(text, text, timestamptz, text, bigint) AS SELECT id, body::text \
             FROM automation_runs WHERE business_id = $1 AND booking_id = $2 \
             AND (at, id) < ($3, $4) ORDER BY at DESC, id DESC LIMIT $5"
                .to_owned(),
            "('acme', 'b', now(), 'run-1', 10)",
            "automation_runs_by_booking",
        ),
        (
            "runs_of_outcome",
            "(text, text, bigint) AS SELECT id, body::text FROM automation_runs \
             WHERE business_id = $1 AND outcome = $2 ORDER BY at DESC, id DESC LIMIT $3"
                .to_owned(),
            "('acme', 'declined', 10)",
            "automation_runs_by_outcome",
        ),
    ] {
        let plan = generic_plan(&mut conn, name, &statement, arguments).await?;
        assert!(plan.contains(index), "{name}\n{plan}");
        assert!(plan.contains('$'), "a generic plan: {name}\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{name}\n{plan}");
        if name == "take" {
            // Each row taken is updated where the lock found it, one by one: never a join
            // that reads the primary key index (or the table) beyond the rows taken.
            assert!(
                plan.contains("TID Cond: (ctid = due.row_id)"),
                "{name}\n{plan}"
            );
            assert!(!plan.contains("Merge Join"), "{name}\n{plan}");
            assert!(!plan.contains("Hash Join"), "{name}\n{plan}");
        }
        if matches!(name, "put_settings" | "resume") {
            // Every open record of the business (or customer) is written: they are read, put
            // in booking order to be locked (possibly sorted), then each updated by its key,
            // never with a read of the business's records per record.
            assert!(
                plan.contains(
                    "Index Cond: ((business_id = locked.business_id) \
                     AND (booking_id = locked.booking_id))"
                ),
                "{name}\n{plan}"
            );
            assert!(!plan.contains("Join Filter"), "{name}\n{plan}");
        } else {
            // In index order, the cursor and the flag conditions of the index: nothing read
            // beyond the page (or the take) to sort or filter it.
            assert!(!plan.contains("Sort"), "{name}\n{plan}");
            assert!(!plan.contains("Filter"), "{name}\n{plan}");
        }
    }
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn unreadable_rows_are_corrupt() -> TestResult {
    let (_server, url, store) = database("schedule_corrupt").await;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    sqlx::raw_sql(
        r#"
        INSERT INTO payment_settings (business_id, format, body)
            VALUES ('acme', 1, '{"policy":{"type":"sometimes"}}');
        INSERT INTO booking_schedules (business_id, booking_id, customer_id, due_at,
            needs_attention, canceled_at, version, format, body)
            VALUES ('acme', 'b-1', 'c-1', NULL, false, NULL, 1, 4, '{}');
        INSERT INTO automation_runs (business_id, id, booking_id, customer_id, at, outcome,
            format, body)
            VALUES ('acme', 'run-1', 'b-1', 'c-1', now(), 'declined', 1,
            '{"action":{"type":"capture"},"reason":"policy","attempt":1,"payment":null,"outcome":{"type":"succeeded"}}');
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
