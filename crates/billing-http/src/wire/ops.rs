//! Operations and webhooks: health, and the acknowledgement of a gateway event.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A webhook delivery's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAck {
    /// Always true: the delivery was accepted.
    pub received: bool,
    /// `reconciled`, `ignored` or `duplicate`.
    pub outcome: String,
}

/// The service's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthJson {
    /// `ok`, or `unavailable`.
    pub status: String,
}
