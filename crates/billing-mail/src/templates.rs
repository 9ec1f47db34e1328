//! The emails about payments: a subject, a plain-text body and an HTML body for each
//! [`NotificationKind`], from typed data.
//!
//! Amounts are printed exactly as the core's [`Money`] prints them (`215.50 USD`): never
//! rounded, never reformatted. In the HTML bodies, every text that users typed (business,
//! customer and service names, reasons) is HTML-escaped by the templates. Dates and times are
//! in UTC and say so.

use askama::Template;
use billing_core::customer::SavedCard;
use billing_core::money::Money;
use billing_core::notification::{MAX_SUBJECT, NotificationKind, OutboundMessage};
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

/// One booking as an email lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingLine {
    /// The day of the service.
    pub date: NaiveDate,
    /// What the service is ("Deep clean").
    pub service: String,
    /// Its price.
    pub price: Money,
    /// What was paid on it so far.
    pub paid: Money,
    /// What it still owes.
    pub due: Money,
}

/// A card as emails name it: its brand and last four digits, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardLabel {
    /// The brand as the gateway names it (`visa`, `mastercard`, `amex`...).
    pub brand: String,
    /// The last four digits.
    pub last4: String,
}

impl From<&SavedCard> for CardLabel {
    fn from(card: &SavedCard) -> Self {
        CardLabel {
            brand: card.brand.clone(),
            last4: card.last4.clone(),
        }
    }
}

impl CardLabel {
    /// `Visa ending 4242`.
    fn describe(&self) -> String {
        let brand = match self.brand.to_ascii_lowercase().as_str() {
            "visa" => "Visa".to_owned(),
            "mastercard" => "Mastercard".to_owned(),
            "amex" | "american_express" => "American Express".to_owned(),
            "discover" => "Discover".to_owned(),
            "diners" => "Diners Club".to_owned(),
            "jcb" => "JCB".to_owned(),
            "unionpay" => "UnionPay".to_owned(),
            _ => self.brand.clone(),
        };
        format!("{brand} ending {}", self.last4)
    }
}

/// A payment link: the customer pays what their bookings owe on a hosted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLinkData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// What the link asks for.
    pub amount: Money,
    /// The bookings it pays.
    pub bookings: Vec<BookingLine>,
    /// The hosted page.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// A card request: the customer saves a card on a hosted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRequestData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The hosted page.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// A payment made: the customer's receipt, or the business's notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// What was paid.
    pub amount: Money,
    /// The card charged, if it was a card.
    pub card: Option<CardLabel>,
    /// The bookings paid, as they stand after the payment.
    pub bookings: Vec<BookingLine>,
    /// When it was paid.
    pub paid_at: DateTime<Utc>,
}

/// A card saved by a customer, for the business's notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSavedData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The card.
    pub card: CardLabel,
    /// Its expiry month, 1 to 12.
    pub exp_month: u32,
    /// Its expiry year, four digits.
    pub exp_year: u32,
}

/// A charge that did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFailedData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// What was asked.
    pub amount: Money,
    /// The card tried, if any.
    pub card: Option<CardLabel>,
    /// Why, in words a customer understands ("Your card was declined.").
    pub reason: String,
    /// The bookings it was for.
    pub bookings: Vec<BookingLine>,
    /// A page where the customer can pay another way, if the business sent one.
    pub url: Option<String>,
}

/// What an email says, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateData {
    /// A payment link, to the customer.
    PaymentLink(PaymentLinkData),
    /// A card request, to the customer.
    CardRequest(CardRequestData),
    /// A receipt, to the customer.
    Receipt(PaymentData),
    /// A payment, told to the business.
    BusinessPaymentNotice(PaymentData),
    /// A saved card, told to the business.
    BusinessCardSavedNotice(CardSavedData),
    /// A failed charge, to the customer.
    PaymentFailed(PaymentFailedData),
}

