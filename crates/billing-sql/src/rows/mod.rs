//! The rows both databases read back, decoded into the core's types, and the columns they are
//! written from. Times are read as `DateTime<Utc>` (Postgres `timestamptz`; SQLite RFC 3339
//! text, which sqlx reads the same); each adapter binds them as its database keeps them.

mod api_keys;
mod connect;
mod directory;
mod links;
mod notifications;
mod portal;
mod schedules;
mod staff;
mod summary;

pub use api_keys::{API_KEY_COLUMNS, ApiKeyRow};
pub use connect::{CONNECTED_ACCOUNT_COLUMNS, ConnectedAccountRow, requirements_column};
pub use directory::{BusinessRow, CardRow, CustomerRow, stored_phone};
pub use links::{LINK_COLUMNS, LinkRow, PurposeColumns, StateColumns, checkout_column};
pub use notifications::{
    ClaimedRow, NOTIFICATION_COLUMNS, NotificationRow, carrier_report_advances, stored_keys,
};
pub use portal::{PORTAL_PASS_COLUMNS, PortalPassRow};
pub use schedules::{
    RUN_COLUMNS, RunRow, SCHEDULE_COLUMNS, ScheduleColumns, ScheduleRow, SettingsRow, StoredBody,
    TakenRow,
};
pub use staff::{InvitationRow, SESSION_COLUMNS, STAFF_COLUMNS, SessionRow, StaffRow};
pub use summary::{SUMMARY_COLUMNS, SummaryColumns, SummaryRow};

use crate::StoredRowError;

/// An id of any kind, checked as it is read back.
fn id<T: TryFrom<String>>(what: &'static str, text: &str) -> Result<T, StoredRowError>
where
    T::Error: std::fmt::Display,
{
    T::try_from(text.to_owned()).map_err(|e| StoredRowError::new(what, e))
}

/// Money in integer minor units, as both databases keep it.
pub fn minor(money: &billing_core::money::Money) -> Result<i64, StoredRowError> {
    money
        .to_minor()
        .map_err(|e| StoredRowError::new("money to store", format!("{money}: {e}")))
}
