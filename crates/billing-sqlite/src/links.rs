//! The [`PaymentLinks`] port on SQLite: payment links and card requests, found by id or by
//! their token's hash.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BookingId, BusinessId, CustomerId, LinkId, PaymentId};
use billing_core::link::{LinkPurpose, LinkState, LinkedBooking, PaymentLink, TokenHash};
use billing_core::money::{Currency, Money};
use billing_core::ports::{LinkByToken, LinkStoreError, PaymentLinks};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::codec::is_unique_violation;
use crate::store::SqliteStore;

/// The columns [`LinkRow`] reads, in a SELECT list.
const COLUMNS: &str = "business_id, id, token_hash, customer_id, kind, amount_minor, currency, \
    bookings, created_at, expires_at, state, closed_at, payment_id, card";

/// One link by key.
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM payment_links WHERE business_id = ?1 AND id = ?2")
});

/// One link by its token's hash, of whichever business.
static BY_TOKEN: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM payment_links WHERE token_hash = ?1"));

/// A customer's links, newest first.
static OF_CUSTOMER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM payment_links WHERE business_id = ?1 AND customer_id = ?2 \
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    )
});

/// A time as this table stores it: fixed width, so that text order is time order.
fn sortable(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(what: &str, text: &str) -> Result<DateTime<Utc>, LinkStoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what, e))
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> LinkStoreError {
    LinkStoreError::Corrupt(format!("{what}: {error}"))
}

/// Unreadable rows are `Corrupt`; everything else (I/O, pool, locks) is `Unavailable`.
fn link_error(error: sqlx::Error) -> LinkStoreError {
    match error {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => LinkStoreError::Corrupt(error.to_string()),
        other => LinkStoreError::Unavailable(other.to_string()),
    }
}

/// One booking of a payment link, as the `bookings` JSON keeps it: amounts in integer minor
/// units of the link's currency.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredBooking {
    booking: BookingId,
    amount_minor: i64,
    balance_due_minor: i64,
}

/// Money in minor units of the link's currency. Money in another currency is refused rather
/// than stored as a number that would read back in the wrong currency.
fn minor_in(money: &Money, currency: Currency) -> Result<i64, LinkStoreError> {
    if money.currency() != currency {
        return Err(corrupt(
            "cannot be stored",
            format!("{money} in a {currency} link"),
        ));
    }
    money
        .to_minor()
        .map_err(|e| corrupt("cannot be stored", format!("{money}: {e}")))
}

/// The columns that say what a link is for.
#[derive(Debug)]
struct PurposeColumns {
    kind: &'static str,
    amount_minor: Option<i64>,
    currency: Option<String>,
    bookings: Option<String>,
}

impl PurposeColumns {
    fn of(purpose: &LinkPurpose) -> Result<Self, LinkStoreError> {
        match purpose {
            LinkPurpose::Payment { amount, bookings } => {
                let currency = amount.currency();
                let stored = bookings
                    .iter()
                    .map(|b| {
                        Ok(StoredBooking {
                            booking: b.booking.clone(),
                            amount_minor: minor_in(&b.amount, currency)?,
                            balance_due_minor: minor_in(&b.balance_due, currency)?,
                        })
                    })
                    .collect::<Result<Vec<_>, LinkStoreError>>()?;
                let bookings =
                    serde_json::to_string(&stored).map_err(|e| corrupt("cannot serialize", e))?;
                Ok(PurposeColumns {
                    kind: "payment",
                    amount_minor: Some(minor_in(amount, currency)?),
                    currency: Some(currency.code().to_owned()),
                    bookings: Some(bookings),
                })
            }
            LinkPurpose::CardRequest => Ok(PurposeColumns {
                kind: "card_request",
                amount_minor: None,
                currency: None,
                bookings: None,
            }),
        }
    }
}

/// The columns that say where a link stands.
#[derive(Debug)]
struct StateColumns<'a> {
    state: &'static str,
    closed_at: Option<String>,
    payment_id: Option<&'a str>,
    card: Option<&'a str>,
}

impl<'a> StateColumns<'a> {
    fn of(state: &'a LinkState) -> Self {
        match state {
            LinkState::Open => StateColumns {
                state: "open",
                closed_at: None,
                payment_id: None,
                card: None,
            },
            LinkState::Completed { at, payment, card } => StateColumns {
                state: "completed",
                closed_at: Some(sortable(at)),
                payment_id: payment.as_ref().map(PaymentId::as_str),
                card: card.as_deref(),
            },
            LinkState::Canceled { at } => StateColumns {
                state: "canceled",
                closed_at: Some(sortable(at)),
                payment_id: None,
                card: None,
            },
        }
    }
}

/// A link row as read.
#[derive(Debug, sqlx::FromRow)]
struct LinkRow {
    business_id: String,
    id: String,
    token_hash: String,
    customer_id: String,
    kind: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    bookings: Option<String>,
    created_at: String,
    expires_at: String,
    state: String,
    closed_at: Option<String>,
    payment_id: Option<String>,
    card: Option<String>,
}

