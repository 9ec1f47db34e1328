//! Payment links and card requests (`payment_links`).

use billing_core::ids::{BusinessId, CustomerId, LinkId, PaymentId};
use billing_core::link::{DeskReturn, LinkPurpose, LinkState, PaymentLink, TokenHash};
use billing_core::money::Currency;
use billing_core::ports::LinkByToken;
use chrono::{DateTime, Utc};

use super::{id, minor};
use crate::StoredRowError;
use crate::formats::{
    decode_checkout, decode_link_bookings, encode_checkout, encode_link_bookings,
};

const WHAT: &str = "stored link";

/// The columns that say what a link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeColumns {
    /// `kind`: `payment` or `card_request`.
    pub kind: &'static str,
    /// `amount_minor`, for a payment link.
    pub amount_minor: Option<i64>,
    /// `currency`, for a payment link.
    pub currency: Option<String>,
    /// `bookings` (JSON), for a payment link.
    pub bookings: Option<String>,
}

impl PurposeColumns {
    /// The columns of a purpose.
    pub fn of(purpose: &LinkPurpose) -> Result<Self, StoredRowError> {
        match purpose {
            LinkPurpose::Payment { amount, bookings } => {
                let currency = amount.currency();
                Ok(PurposeColumns {
                    kind: "payment",
                    amount_minor: Some(minor(amount)?),
                    currency: Some(currency.code().to_owned()),
                    bookings: Some(encode_link_bookings(bookings, currency)?),
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateColumns<'a> {
    /// `state`: `open`, `completed` or `canceled`.
    pub state: &'static str,
    /// `closed_at`, once closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// `payment_id`: the payment that completed it.
    pub payment_id: Option<&'a str>,
    /// `card`: the card saved by it.
    pub card: Option<&'a str>,
}

impl<'a> StateColumns<'a> {
    /// The columns of a state.
    pub fn of(state: &'a LinkState) -> Self {
        match state {
            LinkState::Open => StateColumns {
                state: "open",
                closed_at: None,
                payment_id: None,
                card: None,
            },
            LinkState::Completed { at, payment, card } => StateColumns {
                state: "completed",
                closed_at: Some(*at),
                payment_id: payment.as_ref().map(PaymentId::as_str),
                card: card.as_deref(),
            },
            LinkState::Canceled { at } => StateColumns {
                state: "canceled",
                closed_at: Some(*at),
                payment_id: None,
                card: None,
            },
        }
    }
}

/// The columns [`LinkRow`] reads, in a SELECT list.
pub const LINK_COLUMNS: &str = "business_id, id, token_hash, customer_id, kind, amount_minor, \
    currency, bookings, created_at, expires_at, state, closed_at, payment_id, card, checkout, \
    desk_return";

/// The `checkout` column of a link (JSON), `None` for a link that is no checkout.
pub fn checkout_column(link: &PaymentLink) -> Result<Option<String>, StoredRowError> {
    link.checkout.as_ref().map(encode_checkout).transpose()
}

/// A link row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct LinkRow {
    business_id: String,
    id: String,
    token_hash: String,
    customer_id: String,
    kind: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    bookings: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    state: String,
    closed_at: Option<DateTime<Utc>>,
    payment_id: Option<String>,
    card: Option<String>,
    checkout: Option<String>,
    desk_return: Option<String>,
}

impl LinkRow {
    fn purpose(&self) -> Result<LinkPurpose, StoredRowError> {
        match self.kind.as_str() {
            "payment" => {
                let (Some(amount), Some(currency), Some(bookings)) =
                    (self.amount_minor, &self.currency, &self.bookings)
                else {
                    return Err(StoredRowError::new(
                        WHAT,
                        "a payment link without its amount, currency or bookings",
                    ));
                };
                let currency =
                    Currency::from_code(currency).map_err(|e| StoredRowError::new(WHAT, e))?;
                Ok(LinkPurpose::Payment {
                    amount: billing_core::money::Money::from_minor(amount, currency),
                    bookings: decode_link_bookings(bookings, currency)?,
                })
            }
            "card_request" => Ok(LinkPurpose::CardRequest),
            other => Err(StoredRowError::new(WHAT, format!("unknown kind {other:?}"))),
        }
    }

    fn state(&self) -> Result<LinkState, StoredRowError> {
        let closed_at = || {
            self.closed_at
                .ok_or_else(|| StoredRowError::new(WHAT, "a closed link without its time"))
        };
        match self.state.as_str() {
            "open" => Ok(LinkState::Open),
            "completed" => Ok(LinkState::Completed {
                at: closed_at()?,
                payment: self
                    .payment_id
                    .as_deref()
                    .map(|p| id::<PaymentId>(WHAT, p))
                    .transpose()?,
                card: self.card.clone(),
            }),
            "canceled" => Ok(LinkState::Canceled { at: closed_at()? }),
            other => Err(StoredRowError::new(
                WHAT,
                format!("unknown state {other:?}"),
            )),
        }
    }

    /// The link.
    pub fn link(&self) -> Result<PaymentLink, StoredRowError> {
        Ok(PaymentLink {
            id: id::<LinkId>(WHAT, &self.id)?,
            customer: id::<CustomerId>(WHAT, &self.customer_id)?,
            purpose: self.purpose()?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            state: self.state()?,
            checkout: self.checkout.as_deref().map(decode_checkout).transpose()?,
            desk_return: self
                .desk_return
                .as_deref()
                .map(|path| {
                    DeskReturn::parse(path)
                        .ok_or_else(|| StoredRowError::new(WHAT, "a desk return that is no path"))
                })
                .transpose()?,
        })
    }

    /// The link with whose it is and its token's hash.
    pub fn by_token(self) -> Result<LinkByToken, StoredRowError> {
        Ok(LinkByToken {
            business: id::<BusinessId>(WHAT, &self.business_id)?,
            link: self.link()?,
            token_hash: TokenHash::from_hex(&self.token_hash).ok_or_else(|| {
                StoredRowError::new(WHAT, "a token hash of other than 64 hex digits")
            })?,
        })
    }
}
