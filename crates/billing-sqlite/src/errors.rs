//! The writer's and the read pool's "unavailable" as each port's error.

use billing_core::ports::{
    BusinessesError, DirectoryError, LedgerError, LinkStoreError, NotificationLogError,
    PortalStoreError, ScheduleError, StaffStoreError,
};

use crate::writer::Unavailable;

impl From<Unavailable> for LedgerError {
    fn from(error: Unavailable) -> Self {
        LedgerError::Unavailable(error.0)
    }
}

impl From<Unavailable> for DirectoryError {
    fn from(error: Unavailable) -> Self {
        DirectoryError::Unavailable(error.0)
    }
}

impl From<Unavailable> for BusinessesError {
    fn from(error: Unavailable) -> Self {
        BusinessesError::Unavailable(error.0)
    }
}

impl From<Unavailable> for LinkStoreError {
    fn from(error: Unavailable) -> Self {
        LinkStoreError::Unavailable(error.0)
    }
}

impl From<Unavailable> for NotificationLogError {
    fn from(error: Unavailable) -> Self {
        NotificationLogError::Unavailable(error.0)
    }
}

impl From<Unavailable> for ScheduleError {
    fn from(error: Unavailable) -> Self {
        ScheduleError::Unavailable(error.0)
    }
}

impl From<Unavailable> for StaffStoreError {
    fn from(error: Unavailable) -> Self {
        StaffStoreError::Unavailable(error.0)
    }
}

impl From<Unavailable> for PortalStoreError {
    fn from(error: Unavailable) -> Self {
        PortalStoreError::Unavailable(error.0)
    }
}
