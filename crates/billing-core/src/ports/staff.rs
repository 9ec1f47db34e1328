use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::{BusinessId, StaffId};
use crate::link::TokenHash;
use crate::staff::{StaffMember, StaffSession};

/// Why the staff store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffStoreError {
    /// A member with this email address already exists (in any business).
    #[error("a staff member with email {0} already exists")]
    EmailTaken(String),
    /// The store could not be reached, or the operation failed; nothing was written.
    #[error("staff store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back.
    #[error("staff data unreadable: {0}")]
    Corrupt(String),
}

/// What removing a member did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffRemoval {
    /// The member, removed: now, or at their first removal (removing again writes nothing).
    Removed(StaffMember),
    /// The business has no such member.
    NotFound,
    /// They are the business's last owner who is not removed; nothing was written.
    LastOwner,
}

/// What a purge of sessions and invitations that can no longer be used removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaffPurge {
    /// Sessions past their limits.
    pub sessions: u64,
    /// Invitations past their expiry.
    pub invitations: u64,
}

/// The people who sign in to the console, their invitations and their sessions. Tokens are
/// kept as their SHA-256 hashes only.
#[async_trait]
pub trait StaffAccounts: Send + Sync {
    /// Adds a member to a business. [`StaffStoreError::EmailTaken`] when a member of any
    /// business has the address; nothing is written then.
    async fn add_staff(
        &self,
        business: &BusinessId,
        member: &StaffMember,
    ) -> Result<(), StaffStoreError>;

    /// The member with this (lower-case) email address, and whose staff they are.
    async fn staff_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(BusinessId, StaffMember)>, StaffStoreError>;

    /// A member of a business.
    async fn staff_member(
        &self,
        business: &BusinessId,
        id: &StaffId,
    ) -> Result<Option<StaffMember>, StaffStoreError>;

    /// A business's members, removed ones included, by email address.
    async fn list_staff(&self, business: &BusinessId) -> Result<Vec<StaffMember>, StaffStoreError>;

    /// Sets a member's password hash. `Ok(false)` when there is no such member.
    async fn set_password_hash(
        &self,
        business: &BusinessId,
        id: &StaffId,
        hash: &str,
    ) -> Result<bool, StaffStoreError>;

    /// Keeps an invitation for a member, working until `expires_at`; an earlier one of the
    /// member no longer works.
    async fn put_invitation(
        &self,
        business: &BusinessId,
        staff: &StaffId,
        token: &TokenHash,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError>;

    /// Uses an invitation: whose it is, if it works at `now`. It never works again, whether it
    /// did now or had expired; of two concurrent uses, one gets it.
    async fn take_invitation(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(BusinessId, StaffId)>, StaffStoreError>;

    /// Keeps a new session under its token's hash.
    async fn create_session(
        &self,
        token: &TokenHash,
        session: &StaffSession,
    ) -> Result<(), StaffStoreError>;

    /// A session by its token's hash (live or not: the caller judges).
    async fn staff_session(
        &self,
        token: &TokenHash,
    ) -> Result<Option<StaffSession>, StaffStoreError>;

    /// Records a request made with a session.
    async fn touch_session(
        &self,
        token: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError>;

    /// Ends a session (signing out); ending one that does not exist is no error.
    async fn end_session(&self, token: &TokenHash) -> Result<(), StaffStoreError>;

    /// Ends every session of a member (a new password, a member removed).
    async fn end_sessions_of(
        &self,
        business: &BusinessId,
        staff: &StaffId,
    ) -> Result<(), StaffStoreError>;

    /// Removes a member at `at`, in one step: marks them removed (they stay listed, so that
    /// the payment history keeps their name), ends their sessions and drops their invitation.
    /// Refused with [`StaffRemoval::LastOwner`] when they are the business's last owner not
    /// removed; the check and the write are one step, so that two owners removing each other
    /// at once never leave the business without one.
    async fn remove_staff(
        &self,
        business: &BusinessId,
        id: &StaffId,
        at: DateTime<Utc>,
    ) -> Result<StaffRemoval, StaffStoreError>;

    /// Deletes, across businesses, the sessions last seen at or before `seen_by` or made at or
    /// before `made_by`, and the invitations expired at or before `now`: none of them can be
    /// used any more.
    async fn purge_staff_tokens(
        &self,
        seen_by: DateTime<Utc>,
        made_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<StaffPurge, StaffStoreError>;
}

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordHashError(pub String);

/// Hashes and checks passwords (argon2id in the console). Slow by design: an implementation
/// runs the work off the async threads.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash of `password`, with a fresh salt, as a PHC string.
    ///
    /// # Errors
    /// [`PasswordHashError`] when the hasher fails (its parameters, memory).
    async fn hash(&self, password: &str) -> Result<String, PasswordHashError>;

    /// True when `password` is the one `hash` was made from; a hash that cannot be read is no
    /// match. `None` (no such member, or no password set yet) takes as long as a real check
    /// and is no match, so that the time of an answer does not tell which addresses exist.
    async fn verify(&self, password: &str, hash: Option<&str>) -> bool;
}
