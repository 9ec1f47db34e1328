//! The [`ConnectedAccounts`] port on SQLite: each business's connected account
//! (`connected_accounts`, migration 0014). Writes go through the single writer, so that
//! connecting (the row and the business's `gateway_account`) is one step.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::connect::ConnectedAccount;
use billing_core::ids::BusinessId;
use billing_core::ports::{AccountConnection, BusinessesError, ConnectedAccounts};
use billing_sql::errors::businesses_error;
use billing_sql::rows::{CONNECTED_ACCOUNT_COLUMNS, ConnectedAccountRow, requirements_column};
use sqlx::SqliteConnection;

use crate::store::{SqliteStore, time_text};

/// A business's connected account.
static ACCOUNT_OF: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {CONNECTED_ACCOUNT_COLUMNS} FROM connected_accounts WHERE business_id = ?1")
});

async fn account_of(
    conn: &mut SqliteConnection,
    business: &str,
) -> Result<Option<ConnectedAccount>, BusinessesError> {
    let row: Option<ConnectedAccountRow> = sqlx::query_as(ACCOUNT_OF.as_str())
        .bind(business)
        .fetch_optional(conn)
        .await
        .map_err(businesses_error)?;
    Ok(row.map(ConnectedAccountRow::into_account))
}

#[async_trait]
impl ConnectedAccounts for SqliteStore {
    async fn connected_account(
        &self,
        business: &BusinessId,
    ) -> Result<Option<ConnectedAccount>, BusinessesError> {
        let business = business.as_str().to_owned();
        self.with_reader(move |conn| Box::pin(async move { account_of(conn, &business).await }))
            .await
    }

    async fn connect_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<AccountConnection, BusinessesError> {
        let business = business.as_str().to_owned();
        let account = account.clone();
        self.with_writer(move |conn| {
            Box::pin(async move {
                if let Some(stored) = account_of(&mut *conn, &business).await? {
                    return Ok(AccountConnection::Connected(stored));
                }
                let owner: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT gateway_account FROM businesses WHERE id = ?1")
                        .bind(&business)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(businesses_error)?;
                match owner {
                    None => return Ok(AccountConnection::UnknownBusiness),
                    Some((Some(other),)) if other != account.id() => {
                        return Ok(AccountConnection::OtherAccount(other));
                    }
                    Some(_) => {}
                }
                sqlx::query("UPDATE businesses SET gateway_account = ?2 WHERE id = ?1")
                    .bind(&business)
                    .bind(account.id())
                    .execute(&mut *conn)
                    .await
                    .map_err(businesses_error)?;
                let state = &account.state;
                sqlx::query(
                    "INSERT INTO connected_accounts (business_id, account, charges_enabled, \
                     payouts_enabled, details_submitted, requirements_due, \
                     requirements_past_due, disabled_reason, as_of) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .bind(&business)
                .bind(&state.account)
                .bind(state.charges_enabled)
                .bind(state.payouts_enabled)
                .bind(state.details_submitted)
                .bind(requirements_column(&state.requirements_due))
                .bind(requirements_column(&state.requirements_past_due))
                .bind(&state.disabled_reason)
                .bind(time_text(&account.as_of))
                .execute(&mut *conn)
                .await
                .map_err(businesses_error)?;
                Ok(AccountConnection::Connected(account))
            })
        })
        .await
    }

    async fn update_connected_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<bool, BusinessesError> {
        let business = business.as_str().to_owned();
        let account = account.clone();
        self.with_writer(move |conn| {
            Box::pin(async move {
                let state = &account.state;
                let updated = sqlx::query(
                    "UPDATE connected_accounts SET charges_enabled = ?3, payouts_enabled = ?4, \
                     details_submitted = ?5, requirements_due = ?6, requirements_past_due = ?7, \
                     disabled_reason = ?8, as_of = ?9 \
                     WHERE business_id = ?1 AND account = ?2 AND as_of <= ?9",
                )
                .bind(&business)
                .bind(&state.account)
                .bind(state.charges_enabled)
                .bind(state.payouts_enabled)
                .bind(state.details_submitted)
                .bind(requirements_column(&state.requirements_due))
                .bind(requirements_column(&state.requirements_past_due))
                .bind(&state.disabled_reason)
                .bind(time_text(&account.as_of))
                .execute(&mut *conn)
                .await
                .map_err(businesses_error)?;
                Ok(updated.rows_affected() == 1)
            })
        })
        .await
    }
}
