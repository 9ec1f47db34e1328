//! The people of a business who sign in to the Ops Console: its owners and its staff.
//!
//! A member is added with an email address and a role, and sets a password through a one-time
//! invitation link. Only hashes are kept: the password's (by the [`PasswordHasher`] port,
//! argon2id in the console), and the SHA-256 of every invitation and session token
//! ([`TokenHash`](crate::link::TokenHash)), like payment links' tokens.
//!
//! [`PasswordHasher`]: crate::ports::PasswordHasher

use chrono::{DateTime, Duration, Utc};

use crate::ids::{BusinessId, StaffId};

/// What a member may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// Everything staff do, and refunds, settings, staff and API keys.
    Owner,
    /// Charges, collections, captures, holds and links.
    Staff,
}

impl StaffRole {
    /// `owner` or `staff`: the stable name stores and the CLI use.
    pub fn name(self) -> &'static str {
        match self {
            StaffRole::Owner => "owner",
            StaffRole::Staff => "staff",
        }
    }

    /// The role of a [`StaffRole::name`].
    pub fn from_name(name: &str) -> Option<StaffRole> {
        match name {
            "owner" => Some(StaffRole::Owner),
            "staff" => Some(StaffRole::Staff),
            _ => None,
        }
    }
}

/// A member of a business's staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// Their id (named by the engine).
    pub id: StaffId,
    /// Their sign-in address, lower case: unique across the service.
    pub email: String,
    /// Their name, as the payment history shows who made a move.
    pub name: String,
    /// What they may do.
    pub role: StaffRole,
    /// Their password's hash (a PHC string); `None` until they set one through their
    /// invitation.
    pub password_hash: Option<String>,
    /// When they were added.
    pub created_at: DateTime<Utc>,
    /// When an owner removed them: they can no longer sign in, and stay listed so that the
    /// payment history keeps their name.
    pub removed_at: Option<DateTime<Utc>>,
}

impl StaffMember {
    /// True until they are removed.
    pub fn is_active(&self) -> bool {
        self.removed_at.is_none()
    }
}

/// Why a staff detail is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffError {
    /// Not an email address.
    #[error("not an email address: {0:?}")]
    Email(String),
    /// A name of 1 to 200 characters.
    #[error("a staff member's name has 1 to 200 characters")]
    Name,
    /// A password of 12 to 200 characters.
    #[error("a password has 12 to 200 characters")]
    Password,
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest (a hash costs the same for any length, but a form needs a bound).
pub const MAX_PASSWORD_CHARS: usize = 200;

/// An email address as sign-in compares it: trimmed and in lower case, one `@` with text on
/// both sides, no spaces, at most 254 characters.
///
/// # Errors
/// [`StaffError::Email`] for anything else.
pub fn sign_in_email(text: &str) -> Result<String, StaffError> {
    let email = text.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(StaffError::Email(text.to_owned()))
    }
}

/// A password's length, checked before it is hashed.
///
/// # Errors
/// [`StaffError::Password`] when it has fewer than 12 or more than 200 characters.
pub fn check_password(password: &str) -> Result<(), StaffError> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(StaffError::Password)
    }
}

/// A signed-in member's session, as the store keeps it (under its token's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    /// Whose staff.
    pub business: BusinessId,
    /// Who.
    pub staff: StaffId,
    /// When they signed in.
    pub created_at: DateTime<Utc>,
    /// When they were last seen (a request with it).
    pub last_seen_at: DateTime<Utc>,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ended after this long without a request (2 hours by default).
    pub idle: Duration,
    /// Ended this long after signing in, whatever happens (12 hours by default).
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle: Duration::hours(2),
            absolute: Duration::hours(12),
        }
    }
}

impl StaffSession {
    /// True while the session may be used at `now`.
    pub fn is_live(&self, now: DateTime<Utc>, limits: SessionLimits) -> bool {
        now < self.last_seen_at + limits.idle && now < self.created_at + limits.absolute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_emails_are_trimmed_and_lower_case() {
        assert_eq!(
            sign_in_email("  Ada@Example.COM "),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
        ] {
            assert!(sign_in_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_twelve_to_two_hundred_characters() {
        assert!(check_password("correct horse").is_ok());
        assert_eq!(check_password("short"), Err(StaffError::Password));
        assert!(
            check_password(&"é".repeat(12)).is_ok(),
            "characters, not bytes"
        );
        assert!(check_password(&"a".repeat(201)).is_err());
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let limits = SessionLimits::default();
        let session = StaffSession {
            business: BusinessId::new("acme").expect("id"),
            staff: StaffId::new("stf_1").expect("id"),
            created_at: t0,
            last_seen_at: t0,
        };
        assert!(session.is_live(t0 + Duration::minutes(119), limits));
        assert!(!session.is_live(t0 + Duration::hours(2), limits));
        let busy = StaffSession {
            last_seen_at: t0 + Duration::hours(11) + Duration::minutes(59),
            ..session
        };
        assert!(busy.is_live(t0 + Duration::hours(11) + Duration::minutes(59), limits));
        assert!(!busy.is_live(t0 + Duration::hours(12), limits));
    }
}
