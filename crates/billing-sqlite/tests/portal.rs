//! The customer portal's passes on SQLite: every statement of the store served by its index.
#![allow(clippy::expect_used)]

mod common;

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
            format!("SELECT * FROM portal_passes WHERE token_hash = {hash}"),
            "PRIMARY KEY (token_hash=?)",
        ),
        (
            format!(
                "UPDATE portal_passes SET used_at = {t} \
                 WHERE token_hash = {hash} AND used_at IS NULL"
            ),
            "PRIMARY KEY (token_hash=?)",
        ),
        (
            format!("DELETE FROM portal_passes WHERE expires_at <= {t}"),
            "portal_passes_by_expiry (expires_at<?)",
        ),
    ] {
        let plan = plan(&mut conn, &sql).await?;
        assert!(plan.contains(index), "{sql}\n{plan}");
        assert!(!plan.contains("SCAN"), "{sql}\n{plan}");
    }
    conn.close().await?;
    Ok(())
}
