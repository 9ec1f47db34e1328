//! The [`Businesses`] port on SQLite: the tenants and their API key hashes.

use async_trait::async_trait;
use billing_core::customer::Business;
use billing_core::ids::BusinessId;
use billing_core::ports::{Businesses, BusinessesError};

use crate::codec::businesses_error;
use crate::store::SqliteStore;

type BusinessRow = (String, String, Option<String>, Option<String>);

fn business(row: BusinessRow) -> Result<Business, BusinessesError> {
    let (id, name, gateway_account, email) = row;
    Ok(Business {
        id: BusinessId::new(id).map_err(businesses_error)?,
        name,
        gateway_account,
        email,
    })
}

#[async_trait]
impl Businesses for SqliteStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key_hash: &str,
    ) -> Result<(), BusinessesError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(businesses_error)?;
        let created = sqlx::query(
            "INSERT INTO businesses (id, name, gateway_account, email) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(business.id.as_str())
        .bind(&business.name)
        .bind(&business.gateway_account)
        .bind(&business.email)
        .execute(&mut *tx)
        .await
        .map_err(businesses_error)?;
        if created.rows_affected() == 0 {
            return Err(BusinessesError::AlreadyExists(business.id.clone()));
        }
        insert_key(&mut tx, &business.id, api_key_hash).await?;
        tx.commit().await.map_err(businesses_error)
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        api_key_hash: &str,
    ) -> Result<bool, BusinessesError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(businesses_error)?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM businesses WHERE id = ?1")
            .bind(business.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(businesses_error)?;
        if exists.is_none() {
            return Ok(false);
        }
        insert_key(&mut tx, business, api_key_hash).await?;
        tx.commit().await.map_err(businesses_error)?;
        Ok(true)
    }

    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        let row: Option<BusinessRow> = sqlx::query_as(
            "SELECT b.id, b.name, b.gateway_account, b.email FROM api_keys k \
             JOIN businesses b ON b.id = k.business_id WHERE k.key_hash = ?1",
        )
        .bind(api_key_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(businesses_error)?;
        row.map(business).transpose()
    }

    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError> {
        let row: Option<BusinessRow> =
            sqlx::query_as("SELECT id, name, gateway_account, email FROM businesses WHERE id = ?1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(businesses_error)?;
        row.map(business).transpose()
    }

    async fn list_businesses(&self) -> Result<Vec<Business>, BusinessesError> {
        let rows: Vec<BusinessRow> =
            sqlx::query_as("SELECT id, name, gateway_account, email FROM businesses ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(businesses_error)?;
        rows.into_iter().map(business).collect()
    }
}

/// Stores a key hash for a business. A hash is unique: stored again, it moves to this business
/// (as in the in-memory store; hashes of random keys do not collide in practice).
async fn insert_key(
    conn: &mut sqlx::SqliteConnection,
    business: &BusinessId,
    api_key_hash: &str,
) -> Result<(), BusinessesError> {
    sqlx::query(
        "INSERT INTO api_keys (key_hash, business_id) VALUES (?1, ?2) \
         ON CONFLICT (key_hash) DO UPDATE SET business_id = excluded.business_id",
    )
    .bind(api_key_hash)
    .bind(business.as_str())
    .execute(conn)
    .await
    .map_err(businesses_error)?;
    Ok(())
}
