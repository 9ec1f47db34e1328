//! API keys and business ids.

use billing_core::ids::BusinessId;
use rand::RngCore;

/// A new API key: 32 random bytes in hex behind `bk_live_` or `bk_test_`. The prefix tells a
/// person (and a secret scanner) what the key is; only its SHA-256 hash is stored.
pub fn new_api_key(live: bool) -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let prefix = if live { "bk_live_" } else { "bk_test_" };
    format!("{prefix}{}", hex::encode(bytes))
}

/// A business id from its name and a random suffix: readable in logs, and never the same twice
/// (`Sparkle Home Cleaning` → `sparkle-home-cleaning-3f9a1c`).
pub fn business_id_for(name: &str) -> BusinessId {
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
    let mut suffix = [0_u8; 3];
    rand::rng().fill_bytes(&mut suffix);
    let suffix = hex::encode(suffix);
    let id = if slug.is_empty() {
        format!("biz-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    };
    BusinessId::new(id).expect("lower-case letters, digits and '-', at most 47 characters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_random() {
        let a = new_api_key(false);
        assert!(a.starts_with("bk_test_") && a.len() == 8 + 64, "{a}");
        assert!(new_api_key(true).starts_with("bk_live_"));
        assert_ne!(a, new_api_key(false));
    }

    #[test]
    fn business_ids_come_from_names() {
        let id = business_id_for("Sparkle Home Cleaning!");
        assert!(id.as_str().starts_with("sparkle-home-cleaning-"), "{id}");
        assert_eq!(id.as_str().len(), "sparkle-home-cleaning-".len() + 6);
        assert!(business_id_for("¡¡¡").as_str().starts_with("biz-"));
        assert!(business_id_for(&"x".repeat(200)).as_str().len() <= 64);
    }
}
