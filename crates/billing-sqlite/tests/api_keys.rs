//! Migration 0010 on a database of the schema before it: its API keys get an id, the label
//! "API key" and the migration's time, and still authenticate; its staff members read back
//! active.
#![allow(clippy::expect_used)]

mod common;

use std::str::FromStr;

use billing_core::ports::{Businesses, StaffAccounts};
use billing_sqlite::SqliteStore;
use chrono::{Duration, Utc};
use common::{TestResult, acme};
use sqlx::Connection as _;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;

/// Rows as the build before migration 0010 wrote them.
const ROWS: &str = r"
INSERT INTO businesses (id, name, gateway_account, email)
    VALUES ('acme', 'Acme Cleaning', NULL, NULL);
INSERT INTO api_keys (key_hash, business_id) VALUES ('hash-1', 'acme'), ('hash-2', 'acme');
INSERT INTO staff_members (business_id, id, email, name, role, password_hash, created_at)
    VALUES ('acme', 'stf_1', 'ada@acme.example', 'Ada', 'owner', NULL,
            '2026-01-15T09:00:00.000000000Z');
";

#[tokio::test]
async fn keys_of_the_previous_schema_are_listed_and_still_work() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    // The schema of migrations 0001 to 0009.
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut previous = Migrator::new(source).await?;
    let earlier: Vec<_> = previous
        .iter()
        .filter(|m| m.version <= 9)
        .cloned()
        .collect();
    previous.migrations = std::borrow::Cow::Owned(earlier);
    assert_eq!(previous.iter().count(), 9);
    let options = SqliteConnectOptions::from_str(&url)?.create_if_missing(true);
    let mut old = sqlx::SqliteConnection::connect_with(&options).await?;
    previous.run(&mut old).await?;
    sqlx::raw_sql(ROWS).execute(&mut old).await?;
    old.close().await?;

    let before = Utc::now() - Duration::seconds(1);
    let store = SqliteStore::connect(&url).await?;
    store.migrate().await?;
    let keys = store.api_keys(&acme().id).await?;
    assert_eq!(keys.len(), 2);
    for key in &keys {
        assert!(key.id.as_str().starts_with("key_"), "{key:?}");
        assert_eq!(key.label, "API key");
        assert_eq!(key.hint, None);
        assert!(key.is_active());
        assert!(key.created_at >= before && key.created_at <= Utc::now());
    }
    assert_ne!(keys[0].id, keys[1].id, "an id of its own each");
    assert_eq!(
        store.business_by_key_hash("hash-1").await?.map(|b| b.id),
        Some(acme().id)
    );
    let member = store
        .staff_by_email("ada@acme.example")
        .await?
        .expect("the member");
    assert!(member.1.is_active());
    Ok(())
}
