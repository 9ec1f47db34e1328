//! The [`PortalPasses`] port on SQLite: the customer portal's links and sessions, found by
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

use crate::store::{SqliteStore, time_text};

/// One pass by its token's hash, of whichever business.
static BY_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {PORTAL_PASS_COLUMNS} FROM portal_passes WHERE token_hash = ?1")
});

#[async_trait]
impl PortalPasses for SqliteStore {
    async fn create_portal_pass(
        &self,
        business: &BusinessId,
        pass: &PortalPass,
        token_hash: &TokenHash,
    ) -> Result<(), PortalStoreError> {
        let (business, customer) = (
            business.as_str().to_owned(),
            pass.customer.as_str().to_owned(),
        );
        let kind = pass.kind.as_str();
        let (created_at, expires_at) = (time_text(&pass.created_at), time_text(&pass.expires_at));
        let used_at = pass.used_at.as_ref().map(time_text);
        let token_hash = token_hash.to_hex();
        self.with_writer(move |conn| {
            Box::pin(async move {
                // One statement: the primary key refuses a taken hash with nothing written.
                let inserted = sqlx::query(
                    "INSERT INTO portal_passes (token_hash, business_id, customer_id, kind, \
                     created_at, expires_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .bind(token_hash)
                .bind(business)
                .bind(customer)
                .bind(kind)
                .bind(created_at)
                .bind(expires_at)
                .bind(used_at)
                .execute(conn)
                .await;
                match inserted {
                    Ok(_) => Ok(()),
                    Err(error) if is_unique_violation(&error) => {
                        Err(PortalStoreError::AlreadyExists)
                    }
                    Err(error) => Err(portal_error(error)),
                }
            })
        })
        .await
    }

    async fn portal_pass(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<PortalPassByToken>, PortalStoreError> {
        let token_hash = token_hash.to_hex();
        let row: Option<PortalPassRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(BY_TOKEN.as_str())
                        .bind(token_hash)
                        .fetch_optional(conn)
                        .await
                        .map_err(portal_error)
                })
            })
            .await?;
        Ok(row.map(PortalPassRow::into_by_token).transpose()?)
    }

    async fn use_portal_pass(
        &self,
        token_hash: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, PortalStoreError> {
        let (token_hash, at) = (token_hash.to_hex(), time_text(&at));
        self.with_writer(move |conn| {
            Box::pin(async move {
                // Compare and set: of two concurrent uses (from this process or another), only
                // the first finds the pass unused.
                sqlx::query(
                    "UPDATE portal_passes SET used_at = ?2 \
                     WHERE token_hash = ?1 AND used_at IS NULL",
                )
                .bind(token_hash)
                .bind(at)
                .execute(conn)
                .await
                .map(|done| done.rows_affected() == 1)
                .map_err(portal_error)
            })
        })
        .await
    }

    async fn purge_portal_passes(
        &self,
        expired_by: DateTime<Utc>,
    ) -> Result<u64, PortalStoreError> {
        let expired_by = time_text(&expired_by);
        self.with_writer(move |conn| {
            Box::pin(async move {
                // Comparing the fixed-width texts compares the times (a range of the expiry
                // index).
                sqlx::query("DELETE FROM portal_passes WHERE expires_at <= ?1")
                    .bind(expired_by)
                    .execute(conn)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err(portal_error)
            })
        })
        .await
    }
}
