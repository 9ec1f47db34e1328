//! Businesses (the tenants) and their API keys.

use std::fmt;

use sha2::{Digest, Sha256};

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{ApiKeyId, BusinessId};
use crate::notification::is_plain_address;
use crate::ports::{ApiKeyRecord, BusinessesError, KeyRevocation};

/// The label of a business's first key, and of keys made before keys had labels.
pub const FIRST_KEY_LABEL: &str = "API key";

/// The longest label of an API key, in characters.
pub const MAX_KEY_LABEL_CHARS: usize = 100;

/// A business to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBusiness {
    /// Its name, as customers see it: 1 to 200 characters.
    pub name: String,
    /// Its id; made from the name and a random suffix when absent
    /// (`Sparkle Home Cleaning` → `sparkle-home-cleaning-3f9a1c`).
    pub id: Option<BusinessId>,
    /// Its connected Stripe account (`acct_...`), which the platform acts on.
    pub gateway_account: Option<String>,
    /// Where notices to the business go.
    pub email: Option<String>,
    /// Give it a live key (`bk_live_...`) rather than a test key (`bk_test_...`).
    pub live: bool,
}

/// An API key in clear, as it is shown once when made: only its SHA-256 hash is stored. Its
/// `Debug` form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<secret>)")
    }
}

impl ApiKey {
    /// A key of 32 random bytes in hex behind `bk_live_` or `bk_test_`: the prefix tells a
    /// person (and a secret scanner) what the key is.
    fn from_random(bytes: [u8; 32], live: bool) -> ApiKey {
        let prefix = if live { "bk_live_" } else { "bk_test_" };
        ApiKey(format!("{prefix}{}", hex(&bytes)))
    }

    /// The key's text, to hand to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of a key's text in lower-case hex: the only form in which keys are stored.
    pub fn hash_of(key: &str) -> String {
        hex(&Sha256::digest(key.as_bytes()))
    }

    /// What recognises the key without revealing it: its kind and its last four characters
    /// (`bk_test_…3f9a`; 16 of its 256 random bits).
    pub fn hint(&self) -> String {
        let text = &self.0;
        let kind = text.get(..8).unwrap_or_default();
        let last = text.get(text.len().saturating_sub(4)..).unwrap_or_default();
        format!("{kind}…{last}")
    }

    /// True for a live key (`bk_live_...`).
    pub fn is_live(&self) -> bool {
        self.0.starts_with("bk_live_")
    }
}

/// An API key to make for a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// What the business calls it ("Booking site"): 1 to 100 characters.
    pub label: String,
    /// A live key (`bk_live_...`) rather than a test key (`bk_test_...`).
    pub live: bool,
}

/// An API key just made: its record, and its text, shown now and never again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedApiKey {
    /// The key as it is listed.
    pub record: ApiKeyRecord,
    /// Its text (only its hash is kept).
    pub key: ApiKey,
}

/// A key's label, trimmed: 1 to 100 characters, no control characters.
fn key_label(label: &str) -> Result<String, BillingError> {
    let label = label.trim();
    let chars = label.chars().count();
    if chars == 0 || chars > MAX_KEY_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(BillingError::InvalidInput(
            "an API key's label has 1 to 100 characters",
        ));
    }
    Ok(label.to_owned())
}

/// A business just made, with its first API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedApiKey {
    /// The business.
    pub business: Business,
    /// Its key, in clear: shown now, never again.
    pub key: ApiKey,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A business id from its name and a random suffix: readable in logs, never the same twice.