impl LinkRow {
    fn purpose(&self) -> Result<LinkPurpose, LinkStoreError> {
        match self.kind.as_str() {
            "payment" => {
                let (Some(amount), Some(currency), Some(bookings)) =
                    (self.amount_minor, &self.currency, &self.bookings)
                else {
                    return Err(corrupt("payment link", "no amount, currency or bookings"));
                };
                let currency =
                    Currency::from_code(currency).map_err(|e| corrupt("stored currency", e))?;
                let money = |minor| Money::from_minor(minor, currency);
                let stored: Vec<StoredBooking> = serde_json::from_str(bookings)
                    .map_err(|e| corrupt("stored link bookings", e))?;
                Ok(LinkPurpose::Payment {
                    amount: money(amount),
                    bookings: stored
                        .into_iter()
                        .map(|b| LinkedBooking {
                            booking: b.booking,
                            amount: money(b.amount_minor),
                            balance_due: money(b.balance_due_minor),
                        })
                        .collect(),
                })
            }
            "card_request" => Ok(LinkPurpose::CardRequest),
            other => Err(corrupt("unknown link kind", other)),
        }
    }

    fn state(&self) -> Result<LinkState, LinkStoreError> {
        let closed_at = || {
            let at = self
                .closed_at
                .as_deref()
                .ok_or_else(|| corrupt("closed link", "no closing time"))?;
            parse_time("closing time", at)
        };
        match self.state.as_str() {
            "open" => Ok(LinkState::Open),
            "completed" => Ok(LinkState::Completed {
                at: closed_at()?,
                payment: self
                    .payment_id
                    .as_deref()
                    .map(|id| PaymentId::new(id).map_err(|e| corrupt("stored payment id", e)))
                    .transpose()?,
                card: self.card.clone(),
            }),
            "canceled" => Ok(LinkState::Canceled { at: closed_at()? }),
            other => Err(corrupt("unknown link state", other)),
        }
    }

    fn link(&self) -> Result<PaymentLink, LinkStoreError> {
        Ok(PaymentLink {
            id: LinkId::new(self.id.as_str()).map_err(|e| corrupt("stored link id", e))?,
            customer: CustomerId::new(self.customer_id.as_str())
                .map_err(|e| corrupt("stored customer id", e))?,
            purpose: self.purpose()?,
            created_at: parse_time("creation time", &self.created_at)?,
            expires_at: parse_time("expiry time", &self.expires_at)?,
            state: self.state()?,
        })
    }

    fn by_token(self) -> Result<LinkByToken, LinkStoreError> {
        Ok(LinkByToken {
            business: BusinessId::new(self.business_id.as_str())
                .map_err(|e| corrupt("stored business id", e))?,
            link: self.link()?,
            token_hash: TokenHash::from_hex(&self.token_hash)
                .ok_or_else(|| corrupt("stored token hash", "not 64 hex digits"))?,
        })
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
        let state = StateColumns::of(&link.state);
        // One statement: the primary key and the hash's UNIQUE constraint refuse a duplicate
        // with nothing written.
        let inserted = sqlx::query(
            "INSERT INTO payment_links (business_id, id, token_hash, customer_id, kind, \
             amount_minor, currency, bookings, created_at, expires_at, state, closed_at, \
             payment_id, card) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .bind(business.as_str())
        .bind(link.id.as_str())
        .bind(token_hash.to_hex())
        .bind(link.customer.as_str())
        .bind(purpose.kind)
        .bind(purpose.amount_minor)
        .bind(purpose.currency)
        .bind(purpose.bookings)
        .bind(sortable(&link.created_at))
        .bind(sortable(&link.expires_at))
        .bind(state.state)
        .bind(state.closed_at)
        .bind(state.payment_id)
        .bind(state.card)
        .execute(&self.pool)
        .await;
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
        let row: Option<LinkRow> = sqlx::query_as(BY_ID.as_str())
            .bind(business.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(link_error)?;
        row.as_ref().map(LinkRow::link).transpose()
    }

    async fn link_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<LinkByToken>, LinkStoreError> {
        let row: Option<LinkRow> = sqlx::query_as(BY_TOKEN.as_str())
            .bind(token_hash.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(link_error)?;
        row.map(LinkRow::by_token).transpose()
    }

    async fn customer_links(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, LinkStoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(OF_CUSTOMER.as_str())
            .bind(business.as_str())
            .bind(customer.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(link_error)?;
        rows.iter().map(LinkRow::link).collect()
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
        // Compare and set in one statement: SQLite runs it under the database's write lock,
        // so of two concurrent closes (from any connection or process) only the first finds
        // the link open.
        let done = sqlx::query(
            "UPDATE payment_links SET state = ?3, closed_at = ?4, payment_id = ?5, card = ?6 \
             WHERE business_id = ?1 AND id = ?2 AND state = 'open'",
        )
        .bind(business.as_str())
        .bind(id.as_str())
        .bind(state.state)
        .bind(state.closed_at)
        .bind(state.payment_id)
        .bind(state.card)
        .execute(&self.pool)
        .await
        .map_err(link_error)?;
        Ok(done.rows_affected() == 1)
    }
}
