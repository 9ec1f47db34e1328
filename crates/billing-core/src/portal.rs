//! The customer portal: a page where a customer sees their bookings with what they owe and
//! what they paid, pays what is due, and adds or removes cards — with no login.
//!
//! The way in is a **portal link**, emailed to the customer on request: single use and short
//! lived. Opening it starts a **portal session**, whose token the customer's browser keeps in a
//! cookie: the link in an email (which a mail scanner or a forwarded message may open again)
//! then opens nothing, and the session ends on its own after an hour. Both are [`PortalPass`]es,
//! kept by the hash of their token like a payment link.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::CustomerId;

/// How long an emailed portal link can be opened: long enough to read the email.
pub const PORTAL_LINK_LIFETIME: Duration = Duration::minutes(30);

/// How long a portal session lasts from the link's opening, whatever the customer does: a
/// browser left open on a shared computer does not stay in for good.
pub const PORTAL_SESSION_LIFETIME: Duration = Duration::hours(1);

/// Which of the two a pass is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortalPassKind {
    /// The emailed link: opened once, then it opens nothing.
    Link,
    /// The session the link started, kept in the customer's browser.
    Session,
}

impl PortalPassKind {
    /// `link` or `session`: the stable name stores use.
    pub fn as_str(self) -> &'static str {
        match self {
            PortalPassKind::Link => "link",
            PortalPassKind::Session => "session",
        }
    }

    /// The kind of a stored name, `None` for any other text.
    pub fn parse(name: &str) -> Option<PortalPassKind> {
        match name {
            "link" => Some(PortalPassKind::Link),
            "session" => Some(PortalPassKind::Session),
            _ => None,
        }
    }
}

/// A way into a customer's portal: an emailed link or a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalPass {
    /// Whose portal it opens.
    pub customer: CustomerId,
    /// A link or a session.
    pub kind: PortalPassKind,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When a link was opened (it opens nothing after), or a session ended by the customer
    /// signing out. `None` while unused.
    pub used_at: Option<DateTime<Utc>>,
}

impl PortalPass {
    /// A new, unused pass of `kind` made at `now`, lasting its kind's lifetime.
    pub fn new(customer: CustomerId, kind: PortalPassKind, now: DateTime<Utc>) -> PortalPass {
        let lifetime = match kind {
            PortalPassKind::Link => PORTAL_LINK_LIFETIME,
            PortalPassKind::Session => PORTAL_SESSION_LIFETIME,
        };
        PortalPass {
            customer,
            kind,
            created_at: now,
            expires_at: now + lifetime,
            used_at: None,
        }
    }

    /// True when it still opens the portal at `now`: unused and not expired.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// The token a session's forms carry (against cross-site request forgery): a hash of the
/// session's own token, so that it needs no storage and tells nothing of the token, and
/// differs from the hash the store keeps.
pub fn form_token(session_token: &str) -> String {
    Sha256::digest(format!("portal form|{session_token}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True when a form's token is the session's, compared in constant time.
pub fn form_token_matches(session_token: &str, given: &str) -> bool {
    form_token(session_token)
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_works_until_it_is_used_or_expires() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let customer = CustomerId::new("c-1").expect("an id");
        let link = PortalPass::new(customer.clone(), PortalPassKind::Link, now);
        assert_eq!(link.expires_at, now + PORTAL_LINK_LIFETIME);
        assert!(link.is_usable(now + PORTAL_LINK_LIFETIME - Duration::seconds(1)));
        assert!(!link.is_usable(now + PORTAL_LINK_LIFETIME));
        let used = PortalPass {
            used_at: Some(now),
            ..link
        };
        assert!(!used.is_usable(now));
        let session = PortalPass::new(customer, PortalPassKind::Session, now);
        assert_eq!(session.expires_at, now + PORTAL_SESSION_LIFETIME);
    }

    #[test]
    fn a_form_token_is_its_sessions_alone() {
        let token = form_token("session-a");
        assert_eq!(token.len(), 64);
        assert!(form_token_matches("session-a", &token));
        assert!(!form_token_matches("session-b", &token));
        assert!(!form_token_matches("session-a", ""));
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in [PortalPassKind::Link, PortalPassKind::Session] {
            assert_eq!(PortalPassKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(PortalPassKind::parse("Link"), None);
    }
}
