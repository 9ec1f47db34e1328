//! Portal links, as staff (or the business's own site) ask for them.

use billing_core::billing::PortalLinkSent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::yes;

/// Send a customer a link into their portal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalLinkRequest {
    /// Email the link to the customer (default true).
    #[serde(default = "yes")]
    pub send_email: bool,
    /// Text the link to the customer's phone number (default false).
    #[serde(default)]
    pub send_text: bool,
}

/// A portal link sent. Its URL is in the email or text alone: whoever asks for a link
/// cannot open the customer's portal with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortalLinkSentJson {
    /// When the link stops working (it also works once).
    pub expires_at: DateTime<Utc>,
    /// The email queued with it, if one was asked for.
    pub notification_id: Option<String>,
    /// The text queued with it, if one was asked for.
    pub text_notification_id: Option<String>,
}

impl From<&PortalLinkSent> for PortalLinkSentJson {
    fn from(sent: &PortalLinkSent) -> Self {
        PortalLinkSentJson {
            expires_at: sent.expires_at,
            notification_id: sent.notification.as_ref().map(|n| n.id.to_string()),
            text_notification_id: sent.text.as_ref().map(|n| n.id.to_string()),
        }
    }
}
