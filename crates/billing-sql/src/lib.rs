//! # billing-sql
//!
//! What the SQL stores of the billing engine (`billing-sqlite`, `billing-postgres`) share, so
//! that each adapter holds only what differs between the two databases — its SQL, its
//! transactions and its connection handling:
//!
//! - [`formats`]: the JSON formats of stored rows (a booking's billing view, a ledger entry, a
//!   command's first answer, automation's settings, schedules and runs), versioned and apart
//!   from the core's types, so that renaming a field in the core never makes an old row
//!   unreadable. Rows written by earlier versions are kept as fixtures in `tests/fixtures/`
//!   and read by a test.
//! - [`rows`]: the rows both databases read back (summaries, links, notifications, customers,
//!   cards, businesses, automation's settings, schedules and runs, staff members, their
//!   invitations and sessions, the customer portal's passes), decoded into the core's types,
//!   and the columns they are written from.
//! - [`errors`]: sqlx errors as the ports' errors.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod errors;
pub mod formats;
pub mod rows;

use std::fmt;

/// A stored row that does not read back as what it should be (corrupt, or written by a newer
/// build); adapters report it as their port's "corrupt" error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRowError {
    what: &'static str,
    message: String,
}

impl StoredRowError {
    /// What could not be read, and why.
    pub fn new(what: &'static str, message: impl fmt::Display) -> Self {
        StoredRowError {
            what,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for StoredRowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.message)
    }
}

impl std::error::Error for StoredRowError {}

impl From<StoredRowError> for billing_core::ports::LedgerError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::LedgerError::Corrupt(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::LinkStoreError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::LinkStoreError::Corrupt(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::PortalStoreError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::PortalStoreError::Corrupt(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::NotificationLogError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::NotificationLogError::Corrupt(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::ScheduleError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::ScheduleError::Corrupt(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::StaffStoreError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::StaffStoreError::Corrupt(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::DirectoryError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::DirectoryError::Unavailable(error.to_string())
    }
}

impl From<StoredRowError> for billing_core::ports::BusinessesError {
    fn from(error: StoredRowError) -> Self {
        billing_core::ports::BusinessesError::Unavailable(error.to_string())
    }
}
