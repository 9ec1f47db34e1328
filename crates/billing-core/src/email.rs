//! What each email about a payment says, as typed data. The core decides what to say; an
//! [`EmailTemplates`](crate::ports::EmailTemplates) adapter turns it into a message's subject
//! and bodies.

use chrono::{DateTime, NaiveDate, Utc};

use crate::customer::SavedCard;
use crate::money::Money;
use crate::notification::NotificationKind;

/// One booking as an email lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingLine {
    /// The day of the service, when it is scheduled.
    pub date: Option<NaiveDate>,
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
    pub fn describe(&self) -> String {
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

/// A link into the customer's portal, emailed on request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLinkData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The link (single use).
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
    /// The tip within what was paid, shown as a line of its own (`None` for no tip).
    pub tip: Option<Money>,
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

/// An automatic charge or hold coming, told to the customer beforehand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcomingChargeData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// What will be taken (as it stands when the notice is sent).
    pub amount: Money,
    /// True for a hold (pre-authorization), false for a charge.
    pub hold: bool,
    /// The card it will be taken from, if one is on file.
    pub card: Option<CardLabel>,
    /// When.
    pub at: DateTime<Utc>,
    /// The booking it is for.
    pub bookings: Vec<BookingLine>,
}

/// Why automation tells the business about a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutomationConcern {
    /// An automatic charge failed for the last time; the customer was sent a payment link.
    RetriesSpent {
        /// Why the last attempt failed, in words for the business.
        reason: String,
    },
    /// A hold will run out before its capture, and the business asked to be told.
    HoldRunningOut {
        /// When the hold runs out.
        expires_at: DateTime<Utc>,
    },
    /// The card on file runs out before an automatic charge; the customer was asked for a
    /// new one.
    CardExpiring {
        /// The card.
        card: CardLabel,
        /// When the charge is due.
        due_at: DateTime<Utc>,
    },
}

/// A booking that needs the business's attention, told by automation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationNoticeData {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The booking's id.
    pub booking: String,
    /// The booking, as it stands.
    pub bookings: Vec<BookingLine>,
    /// What happened.
    pub concern: AutomationConcern,
}

/// What an email says, by kind: the data its templates are filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailContent {
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
    /// An automatic charge or hold coming, to the customer.
    UpcomingCharge(UpcomingChargeData),
    /// A booking that needs attention, told to the business by automation.
    AutomationNotice(AutomationNoticeData),
    /// A link into the customer's portal, to the customer.
    PortalLink(PortalLinkData),
}

impl EmailContent {
    /// The kind of notification this email is.
    pub fn kind(&self) -> NotificationKind {
        match self {
            EmailContent::PaymentLink(_) => NotificationKind::PaymentLink,
            EmailContent::CardRequest(_) => NotificationKind::CardRequest,
            EmailContent::Receipt(_) => NotificationKind::Receipt,
            EmailContent::BusinessPaymentNotice(_) => NotificationKind::BusinessPaymentNotice,
            EmailContent::BusinessCardSavedNotice(_) => NotificationKind::BusinessCardSavedNotice,
            EmailContent::PaymentFailed(_) => NotificationKind::PaymentFailed,
            EmailContent::UpcomingCharge(_) => NotificationKind::UpcomingCharge,
            EmailContent::AutomationNotice(_) => NotificationKind::BusinessAutomationNotice,
            EmailContent::PortalLink(_) => NotificationKind::PortalLink,
        }
    }
}
