//! The console's people on PostgreSQL: every statement of the store, planned as the store's
//! sessions plan it (one generic plan, no sequential scan), is served by its index; and an
//! invitation used by two processes at the same moment works for one.
#![allow(clippy::expect_used)]

mod common;

use billing_core::ids::{BusinessId, StaffId};
use billing_core::link::LinkToken;
use billing_core::ports::StaffAccounts;
use billing_postgres::PostgresStore;
use chrono::{Duration, Utc};
use common::{TestResult, database, generic_plan, planning_connection};
use sqlx::Connection as _;

#[tokio::test]
async fn every_statement_is_served_by_its_index_in_a_generic_plan() -> TestResult {
    let (_server, url, _store) = database("staff_plans").await;
    let mut conn = planning_connection(&url).await?;
    let hash = format!("'{}'", "a".repeat(64));
    for (name, statement, arguments, index) in [
        (
            "by_id",
            "(text, text) AS SELECT * FROM staff_members WHERE business_id = $1 AND id = $2",
            "('acme', 'stf_1')".to_owned(),
            "staff_members_pkey",
        ),
        (
            "by_email",
            "(text) AS SELECT * FROM staff_members WHERE email = $1",
            "('ada@acme.example')".to_owned(),
            "staff_members_email_key",
        ),
        (
            "of_business",
            "(text) AS SELECT * FROM staff_members WHERE business_id = $1 ORDER BY email",
            "('acme')".to_owned(),
            "staff_members_pkey",
        ),
        (
            "set_password",
            "(text, text, text) AS UPDATE staff_members SET password_hash = $3 \
             WHERE business_id = $1 AND id = $2",
            "('acme', 'stf_1', 'h')".to_owned(),
            "staff_members_pkey",
        ),
        (
            "take_invitation",
            "(text) AS DELETE FROM staff_invitations WHERE token_hash = $1 \
             RETURNING business_id, staff_id, expires_at",
            format!("({hash})"),
            "staff_invitations_pkey",
        ),
        (
            "session",
            "(text) AS SELECT * FROM staff_sessions WHERE token_hash = $1",
            format!("({hash})"),
            "staff_sessions_pkey",
        ),
        (
            "touch",
            "(text, timestamptz) AS UPDATE staff_sessions \
             SET last_seen_at = GREATEST(last_seen_at, $2) WHERE token_hash = $1",
            format!("({hash}, now())"),
            "staff_sessions_pkey",
        ),
        (
            "end_session",
            "(text) AS DELETE FROM staff_sessions WHERE token_hash = $1",
            format!("({hash})"),
            "staff_sessions_pkey",
        ),
        (
            "end_sessions_of",
            "(text, text) AS DELETE FROM staff_sessions WHERE business_id = $1 AND staff_id = $2",
            "('acme', 'stf_1')".to_owned(),
            "staff_sessions_by_member",
        ),
    ] {
        let plan = generic_plan(&mut conn, name, statement, &arguments).await?;
        assert!(plan.contains(index), "{name}\n{plan}");
        assert!(plan.contains('$'), "a generic plan: {name}\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{name}\n{plan}");
        // Each a lookup of its index's whole key, or a range of it: nothing read beyond it to
        // filter. (A business's members are a range of the primary key, sorted: they are few.)
        assert!(!plan.contains("Filter"), "{name}\n{plan}");
        if name != "of_business" {
            assert!(!plan.contains("Sort"), "{name}\n{plan}");
        }
    }
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn an_invitation_used_by_two_processes_at_once_works_for_one() -> TestResult {
    let (_server, url, store) = database("staff_race").await;
    // A second pool on the database, as a second process would have.
    let other = PostgresStore::connect(&url).await?;
    let acme = BusinessId::new("acme")?;
    let now = Utc::now();
    for round in 0..20_u8 {
        let staff = StaffId::new(format!("stf_{round}"))?;
        let token = LinkToken::from_random([round; 32]).hash();
        store
            .put_invitation(&acme, &staff, &token, now + Duration::days(7))
            .await?;
        let (first, second) = tokio::join!(
            store.take_invitation(&token, now),
            other.take_invitation(&token, now)
        );
        let taken: Vec<_> = [first?, second?].into_iter().flatten().collect();
        assert_eq!(taken, vec![(acme.clone(), staff)], "round {round}");
    }
    other.close().await;
    Ok(())
}
