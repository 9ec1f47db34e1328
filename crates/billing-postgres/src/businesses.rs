//! The [`Businesses`] port on PostgreSQL: the tenants and their API keys (hashes, with what
//! lists them).

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::customer::Business;
use billing_core::ids::{ApiKeyId, BusinessId};
use billing_core::ports::{ApiKeyRecord, Businesses, BusinessesError, KeyRevocation};
use chrono::{DateTime, Utc};

use billing_sql::errors::businesses_error;
use billing_sql::rows::{API_KEY_COLUMNS, ApiKeyRow, BusinessRow};

use crate::pool::PooledConn;
use crate::pool::{on_pool, run};
use crate::store::PostgresStore;

fn business(row: BusinessRow) -> Result<Business, BusinessesError> {
    Ok(row.into_business()?)
}

/// A business's keys, oldest first (a range of `api_keys_business_id_id_key`, sorted).
static KEYS_OF: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE business_id = $1 \
         ORDER BY created_at, id"
    )
});

/// One key of a business.
static KEY: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE business_id = $1 AND id = $2")
});

/// Revokes one key of a business, answering it.
static REVOKE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE api_keys SET revoked_at = $3 WHERE business_id = $1 AND id = $2 \
         RETURNING {API_KEY_COLUMNS}"
    )
});

