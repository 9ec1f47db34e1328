use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::BusinessId;
use crate::link::TokenHash;
use crate::portal::PortalPass;

/// Why the portal pass store failed. A failed call wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalStoreError {
    /// Some pass already has that token hash.
    #[error("a portal pass with that token already exists")]
    AlreadyExists,
    /// The store could not be reached, or the operation failed.
    #[error("portal store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt or from an unknown version).
    #[error("portal data unreadable: {0}")]
    Corrupt(String),
}

/// A pass found by its token, with whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalPassByToken {
    /// The business whose customer it lets in (the customer's browser has no API key to say).
    pub business: BusinessId,
    /// The pass.
    pub pass: PortalPass,
    /// The hash stored for it, which the core compares with the one it computed in constant
    /// time.
    pub token_hash: TokenHash,
}

/// The customer portal's links and sessions, kept by their token's hash (never the token).
/// Lookups go by token alone: a customer's browser knows nothing else.
#[async_trait]
pub trait PortalPasses: Send + Sync {
    /// Keeps a new pass of a business's customer. [`PortalStoreError::AlreadyExists`] when the
    /// hash is taken.
    async fn create_portal_pass(
        &self,
        business: &BusinessId,
        pass: &PortalPass,
        token_hash: &TokenHash,
    ) -> Result<(), PortalStoreError>;

    /// The pass whose token has this hash, of whichever business, or `None`.
    async fn portal_pass(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<PortalPassByToken>, PortalStoreError>;

    /// Marks an unused pass used at `at`, at once: `Ok(true)` when it was unused, `Ok(false)`
    /// when it was already used or no pass has this hash (then nothing changes). Of two
    /// concurrent calls, at most one returns `true`: a link opens one session.
    async fn use_portal_pass(
        &self,
        token_hash: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, PortalStoreError>;

    /// Deletes, across businesses, the passes that expired at or before `expired_by`, and says
    /// how many.
    async fn purge_portal_passes(&self, expired_by: DateTime<Utc>)
    -> Result<u64, PortalStoreError>;
}
