//! The [`PortalPasses`] port on PostgreSQL: the customer portal's links and sessions, found by
//! their token's hash.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::BusinessId;
use billing_core::link::TokenHash;
use billing_core::portal::PortalPass;
use billing_core::ports::{PortalPassByToken, PortalPasses, PortalStoreError};
use billing_sql::errors::{is_unique_violation, portal_error};
use billing_sql::rows::{PORTAL_PASS_COLUMNS, PortalPassRow};
use chrono::{DateTime, Utc};

use crate::pool::on_pool;
use crate::store::PostgresStore;

/// One pass by its token's hash, of whichever business.
static BY_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {PORTAL_PASS_COLUMNS} FROM portal_passes WHERE token_hash = $1")
});

#[async_trait]
impl PortalPasses for PostgresStore {
    async fn create_portal_pass(
        &self,
        business: &BusinessId,
        pass: &PortalPass,
        token_hash: &TokenHash,
    ) -> Result<(), PortalStoreError> {
        // One statement: the primary key refuses a taken hash with nothing written.
        let inserted = on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO portal_passes (token_hash, business_id, customer_id, kind, \
                 created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(token_hash.to_hex())
            .bind(business.as_str())
            .bind(pass.customer.as_str())
            .bind(pass.kind.as_str())
            .bind(pass.created_at)
            .bind(pass.expires_at)
            .bind(pass.used_at)
            .execute(conn)
            .await
        });
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(PortalStoreError::AlreadyExists),
            Err(error) => Err(portal_error(error)),
        }
    }

    async fn portal_pass(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<PortalPassByToken>, PortalStoreError> {
        let row: Option<PortalPassRow> = on_pool!(self, |conn| {
            sqlx::query_as(BY_TOKEN.as_str())
                .bind(token_hash.to_hex())
                .fetch_optional(conn)
                .await
        })
        .map_err(portal_error)?;
        Ok(row.map(PortalPassRow::into_by_token).transpose()?)
    }

    async fn use_portal_pass(
        &self,
        token_hash: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, PortalStoreError> {
        // Compare and set in one statement: a concurrent use waits for this one's row lock,
        // then re-reads the row, finds it used, and updates nothing.
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE portal_passes SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(token_hash.to_hex())
            .bind(at)
            .execute(conn)
            .await
        })
        .map_err(portal_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_portal_passes(
        &self,
        expired_by: DateTime<Utc>,
    ) -> Result<u64, PortalStoreError> {
        // A range of the expiry index, across businesses.
        let done = on_pool!(self, |conn| {
            sqlx::query("DELETE FROM portal_passes WHERE expires_at <= $1")
                .bind(expired_by)
                .execute(conn)
                .await
        })
        .map_err(portal_error)?;
        Ok(done.rows_affected())
    }
}
