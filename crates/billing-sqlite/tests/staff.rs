//! The console's people on SQLite: every statement of the store served by its index, and an
//! invitation used once by two processes using it at the same moment.
#![allow(clippy::expect_used)]

mod common;

use billing_core::ids::{BusinessId, StaffId};
use billing_core::link::LinkToken;
use billing_core::ports::StaffAccounts;
use billing_sqlite::SqliteStore;
use chrono::{Duration, Utc};
use common::{TestResult, database, plan};
use sqlx::Connection as _;

#[tokio::test]
async fn every_statement_is_served_by_its_index() -> TestResult {
    let (_dir, url, _store) = database().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let t = "'2026-01-15T09:00:00.000000000Z'";
    let hash = format!("'{}'", "a".repeat(64));
    for (sql, index) in [
        (
            "SELECT * FROM staff_members WHERE business_id = 'acme' AND id = 'stf_1'".to_owned(),
            // The primary key (the email's UNIQUE constraint is the table's first index).
            "sqlite_autoindex_staff_members_2 (business_id=? AND id=?)",
        ),
        (
            "SELECT * FROM staff_members WHERE email = 'ada@acme.example'".to_owned(),
            "sqlite_autoindex_staff_members_1 (email=?)",
        ),
        (
            "SELECT * FROM staff_members WHERE business_id = 'acme' ORDER BY email".to_owned(),
            "staff_members_by_email (business_id=?)",
        ),
        (
            "UPDATE staff_members SET password_hash = 'h' \
             WHERE business_id = 'acme' AND id = 'stf_1'"
                .to_owned(),
            "sqlite_autoindex_staff_members_2 (business_id=? AND id=?)",
        ),
        (
            format!(
                "DELETE FROM staff_invitations WHERE token_hash = {hash} \
                 RETURNING business_id, staff_id, expires_at"
            ),
            "PRIMARY KEY (token_hash=?)",
        ),
        (
            format!("SELECT * FROM staff_sessions WHERE token_hash = {hash}"),
            "PRIMARY KEY (token_hash=?)",
        ),
        (
            format!(
                "UPDATE staff_sessions SET last_seen_at = max(last_seen_at, {t}) \
                 WHERE token_hash = {hash}"
            ),
            "PRIMARY KEY (token_hash=?)",
        ),
        (
            "DELETE FROM staff_sessions WHERE business_id = 'acme' AND staff_id = 'stf_1'"
                .to_owned(),
            "staff_sessions_by_member (business_id=? AND staff_id=?)",
        ),
    ] {
        let plan = plan(&mut conn, &sql).await?;
        assert!(plan.contains(index), "{sql}\n{plan}");
        assert!(!plan.contains("SCAN"), "{sql}\n{plan}");
        // A business's members in index order: no sort.
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
    }
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn an_invitation_used_by_two_processes_at_once_works_for_one() -> TestResult {
    let (_dir, url, store) = database().await;
    // Another store on the file, with its own writer, as a second process would have.
    let other = SqliteStore::connect(&url).await?;
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
