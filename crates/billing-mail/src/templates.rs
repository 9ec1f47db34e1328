//! The emails about payments: a subject, a plain-text body and an HTML body for each
//! [`NotificationKind`], from typed data.
//!
//! Amounts are printed exactly as the core's [`Money`] prints them (`215.50 USD`): never
//! rounded, never reformatted. In the HTML bodies, every text that users typed (business,
//! customer and service names, reasons) is HTML-escaped by the templates. Dates and times are
//! in UTC and say so.

use askama::Template;
pub use billing_core::email::{
    AutomationConcern, AutomationNoticeData, BookingLine, CardLabel, CardRequestData,
    CardSavedData, EmailContent, PaymentData, PaymentFailedData, PaymentLinkData, PortalLinkData,
    UpcomingChargeData,
};
use billing_core::notification::{MAX_SUBJECT, OutboundMessage};
use billing_core::ports::{EmailTemplates, TemplateError};
use chrono::{DateTime, NaiveDate, Utc};

/// Why an email could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A link is not an `https://` (or `http://`) URL; anything else (`javascript:`, say) could
    /// run in the customer's mail client.
    #[error("unsafe link {0:?}: only http and https links are put in emails")]
    UnsafeLink(String),
    /// A template failed.
    #[error("template failed: {0}")]
    Template(#[from] askama::Error),
}

/// Renders the email to `to`: subject, plain-text body and HTML body. Queue the result with
/// the data's [`kind`](EmailContent::kind).
pub fn render(to: &str, data: &EmailContent) -> Result<OutboundMessage, RenderError> {
    let view = View::of(data)?;
    let (subject, text_body, html_body) = match data {
        EmailContent::PaymentLink(_) => (
            format!("{}: payment request for {}", view.business, view.amount),
            PaymentLinkText { v: &view }.render()?,
            PaymentLinkHtml { v: &view }.render()?,
        ),
        EmailContent::CardRequest(_) => (
            format!("{}: please save a card for your bookings", view.business),
            CardRequestText { v: &view }.render()?,
            CardRequestHtml { v: &view }.render()?,
        ),
        EmailContent::Receipt(_) => (
            format!("{}: receipt for {}", view.business, view.amount),
            ReceiptText { v: &view }.render()?,
            ReceiptHtml { v: &view }.render()?,
        ),
        EmailContent::BusinessPaymentNotice(_) => (
            format!("Payment received: {} from {}", view.amount, view.customer),
            PaymentNoticeText { v: &view }.render()?,
            PaymentNoticeHtml { v: &view }.render()?,
        ),
        EmailContent::BusinessCardSavedNotice(_) => (
            format!("Card saved by {}", view.customer),
            CardSavedNoticeText { v: &view }.render()?,
            CardSavedNoticeHtml { v: &view }.render()?,
        ),
        EmailContent::PaymentFailed(_) => (
            format!(
                "{}: your payment of {} did not go through",
                view.business, view.amount
            ),
            PaymentFailedText { v: &view }.render()?,
            PaymentFailedHtml { v: &view }.render()?,
        ),
        EmailContent::UpcomingCharge(d) => (
            format!(
                "{}: {} will be {} on {}",
                view.business,
                view.amount,
                if d.hold { "held" } else { "charged" },
                view.when
            ),
            UpcomingChargeText { v: &view }.render()?,
            UpcomingChargeHtml { v: &view }.render()?,
        ),
        EmailContent::AutomationNotice(_) => (
            format!(
                "Needs attention: booking {} ({})",
                view.booking, view.customer
            ),
            AutomationNoticeText { v: &view }.render()?,
            AutomationNoticeHtml { v: &view }.render()?,
        ),
        EmailContent::PortalLink(_) => (
            format!("Your bookings with {}", view.business),
            PortalLinkText { v: &view }.render()?,
            PortalLinkHtml { v: &view }.render()?,
        ),
    };
    Ok(OutboundMessage {
        to: to.to_owned(),
        subject: one_line(&subject),
        text_body,
        html_body: Some(html_body),
    })
}

/// The askama templates as the core's [`EmailTemplates`] port: what the core queues is what
/// [`render`] writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailTemplates;

impl EmailTemplates for MailTemplates {
    fn render(&self, to: &str, content: &EmailContent) -> Result<OutboundMessage, TemplateError> {
        render(to, content).map_err(|e| TemplateError(e.to_string()))
    }
}

/// A subject on one line and within the core's limit, whatever the names in it contain.
fn one_line(subject: &str) -> String {
    let flat: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_SUBJECT {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_SUBJECT - 1).collect();
    cut.push('…');
    cut
}

fn safe_link(url: &str) -> Result<String, RenderError> {
    let lower = url.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    if scheme_ok && !url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Ok(url.to_owned())
    } else {
        Err(RenderError::UnsafeLink(url.to_owned()))
    }
}

