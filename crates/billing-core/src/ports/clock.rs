use chrono::{DateTime, Utc};

/// The time. The core never reads the system clock itself, so tests and replays control time.
/// Reading the time cannot fail, so this port has no error type.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}
