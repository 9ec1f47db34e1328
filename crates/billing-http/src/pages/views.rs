//! The hosted pages' HTML, from askama templates in `templates/` (compiled into the binary).
//! Every value is HTML-escaped by the templates: business, customer and service names are typed
//! by people.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing_core::email::BookingLine;

/// The media type of every page.
const HTML: &str = "text/html; charset=utf-8";

/// A booking as a page lists it.
#[derive(Debug)]
pub(crate) struct LineView {
    pub(crate) date: String,
    pub(crate) service: String,
    pub(crate) price: String,
    pub(crate) paid: String,
    pub(crate) due: String,
}

impl From<&BookingLine> for LineView {
    fn from(line: &BookingLine) -> Self {
        LineView {
            date: line.date.map_or_else(
                || "Not scheduled".to_owned(),
                |d| d.format("%a %-d %b %Y").to_string(),
            ),
            service: line.service.clone(),
            price: line.price.to_string(),
            paid: line.paid.to_string(),
            due: line.due.to_string(),
        }
    }
}

/// What Stripe.js needs to make a payment method, in the form's `data-` attributes (never in
/// an inline script, which the pages' Content-Security-Policy forbids).
#[derive(Debug)]
pub(crate) struct StripeView {
    pub(crate) publishable_key: String,
    /// The business's connected account, or empty.
    pub(crate) account: String,
}

/// The card form: sandbox fields, or Stripe's card element; the error to show, if any.
#[derive(Debug)]
pub(crate) struct FormView {
    /// Where the form posts: its page's own address, also when it is shown again on the
    /// return from the customer's bank (whose address takes no card).
    pub(crate) action: String,
    pub(crate) stripe: Option<StripeView>,
    pub(crate) error: Option<String>,
    pub(crate) save_card: bool,
}

/// A payment link's page (also a checkout's that charges or holds).
#[derive(Debug, Template)]
#[template(path = "pay.html")]
pub(crate) struct PayPage {
    pub(crate) business: String,
    pub(crate) customer: String,
    pub(crate) amount: String,
    pub(crate) bookings: Vec<LineView>,
    pub(crate) form: FormView,
    /// A checkout: the card is kept (no choice offered).
    pub(crate) checkout: bool,
    /// A checkout's hold: the card is authorized, not charged.
    pub(crate) hold: bool,
    /// The tips offered (a payment link's page; none on a checkout).
    pub(crate) tips: Option<super::tip::TipView>,
}

/// The last page of a booking page's checkout: framed, its script posts the result to the
/// parent page (the return URL's origin only); on its own, it goes to the return URL.
#[derive(Debug, Template)]
#[template(path = "checkout_done.html")]
pub(crate) struct CheckoutDonePage {
    pub(crate) business: String,
    pub(crate) title: &'static str,
    pub(crate) message: String,
    /// The return URL with the result in its query.
    pub(crate) return_url: String,
    /// The return URL's origin: the only one the result is posted to.
    pub(crate) origin: String,
    pub(crate) checkout: String,
    pub(crate) booking: String,
    /// `paid`, `authorized` or `card_saved`.
    pub(crate) result: &'static str,
}

/// A card request's page.
#[derive(Debug, Template)]
#[template(path = "card.html")]
pub(crate) struct CardPage {
    pub(crate) business: String,
    pub(crate) customer: String,
    /// A checkout's: the card is for the booking just made.
    pub(crate) checkout: bool,
    /// The cards already on file, described.
    pub(crate) cards: Vec<String>,
    pub(crate) form: FormView,
}

/// A payment made.
#[derive(Debug, Template)]
#[template(path = "paid.html")]
pub(crate) struct PaidPage {
    pub(crate) business: String,
    pub(crate) amount: String,
    /// The tip within the amount, when there was one.
    pub(crate) tip: Option<String>,
    pub(crate) card: String,
    pub(crate) card_saved: bool,
    /// Staff who typed the card at the desk: their way back.
    pub(crate) back: Option<String>,
}

/// A payment whose outcome is not known yet.
#[derive(Debug, Template)]
#[template(path = "processing.html")]
pub(crate) struct ProcessingPage {
    pub(crate) business: String,
    /// The payment's amount, when known.
    pub(crate) amount: Option<String>,
}

