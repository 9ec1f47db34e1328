use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The time. The core never reads the system clock itself, nor sleeps on its own, so tests and
/// replays control time. Reading the time cannot fail, so this port has no error type.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Waits until `at`; at once when it has passed. The system clock sleeps; a test clock
    /// moves itself to `at`, so that days pass in milliseconds.
    async fn sleep_until(&self, at: DateTime<Utc>);
}
