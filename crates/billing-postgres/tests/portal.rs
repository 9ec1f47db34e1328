//! The customer portal's passes on PostgreSQL: every statement of the store, planned as the
//! store's sessions plan it (one generic plan, no sequential scan), is served by its index.
#![allow(clippy::expect_used)]

mod common;

use common::{TestResult, database};
use sqlx::Connection as _;

#[tokio::test]
async fn every_statement_is_served_by_its_index_in_a_generic_plan() -> TestResult {
    let (_server, url, _store) = database("portal_plans").await;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    sqlx::raw_sql("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .await?;
    let hash = format!("'{}'", "a".repeat(64));
    for (name, statement, arguments, index) in [
        (
            "pass",
            "(text) AS SELECT * FROM portal_passes WHERE token_hash = $1",
            format!("({hash})"),
            "portal_passes_pkey",
        ),
        (
            "use_pass",
            "(text, timestamptz) AS UPDATE portal_passes SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL",
            format!("({hash}, now())"),
            "portal_passes_pkey",
        ),
        (
            "purge",
            "(timestamptz) AS DELETE FROM portal_passes WHERE expires_at <= $1",
            "(now())".to_owned(),
            "portal_passes_by_expiry",
        ),
    ] {
        sqlx::raw_sql(&format!("PREPARE {name} {statement}"))
            .execute(&mut conn)
            .await?;
        let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE {name} {arguments}"))
            .fetch_all(&mut conn)
            .await?;
        let plan = lines.join("\n");
        assert!(plan.contains(index), "{name}\n{plan}");
        assert!(plan.contains('$'), "a generic plan: {name}\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{name}\n{plan}");
        // Each a lookup of its index's whole key, or a range of it; a use checks only the one
        // row its key finds.
        if name != "use_pass" {
            assert!(!plan.contains("Filter"), "{name}\n{plan}");
        }
    }
    conn.close().await?;
    Ok(())
}