impl TemplateData {
    /// The kind of notification this email is.
    pub fn kind(&self) -> NotificationKind {
        match self {
            TemplateData::PaymentLink(_) => NotificationKind::PaymentLink,
            TemplateData::CardRequest(_) => NotificationKind::CardRequest,
            TemplateData::Receipt(_) => NotificationKind::Receipt,
            TemplateData::BusinessPaymentNotice(_) => NotificationKind::BusinessPaymentNotice,
            TemplateData::BusinessCardSavedNotice(_) => NotificationKind::BusinessCardSavedNotice,
            TemplateData::PaymentFailed(_) => NotificationKind::PaymentFailed,
        }
    }
}

/// Renders the email to `to`: subject, plain-text body and HTML body. Queue the result with
/// the data's [`kind`](TemplateData::kind).
pub fn render(to: &str, data: &TemplateData) -> Result<OutboundMessage, RenderError> {
    let view = View::of(data)?;
    let (subject, text_body, html_body) = match data {
        TemplateData::PaymentLink(_) => (
            format!("{}: payment request for {}", view.business, view.amount),
            PaymentLinkText { v: &view }.render()?,
            PaymentLinkHtml { v: &view }.render()?,
        ),
        TemplateData::CardRequest(_) => (
            format!("{}: please save a card for your bookings", view.business),
            CardRequestText { v: &view }.render()?,
            CardRequestHtml { v: &view }.render()?,
        ),
        TemplateData::Receipt(_) => (
            format!("{}: receipt for {}", view.business, view.amount),
            ReceiptText { v: &view }.render()?,
            ReceiptHtml { v: &view }.render()?,
        ),
        TemplateData::BusinessPaymentNotice(_) => (
            format!("Payment received: {} from {}", view.amount, view.customer),
            PaymentNoticeText { v: &view }.render()?,
            PaymentNoticeHtml { v: &view }.render()?,
        ),
        TemplateData::BusinessCardSavedNotice(_) => (
            format!("Card saved by {}", view.customer),
            CardSavedNoticeText { v: &view }.render()?,
            CardSavedNoticeHtml { v: &view }.render()?,
        ),
        TemplateData::PaymentFailed(_) => (
            format!(
                "{}: your payment of {} did not go through",
                view.business, view.amount
            ),
            PaymentFailedText { v: &view }.render()?,
            PaymentFailedHtml { v: &view }.render()?,
        ),
    };
    Ok(OutboundMessage {
        to: to.to_owned(),
        subject: one_line(&subject),
        text_body,
        html_body: Some(html_body),
    })
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
    when: String,
    reason: String,
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
            when: String::new(),
            reason: String::new(),
        }
    }

    fn of(data: &TemplateData) -> Result<View, RenderError> {
        let lines = |bookings: &[BookingLine]| {
            bookings
                .iter()
                .map(|b| LineView {
                    date: day(&b.date),
                    service: b.service.clone(),
                    price: b.price.to_string(),
                    paid: b.paid.to_string(),
                    due: b.due.to_string(),
                })
                .collect()
        };
        let card = |card: &Option<CardLabel>| card.as_ref().map(CardLabel::describe);
        Ok(match data {
            TemplateData::PaymentLink(d) => View {
                amount: d.amount.to_string(),
                bookings: lines(&d.bookings),
                url: safe_link(&d.url)?,
                expires: moment(&d.expires_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            TemplateData::CardRequest(d) => View {
                url: safe_link(&d.url)?,
                expires: moment(&d.expires_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            TemplateData::Receipt(d) | TemplateData::BusinessPaymentNotice(d) => View {
                amount: d.amount.to_string(),
                bookings: lines(&d.bookings),
                card: card(&d.card).unwrap_or_default(),
                when: moment(&d.paid_at),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            TemplateData::BusinessCardSavedNotice(d) => View {
                card: format!(
                    "{}, expires {:02}/{}",
                    d.card.describe(),
                    d.exp_month,
                    d.exp_year
                ),
                ..View::empty(&d.business_name, &d.customer_name)
            },
            TemplateData::PaymentFailed(d) => View {
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