fn id_for(name: &str, random: [u8; 32]) -> Result<BusinessId, BillingError> {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let suffix = hex(&random[..3]);
    let id = if slug.is_empty() {
        format!("biz-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    };
    BusinessId::new(id).map_err(|_| BillingError::InvalidInput("the business id is not valid"))
}

impl Billing {
    /// Creates a business with its first API key, checking what it is given: a name of 1 to
    /// 200 characters, a Stripe account id (`acct_...`), an email address.
    pub async fn create_business(&self, new: NewBusiness) -> Result<IssuedApiKey, BillingError> {
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(BillingError::InvalidInput(
                "a business name has 1 to 200 characters",
            ));
        }
        if new
            .gateway_account
            .as_deref()
            .is_some_and(|a| !a.starts_with("acct_") || a.len() > 255)
        {
            return Err(BillingError::InvalidInput(
                "a connected account is a Stripe account id (acct_...)",
            ));
        }
        if new.email.as_deref().is_some_and(|e| !is_plain_address(e)) {
            return Err(BillingError::InvalidInput("the email address is not valid"));
        }
        let id = match new.id {
            Some(id) => id,
            None => id_for(&name, self.secrets.secret_bytes())?,
        };
        let business = Business {
            id,
            name,
            gateway_account: new.gateway_account,
            email: new.email,
        };
        let key = ApiKey::from_random(self.secrets.secret_bytes(), new.live);
        let record = self.key_record(FIRST_KEY_LABEL.to_owned(), &key);
        match self
            .store
            .create_business(&business, &record, &ApiKey::hash_of(key.expose()))
            .await
        {
            Ok(()) => Ok(IssuedApiKey { business, key }),
            Err(BusinessesError::AlreadyExists(id)) => Err(BillingError::BusinessExists(id)),
            Err(other) => Err(other.into()),
        }
    }

    /// The business an API key belongs to, `None` for a key of no business.
    pub async fn business_for_api_key(&self, key: &str) -> Result<Option<Business>, BillingError> {
        Ok(self
            .store
            .business_by_key_hash(&ApiKey::hash_of(key))
            .await?)
    }

    /// Every business, by id (for work across businesses: the reconciler, automation).
    pub async fn businesses(&self) -> Result<Vec<Business>, BillingError> {
        Ok(self.store.list_businesses().await?)
    }

    /// Makes another API key for a business (to rotate keys, or one per client): its text is
    /// in the answer, this once. The label is checked first: 1 to 100 characters.
    pub async fn create_api_key(
        &self,
        business: &Business,
        new: NewApiKey,
    ) -> Result<CreatedApiKey, BillingError> {
        let label = key_label(&new.label)?;
        let key = ApiKey::from_random(self.secrets.secret_bytes(), new.live);
        let record = self.key_record(label, &key);
        let added = self
            .store
            .add_api_key(&business.id, &record, &ApiKey::hash_of(key.expose()))
            .await?;
        if !added {
            return Err(BillingError::Inconsistent(format!(
                "a key for unknown business {}",
                business.id
            )));
        }
        Ok(CreatedApiKey { record, key })
    }

    /// A business's API keys, revoked ones included, oldest first: never their text.
    pub async fn api_keys(&self, business: &Business) -> Result<Vec<ApiKeyRecord>, BillingError> {
        Ok(self.store.api_keys(&business.id).await?)
    }

    /// Revokes a business's API key: from now on it authenticates nothing. Revoking a revoked
    /// key again changes nothing. [`BillingError::LastApiKey`] for the business's last active
    /// key (nothing changes: make another first), [`BillingError::ApiKeyNotFound`] for a key
    /// of no key of this business.
    pub async fn revoke_api_key(
        &self,
        business: &Business,
        key: &ApiKeyId,
    ) -> Result<ApiKeyRecord, BillingError> {
        match self
            .store
            .revoke_api_key(&business.id, key, self.now())
            .await?
        {
            KeyRevocation::Revoked(record) => Ok(record),
            KeyRevocation::NotFound => Err(BillingError::ApiKeyNotFound(key.clone())),
            KeyRevocation::LastActiveKey => Err(BillingError::LastApiKey),
        }
    }

    /// A new key's record, made now.
    fn key_record(&self, label: String, key: &ApiKey) -> ApiKeyRecord {
        ApiKeyRecord {
            id: self.ids.api_key_id(),
            label,
            hint: Some(key.hint()),
            created_at: self.now(),
            revoked_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_hashed() {
        let key = ApiKey::from_random([7; 32], false);
        assert!(key.expose().starts_with("bk_test_") && key.expose().len() == 8 + 64);
        assert!(
            ApiKey::from_random([7; 32], true)
                .expose()
                .starts_with("bk_live_")
        );
        assert_eq!(format!("{key:?}"), "ApiKey(<secret>)");
        assert_eq!(key.hint(), format!("bk_test_…{}", &key.expose()[68..]));
        assert!(!key.is_live());
        assert_eq!(
            ApiKey::hash_of("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn key_labels_are_trimmed_and_bounded() {
        assert_eq!(key_label("  Booking site "), Ok("Booking site".to_owned()));
        for refused in ["", "   ", "a\nb", &"x".repeat(101)] {
            assert!(key_label(refused).is_err(), "{refused:?}");
        }
        assert!(key_label(&"é".repeat(100)).is_ok(), "characters, not bytes");
    }

    #[test]
    fn business_ids_come_from_names() -> Result<(), BillingError> {
        let id = id_for("Sparkle Home Cleaning!", [0xab; 32])?;
        assert_eq!(id.as_str(), "sparkle-home-cleaning-ababab");
        assert!(id_for("¡¡¡", [1; 32])?.as_str().starts_with("biz-"));
        assert!(id_for(&"x".repeat(200), [1; 32])?.as_str().len() <= 64);
        Ok(())
    }
}