/// A payment waiting for the customer to authenticate (3-D Secure) with their bank: Stripe.js
/// shows the bank's challenge on this page, then the browser goes to the return route. The
/// client secret is only here, in a `data-` attribute that the page's script reads.
#[derive(Template)]
#[template(path = "authenticate.html")]
pub(crate) struct AuthenticatePage {
    pub(crate) business: String,
    /// What the bank is asked to confirm: "this payment of 215.50 USD", "this card".
    pub(crate) what: String,
    pub(crate) publishable_key: String,
    /// The business's connected account, or empty.
    pub(crate) account: String,
    pub(crate) client_secret: String,
    /// Where the browser goes once the bank answered (a path of this service).
    pub(crate) return_url: String,
}

impl std::fmt::Debug for AuthenticatePage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret never reaches a log.
        f.debug_struct("AuthenticatePage")
            .field("business", &self.business)
            .field("return_url", &self.return_url)
            .finish_non_exhaustive()
    }
}

/// A link's payment that waits for the customer to authenticate, which they did not finish:
/// the gateway gives it up after a while, and the link can then be paid again.
#[derive(Debug, Template)]
#[template(path = "incomplete.html")]
pub(crate) struct IncompletePage {
    pub(crate) business: String,
}

/// A card whose set-up the gateway is still processing.
#[derive(Debug, Template)]
#[template(path = "card_processing.html")]
pub(crate) struct CardProcessingPage {
    pub(crate) business: String,
}

/// A card saved.
#[derive(Debug, Template)]
#[template(path = "card_saved.html")]
pub(crate) struct CardSavedPage {
    pub(crate) business: String,
    pub(crate) card: String,
    /// Staff who typed the card at the desk: their way back.
    pub(crate) back: Option<String>,
}

/// Unknown, malformed, expired and canceled tokens alike. It has no fields, so that its bytes
/// cannot tell which one it was.
#[derive(Debug, Template)]
#[template(path = "unavailable.html")]
pub(crate) struct UnavailablePage;

/// A link already used.
#[derive(Debug, Template)]
#[template(path = "used.html")]
pub(crate) struct UsedPage;

/// A payment link whose bookings changed since it was sent.
#[derive(Debug, Template)]
#[template(path = "changed.html")]
pub(crate) struct ChangedPage {
    pub(crate) business: String,
}

/// Any other answer: a title and a sentence, under a stable element id.
#[derive(Debug, Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    pub(crate) message: &'static str,
}

impl MessagePage {
    /// Too many requests from one address.
    pub(crate) const RATE_LIMITED: MessagePage = MessagePage {
        id: "too-many-requests",
        title: "Too many requests",
        message: "Too many requests came from your network. Please wait a moment, then reload this page.",
    };

    /// The page took longer than the request timeout.
    pub(crate) const TIMEOUT: MessagePage = MessagePage {
        id: "page-timeout",
        title: "This is taking longer than usual",
        message: "If you were paying, do not pay again yet: your payment may still go through. Check your email for a receipt, or ask the business that sent you this link, before trying again.",
    };

    /// A payment whose fate this page cannot tell (the store failed after the card processor
    /// was asked): the customer must not pay again before knowing.
    pub(crate) const UNCONFIRMED: MessagePage = MessagePage {
        id: "payment-unconfirmed",
        title: "We could not confirm your payment",
        message: "Do not pay again yet: your payment may have gone through. Check your email for a receipt, or ask the business that sent you this link.",
    };

    /// Anything that failed on our side.
    pub(crate) const FAILED: MessagePage = MessagePage {
        id: "page-error",
        title: "Something went wrong",
        message: "This page could not be shown. Nothing was charged. Please try again in a moment.",
    };

    /// A bare error status from outside the handlers (a method not allowed, a body too large).
    pub(crate) fn for_status(status: StatusCode) -> MessagePage {
        if status.is_server_error() {
            return MessagePage::FAILED;
        }
        MessagePage {
            id: "bad-request",
            title: "This request cannot be served",
            message: "Please go back to the link you were sent and try again.",
        }
    }
}