fn day(date: &NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

fn moment(at: &DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// A booking line, formatted.
struct LineView {
    date: String,
    service: String,
    price: String,
    paid: String,
    due: String,
}

/// What an automation notice is about; its details are in the view's `reason`, `expires`,
/// `card` and `when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Concern {
    RetriesSpent,
    HoldRunningOut,
    CardExpiring,
}

/// Everything a template may show, formatted once for both bodies. Fields a kind does not have
/// stay empty, and its templates do not show them.
struct View {
    business: String,
    customer: String,
    amount: String,
    bookings: Vec<LineView>,
    url: String,
    expires: String,
    card: String,
    /// The tip within the amount paid (empty for none).
    tip: String,
    when: String,
    reason: String,
    /// A hold (pre-authorization) rather than a charge.
    hold: bool,
    booking: String,
    concern: Option<Concern>,
}

impl View {
    fn empty(business: &str, customer: &str) -> View {
        View {
            business: business.to_owned(),
            customer: customer.to_owned(),
            amount: String::new(),
            bookings: Vec::new(),
            url: String::new(),
            expires: String::new(),
            card: String::new(),
            tip: String::new(),
            when: String::new(),
            reason: String::new(),
            hold: false,
            booking: String::new(),
            concern: None,
        }
    }

    fn of(data: &EmailContent) -> Result<View, RenderError> {
        let lines = |bookings: &[BookingLine]| {
            bookings
                .iter()
                .map(|b| LineView {
                    date: b
                        .date
                        .as_ref()
                        .map_or_else(|| "Not scheduled".to_owned(), day),
                    service: b.service.clone(),
                    price: b.price.to_string(),
                    paid: b.paid.to_string(),
                    due: b.due.to_string(),
                })
                .collect()
        };
        let card = |card: &Option<CardLabel>| card.as_ref().map(CardLabel::describe);
        Ok(match data {
            EmailContent::PaymentLink(d) => View {
                amount: d.amount.to_string(),
                bookings: lines(&d.bookings),
                url: safe_link(&d.url)?,
                expires: moment(&d.expires_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            EmailContent::CardRequest(d) => View {
                url: safe_link(&d.url)?,
                expires: moment(&d.expires_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            // Shown with its time of day: the link lasts half an hour.
            EmailContent::PortalLink(d) => View {
                url: safe_link(&d.url)?,
                expires: moment(&d.expires_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            EmailContent::Receipt(d) | EmailContent::BusinessPaymentNotice(d) => View {
                amount: d.amount.to_string(),
                bookings: lines(&d.bookings),
                card: card(&d.card).unwrap_or_default(),
                tip: d.tip.map(|tip| tip.to_string()).unwrap_or_default(),
                when: moment(&d.paid_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            EmailContent::BusinessCardSavedNotice(d) => View {
                card: format!(
                    "{}, expires {:02}/{}",
                    d.card.describe(),
                    d.exp_month,
                    d.exp_year
                ),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            EmailContent::PaymentFailed(d) => View {
                amount: d.amount.to_string(),
                bookings: lines(&d.bookings),
                card: card(&d.card).unwrap_or_default(),
                reason: d.reason.clone(),
                url: d
                    .url
                    .as_deref()
                    .map(safe_link)
                    .transpose()?
                    .unwrap_or_default(),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            EmailContent::UpcomingCharge(d) => View {
                amount: d.amount.to_string(),
                bookings: lines(&d.bookings),
                card: card(&d.card).unwrap_or_default(),
                when: moment(&d.at),
                hold: d.hold,
                ..View::empty(&d.business_name, &d.customer_name)
            },
            EmailContent::AutomationNotice(d) => {
                let base = View {
                    bookings: lines(&d.bookings),
                    booking: d.booking.clone(),
                    ..View::empty(&d.business_name, &d.customer_name)
                };
                match &d.concern {
                    AutomationConcern::RetriesSpent { reason } => View {
                        reason: reason.clone(),
                        concern: Some(Concern::RetriesSpent),
                        ..base
                    },
                    AutomationConcern::HoldRunningOut { expires_at } => View {
                        expires: moment(expires_at),
                        concern: Some(Concern::HoldRunningOut),
                        ..base
                    },
                    AutomationConcern::CardExpiring { card, due_at } => View {
                        card: card.describe(),
                        when: moment(due_at),
                        concern: Some(Concern::CardExpiring),
                        ..base
                    },
                }
            }
        })
    }
}

// One template per kind and format. `.txt` templates are not escaped (plain text shows what it
// is given); `.html` ones escape every value.

#[derive(Template)]
#[template(path = "payment_link.txt")]
struct PaymentLinkText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "payment_link.html")]
struct PaymentLinkHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "card_request.txt")]
struct CardRequestText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "card_request.html")]
struct CardRequestHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "receipt.txt")]
struct ReceiptText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "payment_notice.txt")]
struct PaymentNoticeText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "payment_notice.html")]
struct PaymentNoticeHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "card_saved_notice.txt")]
struct CardSavedNoticeText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "card_saved_notice.html")]
struct CardSavedNoticeHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "payment_failed.txt")]
struct PaymentFailedText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "payment_failed.html")]
struct PaymentFailedHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "upcoming_charge.txt")]
struct UpcomingChargeText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "upcoming_charge.html")]
struct UpcomingChargeHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "automation_notice.txt")]
struct AutomationNoticeText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "automation_notice.html")]
struct AutomationNoticeHtml<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "portal_link.txt")]
struct PortalLinkText<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "portal_link.html")]
struct PortalLinkHtml<'a> {
    v: &'a View,
}
