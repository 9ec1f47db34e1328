//! The [`Businesses`] port on SQLite: the tenants and their API keys (hashes, with what lists
//! them).

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::customer::Business;
use billing_core::ids::{ApiKeyId, BusinessId};
use billing_core::ports::{ApiKeyRecord, Businesses, BusinessesError, KeyRevocation};
use billing_sql::errors::businesses_error;
use billing_sql::rows::{API_KEY_COLUMNS, ApiKeyRow, BusinessRow};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::store::{SqliteStore, time_text};

/// A business's keys, oldest first (a range of the (business_id, id) index, sorted).
static KEYS_OF: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE business_id = ?1 \
         ORDER BY created_at, id"
    )
});

/// Revokes one key of a business, answering it.
static REVOKE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE api_keys SET revoked_at = ?3 WHERE business_id = ?1 AND id = ?2 \
         RETURNING {API_KEY_COLUMNS}"
    )
});

/// One key of a business.
static KEY: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE business_id = ?1 AND id = ?2")
});

impl SqliteStore {
    /// At most one business, read by a statement binding one text.
    async fn one_business(
        &self,
        sql: &'static str,
        value: String,
    ) -> Result<Option<Business>, BusinessesError> {
        let row: Option<BusinessRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(sql)
                        .bind(value)
                        .fetch_optional(conn)
                        .await
                        .map_err(businesses_error)
                })
            })
            .await?;
        Ok(row.map(BusinessRow::into_business).transpose()?)
    }
}

#[async_trait]
impl Businesses for SqliteStore {
    async fn create_business(
        &self,
        business: &Business,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<(), BusinessesError> {
        let business = business.clone();
        let (key, key_hash) = (key.clone(), key_hash.to_owned());
        self.with_writer(move |conn| {
            Box::pin(async move {
                let created = sqlx::query(
                    "INSERT INTO businesses (id, name, gateway_account, email) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                )
                .bind(business.id.as_str())
                .bind(&business.name)
                .bind(&business.gateway_account)
                .bind(&business.email)
                .execute(&mut *conn)
                .await
                .map_err(businesses_error)?;
                if created.rows_affected() == 0 {
                    return Err(BusinessesError::AlreadyExists(business.id));
                }
                insert_key(conn, business.id.as_str(), &key, &key_hash).await
            })
        })
        .await
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<bool, BusinessesError> {
        let business = business.as_str().to_owned();
        let (key, key_hash) = (key.clone(), key_hash.to_owned());
        self.with_writer(move |conn| {
            Box::pin(async move {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT 1 FROM businesses WHERE id = ?1")
                        .bind(&business)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(businesses_error)?;
                if exists.is_none() {
                    return Ok(false);
                }
                insert_key(conn, &business, &key, &key_hash).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        self.one_business(
            "SELECT b.id, b.name, b.gateway_account, b.email FROM api_keys k \
             JOIN businesses b ON b.id = k.business_id \
             WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
            api_key_hash.to_owned(),
        )
        .await
    }

    async fn api_keys(&self, business: &BusinessId) -> Result<Vec<ApiKeyRecord>, BusinessesError> {
        let business = business.as_str().to_owned();
        let rows: Vec<ApiKeyRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(KEYS_OF.as_str())
                        .bind(business)
                        .fetch_all(conn)
                        .await
                        .map_err(businesses_error)
                })
            })
            .await?;
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
        let (business, key, at) = (
            business.as_str().to_owned(),
            key.as_str().to_owned(),
            time_text(&at),
        );
        // One job of the single writer: no other write comes between the count of active keys
        // and the revocation.
        self.with_writer(move |conn| {
            Box::pin(async move {
                let found: Option<ApiKeyRow> = sqlx::query_as(KEY.as_str())
                    .bind(&business)
                    .bind(&key)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(businesses_error)?;
                let Some(found) = found.map(ApiKeyRow::into_record).transpose()? else {
                    return Ok(KeyRevocation::NotFound);
                };
                if !found.is_active() {
                    return Ok(KeyRevocation::Revoked(found));
                }
                let active: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM api_keys \
                     WHERE business_id = ?1 AND revoked_at IS NULL",
                )
                .bind(&business)
                .fetch_one(&mut *conn)
                .await
                .map_err(businesses_error)?;
                if active <= 1 {
                    return Ok(KeyRevocation::LastActiveKey);
                }
                let revoked: ApiKeyRow = sqlx::query_as(REVOKE.as_str())
                    .bind(&business)
                    .bind(&key)
                    .bind(&at)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(businesses_error)?;
                Ok(KeyRevocation::Revoked(revoked.into_record()?))
            })
        })
        .await
    }

    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError> {
        self.one_business(
            "SELECT id, name, gateway_account, email FROM businesses WHERE id = ?1",
            id.as_str().to_owned(),
        )
        .await
    }

    async fn business_by_account(
        &self,
        gateway_account: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        // Served by businesses_by_gateway_account; should two businesses name one account, the
        // first by id answers (as the in-memory store does).
        self.one_business(
            "SELECT id, name, gateway_account, email FROM businesses \
             WHERE gateway_account = ?1 ORDER BY id LIMIT 1",
            gateway_account.to_owned(),
        )
        .await
    }

    async fn list_businesses(&self) -> Result<Vec<Business>, BusinessesError> {
        let rows: Vec<BusinessRow> = self
            .with_reader(|conn| {
                Box::pin(async move {
                    sqlx::query_as(
                        "SELECT id, name, gateway_account, email FROM businesses ORDER BY id",
                    )
                    .fetch_all(conn)
                    .await
                    .map_err(businesses_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(BusinessRow::into_business)
            .collect::<Result<_, _>>()?)
    }
}

/// Stores a key for a business. A hash is unique: stored again, it moves to this key (as in the
/// in-memory store; hashes of random keys do not collide in practice).
async fn insert_key(
    conn: &mut SqliteConnection,
    business: &str,
    key: &ApiKeyRecord,
    key_hash: &str,
) -> Result<(), BusinessesError> {
    sqlx::query(
        "INSERT INTO api_keys (key_hash, business_id, id, label, hint, created_at, revoked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (key_hash) DO UPDATE SET business_id = excluded.business_id, \
         id = excluded.id, label = excluded.label, hint = excluded.hint, \
         created_at = excluded.created_at, revoked_at = excluded.revoked_at",
    )
    .bind(key_hash)
    .bind(business)
    .bind(key.id.as_str())
    .bind(&key.label)
    .bind(&key.hint)
    .bind(time_text(&key.created_at))
    .bind(key.revoked_at.as_ref().map(time_text))
    .execute(conn)
    .await
    .map_err(businesses_error)?;
    Ok(())
}
