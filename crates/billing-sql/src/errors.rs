//! sqlx errors as the ports' errors: rows that do not decode are "corrupt"; everything else (I/O,
//! the pool, a refused statement) is "unavailable".

use billing_core::ports::{
    BusinessesError, DirectoryError, LedgerError, LinkStoreError, NotificationLogError,
    PortalStoreError, ScheduleError, StaffStoreError,
};

/// True when the error says a row could not be decoded.
fn undecodable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::TypeNotFound { .. }
    )
}

/// True when the error is a UNIQUE or PRIMARY KEY violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// The ledger's error.
pub fn ledger_error(error: sqlx::Error) -> LedgerError {
    if undecodable(&error) {
        LedgerError::Corrupt(error.to_string())
    } else {
        LedgerError::Unavailable(error.to_string())
    }
}

/// The link store's error.
pub fn link_error(error: sqlx::Error) -> LinkStoreError {
    if undecodable(&error) {
        LinkStoreError::Corrupt(error.to_string())
    } else {
        LinkStoreError::Unavailable(error.to_string())
    }
}

/// The portal pass store's error.
pub fn portal_error(error: sqlx::Error) -> PortalStoreError {
    if undecodable(&error) {
        PortalStoreError::Corrupt(error.to_string())
    } else {
        PortalStoreError::Unavailable(error.to_string())
    }
}

/// The notification log's error.
pub fn notification_error(error: sqlx::Error) -> NotificationLogError {
    if undecodable(&error) {
        NotificationLogError::Corrupt(error.to_string())
    } else {
        NotificationLogError::Unavailable(error.to_string())
    }
}

/// The schedule store's error.
pub fn schedule_error(error: sqlx::Error) -> ScheduleError {
    if undecodable(&error) {
        ScheduleError::Corrupt(error.to_string())
    } else {
        ScheduleError::Unavailable(error.to_string())
    }
}

/// The staff store's error.
pub fn staff_error(error: sqlx::Error) -> StaffStoreError {
    if undecodable(&error) {
        StaffStoreError::Corrupt(error.to_string())
    } else {
        StaffStoreError::Unavailable(error.to_string())
    }
}

/// The customer directory's error.
pub fn directory_error(error: sqlx::Error) -> DirectoryError {
    DirectoryError::Unavailable(error.to_string())
}

/// The business store's error.
pub fn businesses_error(error: sqlx::Error) -> BusinessesError {
    BusinessesError::Unavailable(error.to_string())
}
