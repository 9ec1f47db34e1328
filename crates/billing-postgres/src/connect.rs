//! The [`ConnectedAccounts`] port on PostgreSQL: each business's connected account
//! (`connected_accounts`, migration 0015). Connecting locks the business's row, so that two
//! nodes connecting at once store one account.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::connect::ConnectedAccount;
use billing_core::ids::BusinessId;
use billing_core::ports::{AccountConnection, BusinessesError, ConnectedAccounts};
use billing_sql::errors::businesses_error;
use billing_sql::rows::{CONNECTED_ACCOUNT_COLUMNS, ConnectedAccountRow, requirements_column};

use crate::pool::{on_pool, run};
use crate::store::PostgresStore;

/// A business's connected account.
static ACCOUNT_OF: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {CONNECTED_ACCOUNT_COLUMNS} FROM connected_accounts WHERE business_id = $1")
});

#[async_trait]
impl ConnectedAccounts for PostgresStore {
    async fn connected_account(
        &self,
        business: &BusinessId,
    ) -> Result<Option<ConnectedAccount>, BusinessesError> {
        let row: Option<ConnectedAccountRow> = on_pool!(self, |conn| {
            sqlx::query_as(ACCOUNT_OF.as_str())
                .bind(business.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(businesses_error)?;
        Ok(row.map(ConnectedAccountRow::into_account))
    }

    async fn connect_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<AccountConnection, BusinessesError> {
        // One transaction that first locks the business: a second connection waits, then
        // finds the account this one stored. Dropping the connection on an error rolls it back.
        let mut conn = self.pool.acquire().await.map_err(businesses_error)?;
        conn.begin().await.map_err(businesses_error)?;
        let owner: Option<(Option<String>,)> = run!(&mut conn, |conn| {
            sqlx::query_as("SELECT gateway_account FROM businesses WHERE id = $1 FOR UPDATE")
                .bind(business.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(businesses_error)?;
        let Some((gateway_account,)) = owner else {
            return Ok(AccountConnection::UnknownBusiness);
        };
        let stored: Option<ConnectedAccountRow> = run!(&mut conn, |conn| {
            sqlx::query_as(ACCOUNT_OF.as_str())
                .bind(business.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(businesses_error)?;
        if let Some(stored) = stored {
            conn.commit().await.map_err(businesses_error)?;
            return Ok(AccountConnection::Connected(stored.into_account()));
        }
        if let Some(other) = gateway_account.filter(|other| other != account.id()) {
            conn.commit().await.map_err(businesses_error)?;
            return Ok(AccountConnection::OtherAccount(other));
        }
        run!(&mut conn, |conn| {
            sqlx::query("UPDATE businesses SET gateway_account = $2 WHERE id = $1")
                .bind(business.as_str())
                .bind(account.id())
                .execute(conn)
                .await
        })
        .map_err(businesses_error)?;
        let state = &account.state;
        run!(&mut conn, |conn| {
            sqlx::query(
                "INSERT INTO connected_accounts (business_id, account, charges_enabled, \
                 payouts_enabled, details_submitted, requirements_due, requirements_past_due, \
                 disabled_reason, as_of) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(business.as_str())
            .bind(&state.account)
            .bind(state.charges_enabled)
            .bind(state.payouts_enabled)
            .bind(state.details_submitted)
            .bind(requirements_column(&state.requirements_due))
            .bind(requirements_column(&state.requirements_past_due))
            .bind(&state.disabled_reason)
            .bind(account.as_of)
            .execute(conn)
            .await
        })
        .map_err(businesses_error)?;
        conn.commit().await.map_err(businesses_error)?;
        Ok(AccountConnection::Connected(account.clone()))
    }

    async fn update_connected_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<bool, BusinessesError> {
        let state = &account.state;
        let updated = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE connected_accounts SET charges_enabled = $3, payouts_enabled = $4, \
                 details_submitted = $5, requirements_due = $6, requirements_past_due = $7, \
                 disabled_reason = $8, as_of = $9 \
                 WHERE business_id = $1 AND account = $2 AND as_of <= $9",
            )
            .bind(business.as_str())
            .bind(&state.account)
            .bind(state.charges_enabled)
            .bind(state.payouts_enabled)
            .bind(state.details_submitted)
            .bind(requirements_column(&state.requirements_due))
            .bind(requirements_column(&state.requirements_past_due))
            .bind(&state.disabled_reason)
            .bind(account.as_of)
            .execute(conn)
            .await
        })
        .map_err(businesses_error)?;
        Ok(updated.rows_affected() == 1)
    }
}
