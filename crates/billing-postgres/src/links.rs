//! The [`PaymentLinks`] port on PostgreSQL: payment links and card requests, found by id or by
//! their token's hash.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BusinessId, CustomerId, LinkId};
use billing_core::link::{LinkState, PaymentLink, TokenHash};
use billing_core::ports::{LinkByToken, LinkStoreError, PaymentLinks};
use billing_sql::errors::{is_unique_violation, link_error};
use billing_sql::rows::{LinkRow, PurposeColumns, StateColumns, checkout_column};

use crate::pool::on_pool;
use crate::store::PostgresStore;

/// The columns [`LinkRow`] reads, in a SELECT list.
/// (`bookings` as text: sqlx decodes `json` into a `String` only through a cast.)
const COLUMNS: &str = "business_id, id, token_hash, customer_id, kind, amount_minor, currency, \
    bookings::text AS bookings, created_at, expires_at, state, closed_at, payment_id, card, \
    checkout::text AS checkout, desk_return";

/// One link by key.
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM payment_links WHERE business_id = $1 AND id = $2")
});

/// One link by its token's hash, of whichever business.
static BY_TOKEN: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM payment_links WHERE token_hash = $1"));

/// A customer's links, newest first.
static OF_CUSTOMER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM payment_links WHERE business_id = $1 AND customer_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    )
});

#[async_trait]
impl PaymentLinks for PostgresStore {
    async fn create_link(
        &self,
        business: &BusinessId,
        link: &PaymentLink,
        token_hash: &TokenHash,
    ) -> Result<(), LinkStoreError> {
        let purpose = PurposeColumns::of(&link.purpose)?;
        let checkout = checkout_column(link)?;
        let state = StateColumns::of(&link.state);
        // One statement: the primary key and the hash's UNIQUE constraint refuse a duplicate
        // with nothing written.
        let inserted = on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO payment_links (business_id, id, token_hash, customer_id, kind, \
                 amount_minor, currency, bookings, created_at, expires_at, state, closed_at, \
                 payment_id, card, checkout, desk_return) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9, $10, $11, $12, $13, $14, \
                 $15::json, $16)",
            )
            .bind(business.as_str())
            .bind(link.id.as_str())
            .bind(token_hash.to_hex())
            .bind(link.customer.as_str())
            .bind(purpose.kind)
            .bind(purpose.amount_minor)
            .bind(&purpose.currency)
            .bind(&purpose.bookings)
            .bind(link.created_at)
            .bind(link.expires_at)
            .bind(state.state)
            .bind(state.closed_at)
            .bind(state.payment_id)
            .bind(state.card)
            .bind(&checkout)
            .bind(link.desk_return.as_ref().map(|b| b.as_str()))
            .execute(conn)
            .await
        });
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(LinkStoreError::AlreadyExists(link.id.clone()))
            }
            Err(error) => Err(link_error(error)),
        }
    }

    async fn link(
        &self,
        business: &BusinessId,
        id: &LinkId,
    ) -> Result<Option<PaymentLink>, LinkStoreError> {
        let row: Option<LinkRow> = on_pool!(self, |conn| {
            sqlx::query_as(BY_ID.as_str())
                .bind(business.as_str())
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(link_error)?;
        Ok(row.as_ref().map(LinkRow::link).transpose()?)
    }

    async fn link_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<LinkByToken>, LinkStoreError> {
        let row: Option<LinkRow> = on_pool!(self, |conn| {
            sqlx::query_as(BY_TOKEN.as_str())
                .bind(token_hash.to_hex())
                .fetch_optional(conn)
                .await
        })
        .map_err(link_error)?;
        Ok(row.map(LinkRow::by_token).transpose()?)
    }

    async fn customer_links(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, LinkStoreError> {
        let rows: Vec<LinkRow> = on_pool!(self, |conn| {
            sqlx::query_as(OF_CUSTOMER.as_str())
                .bind(business.as_str())
                .bind(customer.as_str())
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
        })
        .map_err(link_error)?;
        Ok(rows.iter().map(LinkRow::link).collect::<Result<_, _>>()?)
    }

    async fn close_link(
        &self,
        business: &BusinessId,
        id: &LinkId,
        state: &LinkState,
    ) -> Result<bool, LinkStoreError> {
        if *state == LinkState::Open {
            // Not a close: nothing to move to.
            return Ok(false);
        }
        let state = StateColumns::of(state);
        // Compare and set in one statement: a concurrent close waits for this one's row lock,
        // then re-reads the row, finds it no longer open, and updates nothing.
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE payment_links SET state = $3, closed_at = $4, payment_id = $5, card = $6 \
                 WHERE business_id = $1 AND id = $2 AND state = 'open'",
            )
            .bind(business.as_str())
            .bind(id.as_str())
            .bind(state.state)
            .bind(state.closed_at)
            .bind(state.payment_id)
            .bind(state.card)
            .execute(conn)
            .await
        })
        .map_err(link_error)?;
        Ok(done.rows_affected() == 1)
    }
}
