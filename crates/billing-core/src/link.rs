//! Payment links and card requests: what staff send a customer so that they pay, or save a card,
//! on a hosted page, with no login.
//!
//! A link is reached through a secret [`LinkToken`]. Only the token's SHA-256 hash
//! ([`TokenHash`]) is stored, so that a leaked database does not open anyone's links. The token
//! has 256 random bits from the OS generator (through the
//! [`SecretSource`](crate::ports::SecretSource) port): it cannot be guessed, so looking a hash
//! up by equality in an index leaks nothing useful, and the core compares the found hash with
//! the computed one in constant time as well.

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{BookingId, CustomerId, LinkId, PaymentId};
use crate::money::Money;

/// The secret part of a link's URL: 32 random bytes, written as 43 base64url characters.
/// Its `Debug` form hides it, so that it never lands in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(<secret>)")
    }
}

/// The number of characters of a token's text.
pub const TOKEN_CHARS: usize = 43;

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl LinkToken {
    /// The token made of these random bytes (unpadded base64url).
    pub fn from_random(bytes: [u8; 32]) -> LinkToken {
        let mut text = String::with_capacity(TOKEN_CHARS);
        let mut bits: u32 = 0;
        let mut held = 0;
        for byte in bytes {
            bits = (bits << 8) | u32::from(byte);
            held += 8;
            while held >= 6 {
                held -= 6;
                text.push(char::from(BASE64URL[((bits >> held) & 63) as usize]));
            }
        }
        if held > 0 {
            text.push(char::from(BASE64URL[((bits << (6 - held)) & 63) as usize]));
        }
        LinkToken(text)
    }

    /// A token as it came in a URL, or `None` when it cannot be one (wrong length or
    /// characters): such a request is answered like an unknown token, without a lookup.
    pub fn parse(text: &str) -> Option<LinkToken> {
        let valid = text.len() == TOKEN_CHARS && text.bytes().all(|b| BASE64URL.contains(&b));
        valid.then(|| LinkToken(text.to_owned()))
    }

    /// The token's text, to put in a URL.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its hash: what the store keeps.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

/// The SHA-256 hash of a [`LinkToken`], the only form in which a store keeps it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

impl TokenHash {
    /// The hash as 64 lowercase hex digits (how stores keep it).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The hash written by [`TokenHash::to_hex`], or `None`.
    pub fn from_hex(text: &str) -> Option<TokenHash> {
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0_u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(TokenHash(bytes))
    }

    /// True when both hashes are equal, in time that does not depend on where they differ.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// What the customer does on a link's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Pay `amount`, shared across the bookings as each share says.
    Payment {
        /// What the link asks for in all.
        amount: Money,
        /// Each booking, with its share and the balance it owed when the link was made.
        bookings: Vec<LinkedBooking>,
    },
    /// Save a card for later charges.
    CardRequest,
}

/// A booking paid through a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedBooking {
    /// The booking.
    pub booking: BookingId,
    /// The part of the link's amount that goes to it.
    pub amount: Money,
    /// Its balance due when the link was made. Any other balance at payment time means its
    /// price or payments changed, and the link is refused: it no longer says the right amount.
    pub balance_due: Money,
}

/// Where a link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting for the customer (unless it has expired).
    Open,
    /// The customer paid (`payment`) or saved a card (`card`). Final: a link is used once.
    Completed {
        /// When.
        at: DateTime<Utc>,
        /// The payment made, for a payment link.
        payment: Option<PaymentId>,
        /// The card saved (its payment method id), if any.
        card: Option<String>,
    },
    /// Staff canceled it. Final.
    Canceled {
        /// When.
        at: DateTime<Utc>,
    },
}

impl LinkState {
    /// `open`, `completed` or `canceled`: the stable name stores use.
    pub fn name(&self) -> &'static str {
        match self {
            LinkState::Open => "open",
            LinkState::Completed { .. } => "completed",
            LinkState::Canceled { .. } => "canceled",
        }
    }
}

/// A payment link or card request of a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLink {
    /// Its id (not secret: staff use it to read or cancel the link).
    pub id: LinkId,
    /// The customer it was sent to.
    pub customer: CustomerId,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Where it stands.
    pub state: LinkState,
}

impl PaymentLink {
    /// True when the customer can still use it at `now`: open and not expired.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.state == LinkState::Open && now < self.expires_at
    }

    /// The bookings it pays (none for a card request).
    pub fn bookings(&self) -> Vec<BookingId> {
        match &self.purpose {
            LinkPurpose::Payment { bookings, .. } => {
                bookings.iter().map(|b| b.booking.clone()).collect()
            }
            LinkPurpose::CardRequest => Vec::new(),
        }
    }

    /// Where it stands at `now`, as staff read it: `expired` for an open link past its time.
    pub fn status_name(&self, now: DateTime<Utc>) -> &'static str {
        if self.state == LinkState::Open && now >= self.expires_at {
            "expired"
        } else {
            self.state.name()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_that_parse_back() {
        for seed in [0_u8, 1, 0x7f, 0xff] {
            let token = LinkToken::from_random([seed; 32]);
            assert_eq!(token.expose().len(), TOKEN_CHARS);
            assert_eq!(LinkToken::parse(token.expose()), Some(token.clone()));
        }
        assert_eq!(
            LinkToken::from_random([0; 32]).expose(),
            "A".repeat(TOKEN_CHARS)
        );
        // 0xff.. is all ones: every full sextet is '_', the last 4 bits padded with zeros.
        let ones = LinkToken::from_random([0xff; 32]);
        assert_eq!(&ones.expose()[..42], "_".repeat(42));
        assert_eq!(&ones.expose()[42..], "8");
    }

    #[test]
    fn malformed_tokens_are_refused_without_a_lookup() {
        assert_eq!(LinkToken::parse(""), None);
        assert_eq!(LinkToken::parse(&"A".repeat(42)), None);
        assert_eq!(LinkToken::parse(&"A".repeat(44)), None);
        assert_eq!(LinkToken::parse(&format!("{}=", "A".repeat(42))), None);
        assert_eq!(LinkToken::parse(&format!("{}/", "A".repeat(42))), None);
    }

    #[test]
    fn hashes_round_trip_through_hex_and_compare() {
        let a = LinkToken::from_random([7; 32]).hash();
        let b = LinkToken::from_random([8; 32]).hash();
        assert_eq!(TokenHash::from_hex(&a.to_hex()), Some(a));
        assert!(a.matches(&a));
        assert!(!a.matches(&b));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_eq!(TokenHash::from_hex(&"g".repeat(64)), None);
        // The debug form of a token never shows it.
        let token = LinkToken::from_random([9; 32]);
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