/// A page as a response with its status. A template that fails (it cannot, with these types,
/// short of running out of memory) is logged and answered with a bare page.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    let body = match template.render() {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "a hosted page failed to render");
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p id=\"page-error\">Something went wrong.</p>"
                    .to_owned(),
            );
        }
    };
    html(status, body)
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_typed_is_escaped() {
        let page = ChangedPage {
            business: "<script>alert(1)</script> & \"Sons\"".into(),
        }
        .render()
        .unwrap_or_default();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&#60;script&#62;"), "{page}");
        assert!(page.contains("id=\"link-changed\""));
    }

    #[test]
    fn pages_have_no_inline_scripts_or_styles() {
        let pay = PayPage {
            business: "Acme".into(),
            customer: "Ada".into(),
            amount: "10.00 USD".into(),
            bookings: Vec::new(),
            form: FormView {
                action: "/pay/t".into(),
                stripe: Some(StripeView {
                    publishable_key: "pk_test_1".into(),
                    account: String::new(),
                }),
                error: None,
                save_card: false,
            },
            checkout: false,
            hold: false,
            tips: Some(super::super::tip::TipView {
                presets: vec![super::super::tip::PresetView {
                    value: "15".into(),
                    tip: "1.50 USD".into(),
                    total: "11.50 USD".into(),
                }],
                choice: "none".into(),
                amount: String::new(),
                currency: "USD".into(),
            }),
        }
        .render()
        .unwrap_or_default();
        assert!(pay.contains("https://js.stripe.com/v3/"), "{pay}");
        assert!(pay.contains("data-publishable-key=\"pk_test_1\""), "{pay}");
        // Shown again on the return route too, the form still posts to the page.
        assert!(pay.contains("method=\"post\" action=\"/pay/t\""), "{pay}");
        for bad in ["style=", "<style", "onclick", "onsubmit", "javascript:"] {
            assert!(!pay.contains(bad), "{bad} in {pay}");
        }
        assert_eq!(
            pay.matches("<script").count(),
            2,
            "only the two external scripts"
        );
        assert_eq!(pay.matches("<script src=").count(), 2);
        assert!(
            !pay.contains("data-client-secret"),
            "a form holds no secret"
        );
    }

    #[test]
    fn a_checkouts_last_page_names_its_return_in_data_and_a_link_only() {
        let html = CheckoutDonePage {
            business: "Acme".into(),
            title: "Payment received",
            message: "You paid 10.00 USD.".into(),
            return_url: "https://shop.example/done?checkout=lnk_1&result=paid".into(),
            origin: "https://shop.example".into(),
            checkout: "lnk_1".into(),
            booking: "b-1".into(),
            result: "paid",
        }
        .render()
        .unwrap_or_default();
        assert!(html.contains("id=\"checkout-done\""), "{html}");
        assert!(
            html.contains("data-origin=\"https://shop.example\""),
            "{html}"
        );
        assert!(html.contains("data-result=\"paid\""), "{html}");
        // The query's `&` escaped: an attribute that reads back as the URL.
        assert!(
            html.contains("href=\"https://shop.example/done?checkout=lnk_1&#38;result=paid\""),
            "{html}"
        );
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<script src=\"/assets/checkout.js\" defer>"));
        for bad in ["style=", "<style", "onclick", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn the_authentication_page_holds_its_secret_in_data_only() {
        let page = AuthenticatePage {
            business: "Acme".into(),
            what: "this payment of 10.00 USD".into(),
            publishable_key: "pk_test_1".into(),
            account: "acct_1".into(),
            client_secret: "pi_1_secret_xyz".into(),
            return_url: "/pay/tok/return".into(),
        };
        assert!(!format!("{page:?}").contains("secret_xyz"));
        let html = page.render().unwrap_or_default();
        assert_eq!(html.matches("pi_1_secret_xyz").count(), 1, "{html}");
        assert!(
            html.contains("data-client-secret=\"pi_1_secret_xyz\""),
            "{html}"
        );
        assert!(html.contains("id=\"authentication\""));
        assert!(html.contains("href=\"/pay/tok/return\""), "{html}");
        assert_eq!(html.matches("<script src=").count(), 2);
        for bad in ["style=", "<style", "onclick", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }
}
