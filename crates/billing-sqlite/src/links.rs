//! The [`PaymentLinks`] port on SQLite: payment links and card requests, found by id or by
//! their token's hash.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BusinessId, CustomerId, LinkId};
use billing_core::link::{LinkState, PaymentLink, TokenHash};
use billing_core::ports::{LinkByToken, LinkStoreError, PaymentLinks};
use billing_sql::errors::{is_unique_violation, link_error};
use billing_sql::rows::{LINK_COLUMNS, LinkRow, PurposeColumns, StateColumns, checkout_column};

use crate::store::{SqliteStore, time_text};

/// One link by key.
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {LINK_COLUMNS} FROM payment_links WHERE business_id = ?1 AND id = ?2")
});

/// One link by its token's hash, of whichever business.
static BY_TOKEN: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {LINK_COLUMNS} FROM payment_links WHERE token_hash = ?1"));

/// A customer's links, newest first.
static OF_CUSTOMER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {LINK_COLUMNS} FROM payment_links WHERE business_id = ?1 AND customer_id = ?2 \
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    )
});

/// Where a link stands, as owned columns (they travel to the writer).
#[derive(Debug)]
struct State {
    state: &'static str,
    closed_at: Option<String>,
    payment_id: Option<String>,
    card: Option<String>,
}

impl State {
    fn of(state: &LinkState) -> Self {
        let columns = StateColumns::of(state);
        State {
            state: columns.state,
            closed_at: columns.closed_at.as_ref().map(time_text),
            payment_id: columns.payment_id.map(str::to_owned),
            card: columns.card.map(str::to_owned),
        }
    }
}

#[async_trait]
impl PaymentLinks for SqliteStore {
    async fn create_link(
        &self,
        business: &BusinessId,
        link: &PaymentLink,
        token_hash: &TokenHash,
    ) -> Result<(), LinkStoreError> {
        let purpose = PurposeColumns::of(&link.purpose)?;
        let checkout = checkout_column(link)?;
        let desk_return = link.desk_return.as_ref().map(|b| b.as_str().to_owned());
        let state = State::of(&link.state);
        let business = business.as_str().to_owned();
        let (id, customer) = (link.id.clone(), link.customer.as_str().to_owned());
        let (created_at, expires_at) = (time_text(&link.created_at), time_text(&link.expires_at));
        let token_hash = token_hash.to_hex();
        self.with_writer(move |conn| {
            Box::pin(async move {
                // One statement: the primary key and the hash's UNIQUE constraint refuse a
                // duplicate with nothing written.
                let inserted = sqlx::query(
                    "INSERT INTO payment_links (business_id, id, token_hash, customer_id, kind, \
                     amount_minor, currency, bookings, created_at, expires_at, state, closed_at, \
                     payment_id, card, checkout, desk_return) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16)",
                )
                .bind(business)
                .bind(id.as_str())
                .bind(token_hash)
                .bind(customer)
                .bind(purpose.kind)
                .bind(purpose.amount_minor)
                .bind(purpose.currency)
                .bind(purpose.bookings)
                .bind(created_at)
                .bind(expires_at)
                .bind(state.state)
                .bind(state.closed_at)
                .bind(state.payment_id)
                .bind(state.card)
                .bind(checkout)
                .bind(desk_return)
                .execute(conn)
                .await;
                match inserted {
                    Ok(_) => Ok(()),
                    Err(error) if is_unique_violation(&error) => {
                        Err(LinkStoreError::AlreadyExists(id))
                    }
                    Err(error) => Err(link_error(error)),
                }
            })
        })
        .await
    }

    async fn link(
        &self,
        business: &BusinessId,
        id: &LinkId,
    ) -> Result<Option<PaymentLink>, LinkStoreError> {
        let (business, id) = (business.as_str().to_owned(), id.as_str().to_owned());
        let row: Option<LinkRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(BY_ID.as_str())
                        .bind(business)
                        .bind(id)
                        .fetch_optional(conn)
                        .await
                        .map_err(link_error)
                })
            })
            .await?;
        Ok(row.as_ref().map(LinkRow::link).transpose()?)
    }

    async fn link_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<LinkByToken>, LinkStoreError> {
        let token_hash = token_hash.to_hex();
        let row: Option<LinkRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(BY_TOKEN.as_str())
                        .bind(token_hash)
                        .fetch_optional(conn)
                        .await
                        .map_err(link_error)
                })
            })
            .await?;
        Ok(row.map(LinkRow::by_token).transpose()?)
    }

    async fn customer_links(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, LinkStoreError> {
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let rows: Vec<LinkRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(OF_CUSTOMER.as_str())
                        .bind(business)
                        .bind(customer)
                        .bind(i64::from(limit))
                        .fetch_all(conn)
                        .await
                        .map_err(link_error)
                })
            })
            .await?;
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
        let state = State::of(state);
        let (business, id) = (business.as_str().to_owned(), id.as_str().to_owned());
        self.with_writer(move |conn| {
            Box::pin(async move {
                // Compare and set: of two concurrent closes (from this process or another),
                // only the first finds the link open.
                sqlx::query(
                    "UPDATE payment_links \
                     SET state = ?3, closed_at = ?4, payment_id = ?5, card = ?6 \
                     WHERE business_id = ?1 AND id = ?2 AND state = 'open'",
                )
                .bind(business)
                .bind(id)
                .bind(state.state)
                .bind(state.closed_at)
                .bind(state.payment_id)
                .bind(state.card)
                .execute(conn)
                .await
                .map(|done| done.rows_affected() == 1)
                .map_err(link_error)
            })
        })
        .await
    }
}
