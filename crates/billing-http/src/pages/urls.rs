//! Where the hosted pages are, as the core puts them in emails: this crate serves the pages, so
//! it owns their URL layout.

use billing_core::link::{LinkPurpose, LinkToken};
use billing_core::ports::PageAddresses;

/// The hosted pages' addresses under the configured public base URL: `{base}/pay/{token}` for
/// a payment link, `{base}/cards/{token}` for a card request, and `.../return` under each for
/// the customer's browser coming back from their bank. Give it to the core as
/// [`HostedPages::addresses`](billing_core::billing::HostedPages::addresses).
///
/// The base is the address customers reach this service at (`https://pay.example.com`), from
/// configuration — never from a request's `Host`, which a client controls.
///
/// ```
/// use billing_core::link::{LinkPurpose, LinkToken};
/// use billing_core::ports::PageAddresses;
/// use billing_http::PageUrls;
///
/// let urls = PageUrls::new("https://pay.example.com/");
/// let token = LinkToken::from_random([0; 32]);
/// assert_eq!(
///     urls.link_url(&LinkPurpose::CardRequest, &token),
///     format!("https://pay.example.com/cards/{}", token.expose()),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageUrls {
    base: String,
}

impl PageUrls {
    /// The pages under `base` (a trailing `/` is dropped).
    pub fn new(base: impl Into<String>) -> Self {
        let base = base.into();
        PageUrls {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }
}

impl PageAddresses for PageUrls {
    fn link_url(&self, purpose: &LinkPurpose, token: &LinkToken) -> String {
        let page = match purpose {
            LinkPurpose::Payment { .. } => PAY,
            LinkPurpose::CardRequest => CARDS,
        };
        format!("{}/{page}/{}", self.base, token.expose())
    }

    fn payment_return(&self, token: &LinkToken) -> String {
        format!("{}/{PAY}/{}/{RETURN}", self.base, token.expose())
    }

    fn card_return(&self, token: &LinkToken) -> String {
        format!("{}/{CARDS}/{}/{RETURN}", self.base, token.expose())
    }

    fn portal_url(&self, token: &LinkToken) -> String {
        format!("{}/portal/{}", self.base, token.expose())
    }
}

/// The last segment of the routes a customer's browser comes back to from their bank
/// (`/pay/{token}/return`, `/cards/{token}/return`).
const RETURN: &str = "return";

/// The first segment of a payment link's page (`/pay/{token}`, routed in `pages::routes`).
const PAY: &str = "pay";
/// The first segment of a card request's page (`/cards/{token}`).
const CARDS: &str = "cards";

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::money::{Currency, Money};

    #[test]
    fn payment_links_and_card_requests_have_their_own_pages() {
        let urls = PageUrls::new("https://pay.example.com///");
        assert_eq!(urls.base(), "https://pay.example.com");
        let token = LinkToken::from_random([7; 32]);
        let payment = LinkPurpose::Payment {
            amount: Money::zero(Currency::USD),
            bookings: Vec::new(),
        };
        assert_eq!(
            urls.link_url(&payment, &token),
            format!("https://pay.example.com/pay/{}", token.expose())
        );
        assert_eq!(
            urls.link_url(&LinkPurpose::CardRequest, &token),
            format!("https://pay.example.com/cards/{}", token.expose())
        );
        assert_eq!(
            PageUrls::new("http://127.0.0.1:8080").link_url(&payment, &token),
            format!("http://127.0.0.1:8080/pay/{}", token.expose())
        );
        assert_eq!(
            urls.payment_return(&token),
            format!("https://pay.example.com/pay/{}/return", token.expose())
        );
        assert_eq!(
            urls.card_return(&token),
            format!("https://pay.example.com/cards/{}/return", token.expose())
        );
    }
}
