//! Passwords hashed with argon2id (OWASP's parameters: 19 MiB, 2 passes, 1 lane), on a
//! blocking thread: a hash takes tens of milliseconds of one core.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use billing_core::ports::{PasswordHashError, PasswordHasher};

/// The console's password hasher: argon2id.
#[derive(Debug, Default, Clone, Copy)]
pub struct Argon2Passwords;

fn argon2() -> Result<Argon2<'static>, PasswordHashError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordHashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &str) -> Result<String, PasswordHashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordHashError(e.to_string()))
}

/// A hash of nothing anyone typed, checked when there is no account, so that an unknown
/// address costs as much time as a wrong password.
fn stand_in() -> Option<&'static str> {
    static STAND_IN: OnceLock<Option<String>> = OnceLock::new();
    STAND_IN
        .get_or_init(|| hash_now("no account has this password").ok())
        .as_deref()
}

fn verify_now(password: &str, hash: Option<&str>) -> bool {
    let Ok(argon2) = argon2() else {
        return false;
    };
    match hash {
        Some(hash) => PasswordHash::new(hash)
            .is_ok_and(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok()),
        None => {
            if let Some(parsed) = stand_in().and_then(|h| PasswordHash::new(h).ok()) {
                let _same_time = argon2.verify_password(password.as_bytes(), &parsed);
            }
            false
        }
    }
}

#[async_trait]
impl PasswordHasher for Argon2Passwords {
    async fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_now(&password))
            .await
            .map_err(|e| PasswordHashError(e.to_string()))?
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let (password, hash) = (password.to_owned(), hash.map(str::to_owned));
        tokio::task::spawn_blocking(move || verify_now(&password, hash.as_deref()))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_checked() {
        let hasher = Argon2Passwords;
        let one = hasher.hash("correct horse battery").await.expect("hashed");
        let two = hasher.hash("correct horse battery").await.expect("hashed");
        assert!(one.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{one}");
        assert_ne!(one, two, "a fresh salt each time");
        assert!(hasher.verify("correct horse battery", Some(&one)).await);
        assert!(!hasher.verify("correct horse batterY", Some(&one)).await);
        assert!(!hasher.verify("correct horse battery", None).await);
        assert!(!hasher.verify("anything", Some("not a hash")).await);
    }
}
