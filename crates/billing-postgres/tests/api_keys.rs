//! Migration 0011 on a database of the schema before it: its API keys get an id, the label
//! "API key" and the migration's time, and still authenticate; its staff members read back
//! active. And the statements that list and revoke keys, and remove members, are served by
//! their index in the store's generic plans.
#![allow(clippy::expect_used)]

mod common;

use billing_core::ports::{Businesses, StaffAccounts};
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use chrono::{Duration, Utc};
use common::{TestResult, acme, database, generic_plan, planning_connection};
use sqlx::Connection as _;

#[tokio::test]
async fn keys_of_the_previous_schema_are_listed_and_still_work() -> TestResult {
    let (_server, url) = tokio::task::spawn_blocking(|| {
        let server = TestPostgres::start().expect("test postgres");
        let url = server
            .create_database("api_keys_migration")
            .expect("database");
        (server, url)
    })
    .await?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    // The schema of migrations 0001 to 0010.
    let mut previous = sqlx::migrate!("./migrations");
    let earlier: Vec<_> = previous
        .iter()
        .filter(|m| m.version <= 10)
        .cloned()
        .collect();
    previous.migrations = std::borrow::Cow::Owned(earlier);
    assert_eq!(previous.iter().count(), 10);
    previous.run(&mut conn).await?;
    sqlx::raw_sql(
        "INSERT INTO businesses (id, name) VALUES ('acme', 'Acme Cleaning');
         INSERT INTO api_keys (key_hash, business_id) VALUES ('hash-1', 'acme'), ('hash-2', 'acme');
         INSERT INTO staff_members (business_id, id, email, name, role, created_at)
             VALUES ('acme', 'stf_1', 'ada@acme.example', 'Ada', 'owner', now());",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;

    let before = Utc::now() - Duration::seconds(5);
    let store = PostgresStore::connect(&url).await?;
    store.migrate().await?;
    let keys = store.api_keys(&acme().id).await?;
    assert_eq!(keys.len(), 2);
    for key in &keys {
        assert!(key.id.as_str().starts_with("key_"), "{key:?}");
        assert_eq!(key.label, "API key");
        assert_eq!(key.hint, None);
        assert!(key.is_active());
        assert!(key.created_at >= before, "{key:?}");
    }
    assert_ne!(keys[0].id, keys[1].id, "an id of its own each");
    assert_eq!(
        store.business_by_key_hash("hash-2").await?.map(|b| b.id),
        Some(acme().id)
    );
    let member = store
        .staff_by_email("ada@acme.example")
        .await?
        .expect("the member");
    assert!(member.1.is_active());
    Ok(())
}

#[tokio::test]
async fn key_and_removal_statements_are_served_by_their_index() -> TestResult {
    let (_server, url, _store) = database("api_keys_plans").await;
    let mut conn = planning_connection(&url).await?;
    for (name, statement, arguments, index) in [
        (
            "keys_of",
            "(text) AS SELECT * FROM api_keys WHERE business_id = $1 ORDER BY created_at, id",
            "('acme')",
            "api_keys_business_id_id_key",
        ),
        (
            "active_keys",
            "(text) AS SELECT id FROM api_keys WHERE business_id = $1 \
             AND revoked_at IS NULL ORDER BY id FOR UPDATE",
            "('acme')",
            "api_keys_business_id_id_key",
        ),
        (
            "by_hash",
            "(text) AS SELECT b.id FROM api_keys k JOIN businesses b ON b.id = k.business_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
            "('hash')",
            "api_keys_pkey",
        ),
        (
            "owners",
            "(text) AS SELECT id FROM staff_members WHERE business_id = $1 \
             AND role = 'owner' AND removed_at IS NULL ORDER BY id FOR UPDATE",
            "('acme')",
            "staff_members_pkey",
        ),
    ] {
        let plan = generic_plan(&mut conn, name, statement, arguments).await?;
        assert!(plan.contains(index), "{name}: {plan}");
        assert!(plan.contains('$'), "a generic plan: {name}: {plan}");
        assert!(!plan.contains("Seq Scan"), "{name}: {plan}");
    }
    Ok(())
}
