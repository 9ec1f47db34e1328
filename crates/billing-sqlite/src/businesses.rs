//! The [`Businesses`] port on SQLite: the tenants and their API key hashes.

use async_trait::async_trait;
use billing_core::customer::Business;
use billing_core::ids::BusinessId;
use billing_core::ports::{Businesses, BusinessesError};
use billing_sql::errors::businesses_error;
use billing_sql::rows::BusinessRow;
use sqlx::SqliteConnection;

use crate::store::SqliteStore;

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
        api_key_hash: &str,
    ) -> Result<(), BusinessesError> {
        let business = business.clone();
        let api_key_hash = api_key_hash.to_owned();
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
                insert_key(conn, business.id.as_str(), &api_key_hash).await
            })
        })
        .await
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        api_key_hash: &str,
    ) -> Result<bool, BusinessesError> {
        let business = business.as_str().to_owned();
        let api_key_hash = api_key_hash.to_owned();
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
                insert_key(conn, &business, &api_key_hash).await?;
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
             JOIN businesses b ON b.id = k.business_id WHERE k.key_hash = ?1",
            api_key_hash.to_owned(),
        )
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

/// Stores a key hash for a business. A hash is unique: stored again, it moves to this business
/// (as in the in-memory store; hashes of random keys do not collide in practice).
async fn insert_key(
    conn: &mut SqliteConnection,
    business: &str,
    api_key_hash: &str,
) -> Result<(), BusinessesError> {
    sqlx::query(
        "INSERT INTO api_keys (key_hash, business_id) VALUES (?1, ?2) \
         ON CONFLICT (key_hash) DO UPDATE SET business_id = excluded.business_id",
    )
    .bind(api_key_hash)
    .bind(business)
    .execute(conn)
    .await
    .map_err(businesses_error)?;
    Ok(())
}
