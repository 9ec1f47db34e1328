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
    /// When the link is a booking page's checkout: the booking, what the page does, and where
    /// it sends the customer back.
    pub checkout: Option<Checkout>,
    /// When staff opened the link themselves to type a customer's card at the desk: the page
    /// of this service its last page offers to go back to.
    pub desk_return: Option<DeskReturn>,
}

/// A page of this service that staff go back to once they have used a link at the desk: a
/// path on the same origin, never an address elsewhere, so that no link sends anyone off
/// the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskReturn(String);

impl DeskReturn {
    /// The longest path kept.
    pub const MAX_LEN: usize = 512;

    /// A path (`/console/customers/c-1`): it starts with one `/` (not `//` or `/\`, which
    /// browsers read as another host), is at most [`DeskReturn::MAX_LEN`] bytes, and has only
    /// visible ASCII characters. `None` otherwise.
    pub fn parse(path: &str) -> Option<DeskReturn> {
        let rest = path.strip_prefix('/')?;
        let off_site = rest.starts_with('/') || rest.starts_with('\\');
        let plain = path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
        (!off_site && plain && path.len() <= Self::MAX_LEN).then(|| DeskReturn(path.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
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

/// What a checkout's page does with the customer's card, by the booking's payment policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutStep {
    /// Charge what is due at booking (the deposit, or all of it), and keep the card.
    Charge,
    /// Place a hold for the booking's balance, and keep the card.
    Hold,
    /// Only keep the card: the policy takes the money later.
    SaveCard,
}

impl CheckoutStep {
    /// `charge`, `hold` or `save_card`: the stable name stores and the API use.
    pub fn name(self) -> &'static str {
        match self {
            CheckoutStep::Charge => "charge",
            CheckoutStep::Hold => "hold",
            CheckoutStep::SaveCard => "save_card",
        }
    }

    /// The step of a [`CheckoutStep::name`].
    pub fn from_name(name: &str) -> Option<CheckoutStep> {
        [
            CheckoutStep::Charge,
            CheckoutStep::Hold,
            CheckoutStep::SaveCard,
        ]
        .into_iter()
        .find(|step| step.name() == name)
    }
}

/// A booking page's checkout: a link that pays, holds or saves a card for one booking as its
/// payment policy says, then sends the customer back to the business's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The booking checked out.
    pub booking: BookingId,
    /// What the page does.
    pub step: CheckoutStep,
    /// Where the customer goes back to, and the only page that may embed the checkout.
    pub return_url: ReturnUrl,
}

/// Why a return URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnUrlError {
    /// Not an absolute URL.
    #[error("a return URL is an absolute URL: {0}")]
    Unparsable(String),
    /// Not `https` (plain `http` only to this machine, for development).
    #[error("a return URL uses https (http only for localhost)")]
    NotHttps,
    /// It carries a user name or password.
    #[error("a return URL carries no user name or password")]
    HasCredentials,
    /// Longer than 2,000 characters.
    #[error("a return URL has at most 2000 characters")]
    TooLong,
}

/// The business's page a checkout returns to: an absolute `https` URL (`http` to
/// `localhost`, `127.0.0.1` or `[::1]` only) without credentials. Its origin is the one page
/// allowed to frame the checkout and to receive its result message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrl(url::Url);

/// The longest return URL accepted.
const MAX_RETURN_URL: usize = 2_000;

impl ReturnUrl {
    /// A return URL as the business gave it.
    ///
    /// # Errors
    /// [`ReturnUrlError`] when it is not an absolute `https` URL without credentials.
    pub fn parse(text: &str) -> Result<ReturnUrl, ReturnUrlError> {
        if text.len() > MAX_RETURN_URL {
            return Err(ReturnUrlError::TooLong);
        }
        let url = url::Url::parse(text).map_err(|e| ReturnUrlError::Unparsable(e.to_string()))?;
        let local = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "http" if local => {}
            _ => return Err(ReturnUrlError::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ReturnUrlError::HasCredentials);
        }
        Ok(ReturnUrl(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Its origin (`https://shop.example`), as a Content-Security-Policy source and a
    /// `postMessage` target.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The URL with the checkout's result added to its query: `checkout` (the link's id) and
    /// `result` (`paid`, `authorized` or `card_saved`). The business's page reads them as a
    /// hint only, and asks the API how the booking stands.
    pub fn with_result(&self, checkout: &LinkId, result: &str) -> String {
        let mut url = self.0.clone();
        url.query_pairs_mut()
            .append_pair("checkout", checkout.as_str())
            .append_pair("result", result);
        url.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desk_returns_stay_on_this_site() {
        let back = DeskReturn::parse("/console/customers/c-1?result=x").expect("a path");
        assert_eq!(back.as_str(), "/console/customers/c-1?result=x");
        for refused in [
            "",
            "console",
            "//evil.example/",
            "/\\evil.example",
            "/a\\b",
            "https://evil.example/",
            "/with space",
            "/new\nline",
        ] {
            assert_eq!(DeskReturn::parse(refused), None, "{refused:?}");
        }
        let long = format!("/{}", "a".repeat(DeskReturn::MAX_LEN));
        assert_eq!(DeskReturn::parse(&long), None);
    }

    proptest::proptest! {
        #[test]
        fn a_desk_return_never_names_another_host(path in "\\PC{0,40}") {
            if let Some(back) = DeskReturn::parse(&path) {
                let joined = url::Url::parse("https://billing.example/")
                    .and_then(|base| base.join(back.as_str()));
                let host = joined.ok().and_then(|u| u.host_str().map(str::to_owned));
                proptest::prop_assert_eq!(host.as_deref(), Some("billing.example"));
            }
        }
    }

    #[test]
    fn return_urls_are_https_without_credentials() {
        let ok = ReturnUrl::parse("https://shop.example/booked?id=7").expect("https");
        assert_eq!(ok.origin(), "https://shop.example");
        assert_eq!(
            ok.with_result(&LinkId::new("lnk_1").expect("id"), "paid"),
            "https://shop.example/booked?id=7&checkout=lnk_1&result=paid"
        );
        let local = ReturnUrl::parse("http://127.0.0.1:8080/done").expect("loopback");
        assert_eq!(local.origin(), "http://127.0.0.1:8080");
        assert!(ReturnUrl::parse("http://localhost/done").is_ok());
        assert_eq!(
            ReturnUrl::parse("http://shop.example/"),
            Err(ReturnUrlError::NotHttps)
        );
        assert_eq!(
            ReturnUrl::parse("javascript:alert(1)"),
            Err(ReturnUrlError::NotHttps)
        );
        assert_eq!(
            ReturnUrl::parse("https://me:pw@shop.example/"),
            Err(ReturnUrlError::HasCredentials)
        );
        assert!(matches!(
            ReturnUrl::parse("/relative"),
            Err(ReturnUrlError::Unparsable(_))
        ));
        let long = format!("https://shop.example/{}", "a".repeat(MAX_RETURN_URL));
        assert_eq!(ReturnUrl::parse(&long), Err(ReturnUrlError::TooLong));
    }

    #[test]
    fn checkout_steps_round_trip_through_their_names() {
        for step in [
            CheckoutStep::Charge,
            CheckoutStep::Hold,
            CheckoutStep::SaveCard,
        ] {
            assert_eq!(CheckoutStep::from_name(step.name()), Some(step));
        }
        assert_eq!(CheckoutStep::from_name("refund"), None);
    }

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
