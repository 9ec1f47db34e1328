//! The [`Businesses`] port on PostgreSQL: the tenants and their API key hashes.

use async_trait::async_trait;
use billing_core::customer::Business;
use billing_core::ids::BusinessId;
use billing_core::ports::{Businesses, BusinessesError};

use billing_sql::errors::businesses_error;
use billing_sql::rows::BusinessRow;

use crate::pool::PooledConn;
use crate::pool::{on_pool, run};
use crate::store::PostgresStore;

fn business(row: BusinessRow) -> Result<Business, BusinessesError> {
    Ok(row.into_business()?)
}

#[async_trait]
impl Businesses for PostgresStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key_hash: &str,
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
        insert_key(&mut conn, &business.id, api_key_hash).await?;
        conn.commit().await.map_err(businesses_error)
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        api_key_hash: &str,
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
        insert_key(&mut conn, business, api_key_hash).await?;
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
                     JOIN businesses b ON b.id = k.business_id WHERE k.key_hash = $1",
            )
            .bind(api_key_hash)
            .fetch_optional(conn)
            .await
        })
        .map_err(businesses_error)?;
        row.map(business).transpose()
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

/// Stores a key hash for a business. A hash is unique: stored again, it moves to this business
/// (as in the in-memory store; hashes of random keys do not collide in practice).
async fn insert_key(
    conn: &mut PooledConn,
    business: &BusinessId,
    api_key_hash: &str,
) -> Result<(), BusinessesError> {
    run!(conn, |conn| {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, business_id) VALUES ($1, $2) \
             ON CONFLICT (key_hash) DO UPDATE SET business_id = excluded.business_id",
        )
        .bind(api_key_hash)
        .bind(business.as_str())
        .execute(conn)
        .await
    })
    .map_err(businesses_error)?;
    Ok(())
}
