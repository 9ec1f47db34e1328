//! The customer portal's links and sessions (`portal_passes`), kept by their token's hash.

use billing_core::ids::{BusinessId, CustomerId};
use billing_core::link::TokenHash;
use billing_core::portal::{PortalPass, PortalPassKind};
use billing_core::ports::PortalPassByToken;
use chrono::{DateTime, Utc};

use super::id;
use crate::StoredRowError;

const WHAT: &str = "stored portal pass";

/// The columns [`PortalPassRow`] reads, in a SELECT list.
pub const PORTAL_PASS_COLUMNS: &str =
    "token_hash, business_id, customer_id, kind, created_at, expires_at, used_at";

/// A portal pass row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct PortalPassRow {
    token_hash: String,
    business_id: String,
    customer_id: String,
    kind: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl PortalPassRow {
    /// The pass with whose it is and its token's hash.
    pub fn into_by_token(self) -> Result<PortalPassByToken, StoredRowError> {
        let kind = PortalPassKind::parse(&self.kind)
            .ok_or_else(|| StoredRowError::new(WHAT, format!("unknown kind {:?}", self.kind)))?;
        Ok(PortalPassByToken {
            business: id::<BusinessId>(WHAT, &self.business_id)?,
            pass: PortalPass {
                customer: id::<CustomerId>(WHAT, &self.customer_id)?,
                kind,
                created_at: self.created_at,
                expires_at: self.expires_at,
                used_at: self.used_at,
            },
            token_hash: TokenHash::from_hex(&self.token_hash).ok_or_else(|| {
                StoredRowError::new(WHAT, "a token hash of other than 64 hex digits")
            })?,
        })
    }
}
