//! The customer portal's passes on PostgreSQL: every statement of the store, planned as the
//! store's sessions plan it (one generic plan, no sequential scan), is served by its index.
#![allow(clippy::expect_used)]

mod common;

use common::{TestResult, database, generic_plan, planning_connection};
use sqlx::Connection as _;

#[tokio::test]
async fn every_statement_is_served_by_its_index_in_a_generic_plan() -> TestResult {
    let (_server, url, _store) = database("portal_plans").await;
    let mut conn = planning_connection(&url).await?;
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
        let plan = generic_plan(&mut conn, name, statement, &arguments).await?;
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
