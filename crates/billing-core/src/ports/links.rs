use async_trait::async_trait;

use crate::ids::{BusinessId, CustomerId, LinkId};
use crate::link::{LinkPurpose, LinkState, LinkToken, PaymentLink, TokenHash};

/// Why the link store failed. A failed call wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkStoreError {
    /// The business already has a link with that id, or some link has that token hash.
    #[error("link {0} already exists")]
    AlreadyExists(LinkId),
    /// The store could not be reached, or the operation failed.
    #[error("link store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt or from an unknown version).
    #[error("link data unreadable: {0}")]
    Corrupt(String),
}

/// A link found by its token, with whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkByToken {
    /// The business whose link it is (a customer's page has no API key to say so).
    pub business: BusinessId,
    /// The link.
    pub link: PaymentLink,
    /// The hash stored for it, which the core compares with the one it computed in constant
    /// time.
    pub token_hash: TokenHash,
}

/// Payment links and card requests, scoped per business, except the lookup by token (a
/// customer's page knows only the token).
#[async_trait]
pub trait PaymentLinks: Send + Sync {
    /// Stores a new link with its token's hash. [`LinkStoreError::AlreadyExists`] when the
    /// business has a link with that id or the hash is taken.
    async fn create_link(
        &self,
        business: &BusinessId,
        link: &PaymentLink,
        token_hash: &TokenHash,
    ) -> Result<(), LinkStoreError>;

    /// A link, or `None` when the business has no such link.
    async fn link(
        &self,
        business: &BusinessId,
        id: &LinkId,
    ) -> Result<Option<PaymentLink>, LinkStoreError>;

    /// The link whose token has this hash, of whichever business, or `None`.
    async fn link_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<LinkByToken>, LinkStoreError>;

    /// A customer's links, newest first (those made at the same instant by id, descending), at
    /// most `limit`.
    async fn customer_links(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, LinkStoreError>;

    /// Moves an open link to `state` (completed or canceled), at once: `Ok(true)` when it was
    /// open, `Ok(false)` when it was not open or the business has no such link (then nothing
    /// changes). Of two concurrent calls, at most one returns `true`.
    async fn close_link(
        &self,
        business: &BusinessId,
        id: &LinkId,
        state: &LinkState,
    ) -> Result<bool, LinkStoreError>;
}

/// Where the hosted pages are: the adapter that serves them says how a link's page is
/// addressed, from the public address it was configured with (never from a request's `Host`,
/// which a client controls). The core puts the address in the email, and gives the gateway the
/// pages the customer's browser comes back to after authenticating (3-D Secure).
pub trait PageAddresses: Send + Sync {
    /// The page of a link with this token: a payment page, or a card request's page.
    fn link_url(&self, purpose: &LinkPurpose, token: &LinkToken) -> String;

    /// Where the gateway sends the customer back after authenticating a payment link's
    /// payment; that page hands the token to
    /// [`Billing::link_payment_returned`](crate::billing::Billing::link_payment_returned).
    fn payment_return(&self, token: &LinkToken) -> String;

    /// Where the gateway sends the customer back after authenticating a card request's card;
    /// that page hands the token and the set-up to
    /// [`Billing::card_request_returned`](crate::billing::Billing::card_request_returned).
    fn card_return(&self, token: &LinkToken) -> String;

    /// The page an emailed portal link opens; that page hands the token to
    /// [`Billing::open_portal`](crate::billing::Billing::open_portal).
    fn portal_url(&self, token: &LinkToken) -> String;
}
