//! A business's API keys (`api_keys`), as listed: never their text, nor here their hash.

use billing_core::ids::ApiKeyId;
use billing_core::ports::ApiKeyRecord;
use chrono::{DateTime, Utc};

use super::id;
use crate::StoredRowError;

/// The columns [`ApiKeyRow`] reads, in a SELECT list.
pub const API_KEY_COLUMNS: &str = "id, label, hint, created_at, revoked_at";

/// An API key row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    id: String,
    label: String,
    hint: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRow {
    /// The key's record.
    pub fn into_record(self) -> Result<ApiKeyRecord, StoredRowError> {
        Ok(ApiKeyRecord {
            id: id::<ApiKeyId>("stored API key", &self.id)?,
            label: self.label,
            hint: self.hint,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn keys_read_back_and_refuse_a_bad_id() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let row = |id: &str| ApiKeyRow {
            id: id.into(),
            label: "API key".into(),
            hint: None,
            created_at: t0,
            revoked_at: Some(t0),
        };
        let record = row("key_1").into_record().expect("read");
        assert_eq!(record.id.as_str(), "key_1");
        assert!(!record.is_active());
        assert!(row("not an id").into_record().is_err());
    }
}