#[async_trait]
impl Businesses for PostgresStore {
    async fn create_business(
        &self,
        business: &Business,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<(), BusinessesError> {
        // One transaction: a business never exists without its first key. Dropping the
        // connection on an error rolls it back.
        let mut conn = self.pool.acquire().await.map_err(businesses_error)?;
        conn.begin().await.map_err(businesses_error)?;
        let created = run!(&mut conn, |conn| {
            sqlx::query(
                "INSERT INTO businesses (id, name, gateway_account, email) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(business.id.as_str())
            .bind(&business.name)
            .bind(&business.gateway_account)
            .bind(&business.email)
            .execute(conn)
            .await
        })
        .map_err(businesses_error)?;
        if created.rows_affected() == 0 {
            return Err(BusinessesError::AlreadyExists(business.id.clone()));
        }
        insert_key(&mut conn, &business.id, key, key_hash).await?;
        conn.commit().await.map_err(businesses_error)
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<bool, BusinessesError> {
        let mut conn = self.pool.acquire().await.map_err(businesses_error)?;
        conn.begin().await.map_err(businesses_error)?;
        // FOR SHARE: the business cannot be removed between this check and the insert.
        let exists: Option<i32> = run!(&mut conn, |conn| {
            sqlx::query_scalar("SELECT 1 FROM businesses WHERE id = $1 FOR SHARE")
                .bind(business.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(businesses_error)?;
        if exists.is_none() {
            return Ok(false);
        }
        insert_key(&mut conn, business, key, key_hash).await?;
        conn.commit().await.map_err(businesses_error)?;
        Ok(true)
    }

    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        let row: Option<BusinessRow> = on_pool!(self, |conn| {
            sqlx::query_as(
                "SELECT b.id, b.name, b.gateway_account, b.email FROM api_keys k \
                     JOIN businesses b ON b.id = k.business_id \
                     WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
            )
            .bind(api_key_hash)
            .fetch_optional(conn)
            .await
        })
        .map_err(businesses_error)?;
        row.map(business).transpose()
    }

    async fn api_keys(&self, business: &BusinessId) -> Result<Vec<ApiKeyRecord>, BusinessesError> {
        let rows: Vec<ApiKeyRow> = on_pool!(self, |conn| {
            sqlx::query_as(KEYS_OF.as_str())
                .bind(business.as_str())
                .fetch_all(conn)
                .await
        })
        .map_err(businesses_error)?;
        Ok(rows
            .into_iter()
            .map(ApiKeyRow::into_record)
            .collect::<Result<_, _>>()?)
    }

    async fn revoke_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<KeyRevocation, BusinessesError> {
        // One transaction that first locks the business's active keys, in id order: a
        // concurrent revocation waits for the locks, then finds the key this one revoked no
        // longer active (a locked row is read again once its writer commits), so the last
        // active key is never revoked. Dropping the connection on an error rolls it back.
        let mut conn = self.pool.acquire().await.map_err(businesses_error)?;
        conn.begin().await.map_err(businesses_error)?;
        let active: Vec<String> = run!(&mut conn, |conn| {
            sqlx::query_scalar(
                "SELECT id FROM api_keys WHERE business_id = $1 AND revoked_at IS NULL \
                 ORDER BY id FOR UPDATE",
            )
            .bind(business.as_str())
            .fetch_all(conn)
            .await
        })
        .map_err(businesses_error)?;
        let outcome = if active.iter().any(|id| id == key.as_str()) {
            if active.len() <= 1 {
                KeyRevocation::LastActiveKey
            } else {
                let revoked: ApiKeyRow = run!(&mut conn, |conn| {
                    sqlx::query_as(REVOKE.as_str())
                        .bind(business.as_str())
                        .bind(key.as_str())
                        .bind(at)
                        .fetch_one(conn)
                        .await
                })
                .map_err(businesses_error)?;
                KeyRevocation::Revoked(revoked.into_record()?)
            }
        } else {
            // Revoked already (as it was), or no key of this business.
            let found: Option<ApiKeyRow> = run!(&mut conn, |conn| {
                sqlx::query_as(KEY.as_str())
                    .bind(business.as_str())
                    .bind(key.as_str())
                    .fetch_optional(conn)
                    .await
            })
            .map_err(businesses_error)?;
            match found.map(ApiKeyRow::into_record).transpose()? {
                Some(record) => KeyRevocation::Revoked(record),
                None => KeyRevocation::NotFound,
            }
        };
        conn.commit().await.map_err(businesses_error)?;
        Ok(outcome)
    }

    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError> {
        let row: Option<BusinessRow> = on_pool!(self, |conn| {
            sqlx::query_as("SELECT id, name, gateway_account, email FROM businesses WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(businesses_error)?;
        row.map(business).transpose()
    }

    async fn business_by_account(
        &self,
        gateway_account: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        let row: Option<BusinessRow> = on_pool!(self, |conn| {
            sqlx::query_as(
                "SELECT id, name, gateway_account, email FROM businesses \
                 WHERE gateway_account = $1 ORDER BY id LIMIT 1",
            )
            .bind(gateway_account)
            .fetch_optional(conn)
            .await
        })
        .map_err(businesses_error)?;
        row.map(business).transpose()
    }

    async fn list_businesses(&self) -> Result<Vec<Business>, BusinessesError> {
        let rows: Vec<BusinessRow> = on_pool!(self, |conn| {
            sqlx::query_as("SELECT id, name, gateway_account, email FROM businesses ORDER BY id")
                .fetch_all(conn)
                .await
        })
        .map_err(businesses_error)?;
        rows.into_iter().map(business).collect()
    }
}

/// Stores a key for a business. A hash is unique: stored again, it moves to this key (as in the
/// in-memory store; hashes of random keys do not collide in practice).
async fn insert_key(
    conn: &mut PooledConn,
    business: &BusinessId,
    key: &ApiKeyRecord,
    key_hash: &str,
) -> Result<(), BusinessesError> {
    run!(conn, |conn| {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, business_id, id, label, hint, created_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (key_hash) DO UPDATE SET business_id = excluded.business_id, \
             id = excluded.id, label = excluded.label, hint = excluded.hint, \
             created_at = excluded.created_at, revoked_at = excluded.revoked_at",
        )
        .bind(key_hash)
        .bind(business.as_str())
        .bind(key.id.as_str())
        .bind(&key.label)
        .bind(&key.hint)
        .bind(key.created_at)
        .bind(key.revoked_at)
        .execute(conn)
        .await
    })
    .map_err(businesses_error)?;
    Ok(())
}
