//! The JSON shapes of the API: what requests carry and what responses show, with their
//! OpenAPI schemas. Kept apart from the core's types so that the wire format is a decision of
//! the API, not a side effect of a refactoring in the core.

use std::collections::BTreeMap;

use billing_core::billing::IssuedLink;
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::{Customer, SavedCard};
use billing_core::ids::{BookingId, CustomerId, LinkId, NotificationId, PaymentId};
use billing_core::link::{LinkPurpose, LinkState, PaymentLink};
use billing_core::money::{Currency, Money};
use billing_core::notification::{DeliveryState, Notification, NotificationKind};
use billing_core::payment::{CollectionMethod, Payment, PaymentKind, PaymentState};
use billing_core::ports::CustomerOutstanding;
use billing_core::status::{BookingSummary, PaymentStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::{Problem, ProblemDetails};

// ---------------------------------------------------------------------------------------------
// Responses

/// An amount of money: a decimal string with exactly the currency's digits, and its ISO 4217
/// code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount": "215.50", "currency": "USD"}))]
pub struct MoneyJson {
    /// A decimal string, e.g. `"215.50"` (`"1500"` for JPY).
    pub amount: String,
    /// The ISO 4217 code, e.g. `"USD"`.
    pub currency: String,
}

impl From<&Money> for MoneyJson {
    fn from(money: &Money) -> Self {
        MoneyJson {
            amount: money.amount().to_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}

impl From<Money> for MoneyJson {
    fn from(money: Money) -> Self {
        MoneyJson::from(&money)
    }
}

/// A card saved at the gateway ("payment option").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardJson {
    /// The gateway's payment method id (`pm_...`).
    pub payment_method: String,
    /// `visa`, `mastercard`...
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month, 1 to 12.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: u32,
    /// The card charged as "card on file".
    pub is_default: bool,
}

impl From<SavedCard> for CardJson {
    fn from(card: SavedCard) -> Self {
        CardJson {
            payment_method: card.payment_method,
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            is_default: card.is_default,
        }
    }
}

/// A list of cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardList {
    /// The cards, the default first.
    pub data: Vec<CardJson>,
}

/// A customer with their saved cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerJson {
    /// The platform's customer id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email address.
    pub email: Option<String>,
    /// Their saved cards, the default first.
    pub cards: Vec<CardJson>,
}

impl CustomerJson {
    /// The customer and their cards.
    pub fn new(customer: Customer, cards: Vec<SavedCard>) -> Self {
        CustomerJson {
            id: customer.id.to_string(),
            name: customer.name,
            email: customer.email,
            cards: cards.into_iter().map(CardJson::from).collect(),
        }
    }
}

/// What a customer owes, one amount per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerBalanceJson {
    /// The customer.
    pub customer: String,
    /// One amount per currency owed; empty when nothing is owed.
    pub balance_due: Vec<MoneyJson>,
}

/// A line of a booking's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineItemJson {
    /// `service`, `extra` or `discount` (subtracted).
    pub kind: LineItemKindJson,
    /// What the customer reads.
    pub label: String,
    /// The line's amount (never negative; a discount's kind subtracts it).
    pub amount: MoneyJson,
}

/// What a line item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineItemKindJson {
    /// The booked service.
    Service,
    /// An extra, added to the price.
    Extra,
    /// A discount, subtracted from the price.
    Discount,
}

impl From<LineItemKindJson> for LineItemKind {
    fn from(kind: LineItemKindJson) -> Self {
        match kind {
            LineItemKindJson::Service => LineItemKind::Service,
            LineItemKindJson::Extra => LineItemKind::Extra,
            LineItemKindJson::Discount => LineItemKind::Discount,
        }
    }
}

impl From<LineItemKind> for LineItemKindJson {
    fn from(kind: LineItemKind) -> Self {
        match kind {
            LineItemKind::Service => LineItemKindJson::Service,
            LineItemKind::Extra => LineItemKindJson::Extra,
            LineItemKind::Discount => LineItemKindJson::Discount,
        }
    }
}

impl From<&LineItem> for LineItemJson {
    fn from(item: &LineItem) -> Self {
        LineItemJson {
            kind: item.kind.into(),
            label: item.label.clone(),
            amount: item.amount.into(),
        }
    }
}

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusJson {
    /// Nothing paid and nothing held.
    NotCharged,
    /// Nothing paid yet; a hold is in place.
    PreAuthorized,
    /// Some, not all, of the price is paid.
    PartiallyCharged,
    /// The price is paid exactly.
    ChargedInFull,
    /// More than the price is paid: a refund is due.
    Overpaid,
    /// Everything paid was refunded.
    Refunded,
}

impl From<PaymentStatus> for StatusJson {
    fn from(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::NotCharged => StatusJson::NotCharged,
            PaymentStatus::PreAuthorized => StatusJson::PreAuthorized,
            PaymentStatus::PartiallyCharged => StatusJson::PartiallyCharged,
            PaymentStatus::ChargedInFull => StatusJson::ChargedInFull,
            PaymentStatus::Overpaid => StatusJson::Overpaid,
            PaymentStatus::Refunded => StatusJson::Refunded,
        }
    }
}

/// A booking's balance and status, without its line items and payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingSummaryJson {
    /// The booking id.
    pub id: String,
    /// Who pays.
    pub customer: String,
    /// Its currency.
    pub currency: String,
    /// When the service is scheduled.
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The sum of the line items.
    pub price: MoneyJson,
    /// What was paid, less refunds.
    pub paid: MoneyJson,
    /// What was refunded.
    pub refunded: MoneyJson,
    /// Sent to the gateway, outcome not known yet.
    pub in_flight: MoneyJson,
    /// What open holds can still capture.
    pub held: MoneyJson,
    /// `price - paid` (negative when overpaid).
    pub balance_due: MoneyJson,
    /// The derived status.
    pub status: StatusJson,
    /// Something waits for the gateway's outcome.
    pub pending: bool,
    /// The latest charge, hold or capture attempt failed.
    pub last_failed: bool,
}

impl BookingSummaryJson {
    /// The summary, with the dates of its account when known.
    pub fn new(summary: &BookingSummary, account: Option<&BookingAccount>) -> Self {
        let balance = &summary.balance;
        BookingSummaryJson {
            id: summary.booking.to_string(),
            customer: summary.customer.to_string(),
            currency: summary.currency.code().to_owned(),
            service_at: account.and_then(|a| a.service_at),
            completed_at: account.and_then(|a| a.completed_at),
            price: balance.price.into(),
            paid: balance.paid.into(),
            refunded: balance.refunded.into(),
            in_flight: balance.in_flight.into(),
            held: balance.held.into(),
            balance_due: balance.balance_due.into(),
            status: summary.status.status.into(),
            pending: summary.status.pending,
            last_failed: summary.status.last_failed,
        }
    }

    /// Summaries with the dates of their accounts.
    pub fn many(
        summaries: &[BookingSummary],
        accounts: &BTreeMap<BookingId, BookingAccount>,
    ) -> Vec<Self> {
        summaries
            .iter()
            .map(|s| BookingSummaryJson::new(s, accounts.get(&s.booking)))
            .collect()
    }
}

/// A booking with its line items, balance, status and payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingJson {
    /// The booking id.
    pub id: String,
    /// Who pays.
    pub customer: String,
    /// Its currency.
    pub currency: String,
    /// The lines whose sum is the price.
    pub line_items: Vec<LineItemJson>,
    /// When the service is scheduled.
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The sum of the line items.
    pub price: MoneyJson,
    /// What was paid, less refunds.
    pub paid: MoneyJson,
    /// What was refunded.
    pub refunded: MoneyJson,
    /// Sent to the gateway, outcome not known yet.
    pub in_flight: MoneyJson,
    /// What open holds can still capture.
    pub held: MoneyJson,
    /// `price - paid` (negative when overpaid).
    pub balance_due: MoneyJson,
    /// The derived status.
    pub status: StatusJson,
    /// Something waits for the gateway's outcome.
    pub pending: bool,
    /// The latest charge, hold or capture attempt failed.
    pub last_failed: bool,
    /// Every payment touching the booking, oldest first.
    pub payments: Vec<PaymentJson>,
}

impl From<&billing_core::billing::BookingView> for BookingJson {
    fn from(view: &billing_core::billing::BookingView) -> Self {
        let summary = BookingSummaryJson::new(&view.summary, Some(&view.account));
        BookingJson {
            id: summary.id,
            customer: summary.customer,
            currency: summary.currency,
            line_items: view
                .account
                .line_items
                .iter()
                .map(LineItemJson::from)
                .collect(),
            service_at: summary.service_at,
            completed_at: summary.completed_at,
            price: summary.price,
            paid: summary.paid,
            refunded: summary.refunded,
            in_flight: summary.in_flight,
            held: summary.held,
            balance_due: summary.balance_due,
            status: summary.status,
            pending: summary.pending,
            last_failed: summary.last_failed,
            payments: view.payments.iter().map(PaymentJson::from).collect(),
        }
    }
}

/// A page of booking summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingList {
    /// The bookings, ordered by id.
    pub data: Vec<BookingSummaryJson>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// What a payment record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKindJson {
    /// A card charge, captured at once.
    Charge,
    /// Money collected outside the gateway.
    Collection,
    /// A hold on a card.
    Authorization,
    /// A capture of a hold.
    Capture,
    /// A refund.
    Refund,
}

/// Where a payment record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStateJson {
    /// Sent to the gateway; the outcome is not known yet.
    Pending,
    /// The customer must authenticate.
    RequiresAction,
    /// The money moved.
    Succeeded,
    /// A hold is in place.
    Authorized,
    /// Part of a hold was captured.
    PartiallyCaptured,
    /// A hold was captured and closed.
    Captured,
    /// Canceled before money moved.
    Canceled,
    /// A hold ran out.
    Expired,
    /// Declined or failed.
    Failed,
}

impl From<&PaymentState> for PaymentStateJson {
    fn from(state: &PaymentState) -> Self {
        match state {
            PaymentState::Pending => PaymentStateJson::Pending,
            PaymentState::RequiresAction => PaymentStateJson::RequiresAction,
            PaymentState::Succeeded => PaymentStateJson::Succeeded,
            PaymentState::Authorized => PaymentStateJson::Authorized,
            PaymentState::PartiallyCaptured => PaymentStateJson::PartiallyCaptured,
            PaymentState::Captured => PaymentStateJson::Captured,
            PaymentState::Canceled => PaymentStateJson::Canceled,
            PaymentState::Expired => PaymentStateJson::Expired,
            PaymentState::Failed(_) => PaymentStateJson::Failed,
        }
    }
}

/// How money was collected outside the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethodJson {
    /// Cash in hand.
    Cash,
    /// A paper check.
    Check,
    /// An e-transfer.
    ETransfer,
    /// Anything else, with a `label`.
    Other,
}

/// Why a payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailureJson {
    /// A stable code (`card_declined`, `expired_card`...).
    pub code: String,
    /// The issuer's decline code (`insufficient_funds`...).
    pub decline_code: Option<String>,
    /// A sentence for the business.
    pub message: String,
}

/// A payment's share for one booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AllocationJson {
    /// The booking.
    pub booking: String,
    /// Its share.
    pub amount: MoneyJson,
}

/// A payment record: a charge, collection, hold, capture or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentJson {
    /// Our payment id (`pay_...`).
    pub id: String,
    /// What it is.
    pub kind: PaymentKindJson,
    /// Where it stands.
    pub state: PaymentStateJson,
    /// How much.
    pub amount: MoneyJson,
    /// Who paid (or is refunded).
    pub customer: String,
    /// Its shares per booking; they add up to `amount`.
    pub allocations: Vec<AllocationJson>,
    /// Why it failed, when it did.
    pub failure: Option<FailureJson>,
    /// The gateway's id (`pi_...`, `re_...`) once known.
    pub gateway_reference: Option<String>,
    /// For a hold: when it stops being capturable.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Charges and holds: the card's payment method id.
    pub payment_method: Option<String>,
    /// Collections: how the money was collected.
    pub method: Option<CollectionMethodJson>,
    /// Collections of method `other`: the business's label.
    pub label: Option<String>,
    /// Collections: a check number or transfer reference.
    pub reference: Option<String>,
    /// Refunds: the payment refunded; captures: the hold captured from.
    pub of: Option<String>,
    /// Refunds: why.
    pub reason: Option<String>,
}

impl From<&Payment> for PaymentJson {
    fn from(payment: &Payment) -> Self {
        let mut json = PaymentJson {
            id: payment.id.to_string(),
            kind: PaymentKindJson::Charge,
            state: (&payment.state).into(),
            amount: payment.amount.into(),
            customer: payment.customer.to_string(),
            allocations: payment
                .allocations
                .iter()
                .map(|a| AllocationJson {
                    booking: a.booking.to_string(),
                    amount: a.amount.into(),
                })
                .collect(),
            failure: match &payment.state {
                PaymentState::Failed(failure) => Some(FailureJson {
                    code: failure.code.clone(),
                    decline_code: failure.decline_code.clone(),
                    message: failure.message.clone(),
                }),
                _ => None,
            },
            gateway_reference: payment.gateway_reference.clone(),
            hold_expires_at: payment.hold_expires_at,
            created_at: payment.created_at,
            updated_at: payment.updated_at,
            payment_method: None,
            method: None,
            label: None,
            reference: None,
            of: None,
            reason: None,
        };
        match &payment.kind {
            PaymentKind::Charge { card } => {
                json.payment_method = Some(card.payment_method.clone());
            }
            PaymentKind::Authorization { card } => {
                json.kind = PaymentKindJson::Authorization;
                json.payment_method = Some(card.payment_method.clone());
            }
            PaymentKind::Collection { method, reference } => {
                json.kind = PaymentKindJson::Collection;
                json.reference.clone_from(reference);
                let (method, label) = match method {
                    CollectionMethod::Cash => (CollectionMethodJson::Cash, None),
                    CollectionMethod::Check => (CollectionMethodJson::Check, None),
                    CollectionMethod::ETransfer => (CollectionMethodJson::ETransfer, None),
                    CollectionMethod::Other(label) => {
                        (CollectionMethodJson::Other, Some(label.clone()))
                    }
                };
                json.method = Some(method);
                json.label = label;
            }
            PaymentKind::Capture { authorization, .. } => {
                json.kind = PaymentKindJson::Capture;
                json.of = Some(authorization.to_string());
            }
            PaymentKind::Refund { of, reason } => {
                json.kind = PaymentKindJson::Refund;
                json.of = Some(of.to_string());
                json.reason.clone_from(reason);
            }
        }
        json
    }
}

/// The result of a money-moving command: the payment and the bookings it touched, as they
/// stand after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptJson {
    /// The payment made (or found, on a replay).
    pub payment: PaymentJson,
    /// The bookings it touched.
    pub bookings: Vec<BookingSummaryJson>,
}

/// A payment with what can still be done with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentViewJson {
    /// The payment.
    pub payment: PaymentJson,
    /// What can still be refunded (zero when nothing).
    pub refundable: MoneyJson,
    /// For an open hold: what it can still capture.
    pub capturable: MoneyJson,
    /// For a hold: its captures; otherwise its refunds.
    pub children: Vec<PaymentJson>,
}

/// One booking's result in a bulk charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkResultJson {
    /// The booking.
    pub booking: String,
    /// What a single charge of it would have answered: 201, 202, or the problem's status.
    pub status: u16,
    /// The payment made (also for a decline: the failed payment).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment: Option<PaymentJson>,
    /// Why it was not charged.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ProblemDetails>,
}

/// The results of a bulk charge, one per booking, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkResponse {
    /// One result per booking.
    pub results: Vec<BulkResultJson>,
}

/// What one customer owes in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutstandingRowJson {
    /// The customer.
    pub customer: String,
    /// What they owe.
    pub balance_due: MoneyJson,
    /// How many of their bookings have a balance due.
    pub bookings: u64,
}

impl From<&CustomerOutstanding> for OutstandingRowJson {
    fn from(row: &CustomerOutstanding) -> Self {
        OutstandingRowJson {
            customer: row.customer.to_string(),
            balance_due: row.balance_due.into(),
            bookings: row.bookings,
        }
    }
}

/// What customers owe, and the totals per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutstandingJson {
    /// One row per customer and currency owed.
    pub customers: Vec<OutstandingRowJson>,
    /// The total owed, one amount per currency.
    pub totals: Vec<MoneyJson>,
}

/// A webhook delivery's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAck {
    /// Always true: the delivery was accepted.
    pub received: bool,
    /// `reconciled`, `ignored` or `duplicate`.
    pub outcome: String,
}

/// The service's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthJson {
    /// `ok`, or `unavailable`.
    pub status: String,
}

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkTypeJson {
    /// The customer pays bookings on a hosted page.
    Payment,
    /// The customer saves a card on a hosted page.
    CardRequest,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatusJson {
    /// Waiting for the customer.
    Open,
    /// Paid, or its card saved. Final.
    Completed,
    /// Canceled by the business. Final.
    Canceled,
    /// Open but past `expires_at`: its page no longer works.
    Expired,
}

impl LinkStatusJson {
    fn of(link: &PaymentLink, now: DateTime<Utc>) -> Self {
        match link.status_name(now) {
            "expired" => LinkStatusJson::Expired,
            "completed" => LinkStatusJson::Completed,
            "canceled" => LinkStatusJson::Canceled,
            _ => LinkStatusJson::Open,
        }
    }
}

/// A booking paid through a payment link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkedBookingJson {
    /// The booking.
    pub booking: String,
    /// The part of the link's amount that goes to it.
    pub amount: MoneyJson,
    /// Its balance due when the link was made: any other balance at payment time refuses the
    /// link (its amount would no longer be right).
    pub balance_due: MoneyJson,
}

/// A payment link or card request. Its URL is not here: only its token's hash is stored, so the
/// URL is shown once, when the link is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkJson {
    /// The link's id (not secret).
    pub id: String,
    /// `payment` or `card_request`.
    #[serde(rename = "type")]
    pub link_type: LinkTypeJson,
    /// The customer it was made for.
    pub customer: String,
    /// `open`, `completed`, `canceled` or `expired`.
    pub status: LinkStatusJson,
    /// What a payment link asks for in all; `null` for a card request.
    pub amount: Option<MoneyJson>,
    /// The bookings a payment link pays, with their shares; empty for a card request.
    pub bookings: Vec<LinkedBookingJson>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its page stops working.
    pub expires_at: DateTime<Utc>,
    /// When the customer paid or saved a card.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the business canceled it.
    pub canceled_at: Option<DateTime<Utc>>,
    /// A completed payment link: the payment made.
    pub payment: Option<String>,
    /// A completed link: the card saved (its payment method id), if one was.
    pub card: Option<String>,
}

impl LinkJson {
    /// The link as it stands at `now` (which tells an open link from an expired one).
    pub fn new(link: &PaymentLink, now: DateTime<Utc>) -> Self {
        let (link_type, amount, bookings) = match &link.purpose {
            LinkPurpose::Payment { amount, bookings } => (
                LinkTypeJson::Payment,
                Some(MoneyJson::from(amount)),
                bookings
                    .iter()
                    .map(|b| LinkedBookingJson {
                        booking: b.booking.to_string(),
                        amount: b.amount.into(),
                        balance_due: b.balance_due.into(),
                    })
                    .collect(),
            ),
            LinkPurpose::CardRequest => (LinkTypeJson::CardRequest, None, Vec::new()),
        };
        let (completed_at, canceled_at, payment, card) = match &link.state {
            LinkState::Open => (None, None, None, None),
            LinkState::Completed { at, payment, card } => (
                Some(*at),
                None,
                payment.as_ref().map(ToString::to_string),
                card.clone(),
            ),
            LinkState::Canceled { at } => (None, Some(*at), None, None),
        };
        LinkJson {
            id: link.id.to_string(),
            link_type,
            customer: link.customer.to_string(),
            status: LinkStatusJson::of(link, now),
            amount,
            bookings,
            created_at: link.created_at,
            expires_at: link.expires_at,
            completed_at,
            canceled_at,
            payment,
            card,
        }
    }
}

/// A link just made: the link, its page's URL (shown this once) and the email queued for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedLinkJson {
    /// The link.
    #[serde(flatten)]
    pub link: LinkJson,
    /// The hosted page, with the link's secret token: only ever returned here.
    pub url: String,
    /// The email queued for it, when one was asked for.
    pub notification_id: Option<String>,
}

impl IssuedLinkJson {
    /// The link just made, as it stands at `now`.
    pub fn new(issued: &IssuedLink, now: DateTime<Utc>) -> Self {
        IssuedLinkJson {
            link: LinkJson::new(&issued.link, now),
            url: issued.url.clone(),
            notification_id: issued.notification.as_ref().map(|n| n.id.to_string()),
        }
    }
}

/// A customer's links, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkList {
    /// The links.
    pub data: Vec<LinkJson>,
}

/// What an email is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKindJson {
    /// To the customer: a payment link.
    PaymentLink,
    /// To the customer: a card request.
    CardRequest,
    /// To the customer: a receipt.
    Receipt,
    /// To the business: a customer paid.
    BusinessPaymentNotice,
    /// To the business: a customer saved a card.
    BusinessCardSavedNotice,
    /// To the customer: a charge did not go through.
    PaymentFailed,
}

impl From<NotificationKind> for NotificationKindJson {
    fn from(kind: NotificationKind) -> Self {
        match kind {
            NotificationKind::PaymentLink => NotificationKindJson::PaymentLink,
            NotificationKind::CardRequest => NotificationKindJson::CardRequest,
            NotificationKind::Receipt => NotificationKindJson::Receipt,
            NotificationKind::BusinessPaymentNotice => NotificationKindJson::BusinessPaymentNotice,
            NotificationKind::BusinessCardSavedNotice => {
                NotificationKindJson::BusinessCardSavedNotice
            }
            NotificationKind::PaymentFailed => NotificationKindJson::PaymentFailed,
        }
    }
}

/// Where an email's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryJson {
    /// Waiting for its first attempt.
    Queued,
    /// The mail server accepted it. Final.
    Sent {
        /// When.
        at: DateTime<Utc>,
        /// What the server answered (`250 2.0.0 queued as 4F2A`): the proof of delivery to the
        /// mail server.
        server_reply: String,
    },
    /// The last attempt failed.
    Failed {
        /// When the last attempt failed.
        at: DateTime<Utc>,
        /// Why, as the mail server or the mailer put it.
        reason: String,
        /// How many attempts were made so far.
        attempts: u32,
        /// When the next attempt may start; `null` when there will be none.
        retry_at: Option<DateTime<Utc>>,
    },
}

impl From<&DeliveryState> for DeliveryJson {
    fn from(state: &DeliveryState) -> Self {
        match state {
            DeliveryState::Queued => DeliveryJson::Queued,
            DeliveryState::Sent { at, server_reply } => DeliveryJson::Sent {
                at: *at,
                server_reply: server_reply.clone(),
            },
            DeliveryState::Failed {
                at,
                reason,
                attempts,
                retry_at,
            } => DeliveryJson::Failed {
                at: *at,
                reason: reason.clone(),
                attempts: *attempts,
                retry_at: *retry_at,
            },
        }
    }
}

/// An email queued about a customer, and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationJson {
    /// Its id.
    pub id: String,
    /// What it is about.
    pub kind: NotificationKindJson,
    /// The customer it is about (notices to the business name the customer who paid).
    pub customer: String,
    /// The address it goes to.
    pub to: String,
    /// Its subject line.
    pub subject: String,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// Where its delivery stands.
    pub delivery: DeliveryJson,
}

impl From<&Notification> for NotificationJson {
    fn from(n: &Notification) -> Self {
        NotificationJson {
            id: n.id.to_string(),
            kind: n.kind.into(),
            customer: n.customer.to_string(),
            to: n.to.clone(),
            subject: n.subject.clone(),
            queued_at: n.created_at,
            delivery: (&n.delivery).into(),
        }
    }
}

/// A customer's notifications, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationList {
    /// The notifications.
    pub data: Vec<NotificationJson>,
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Make a payment link for some of a customer's bookings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentLinkRequest {
    /// The customer whose bookings these are.
    pub customer: String,
    /// 1 to 50 of their bookings, each once, in one currency; a partial amount is taken from
    /// them in this order.
    pub bookings: Vec<String>,
    /// A decimal string in the bookings' currency; everything they owe when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Email the link to the customer (default true); the URL is returned either way.
    #[serde(default = "yes")]
    pub send_email: bool,
}

/// Ask a customer to save a card.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRequestRequest {
    /// The customer.
    pub customer: String,
    /// Email the link to the customer (default true); the URL is returned either way.
    #[serde(default = "yes")]
    pub send_email: bool,
}

/// Create or update a customer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// The platform's customer id: 1 to 64 letters, digits, `_ - . :`.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email address.
    #[serde(default)]
    pub email: Option<String>,
}

/// Attach a card made by the gateway's card form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachCard {
    /// The gateway's payment method id (`pm_card_visa` on the sandbox).
    pub payment_method: String,
}

/// A line item to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    /// `service`, `extra` or `discount`.
    pub kind: LineItemKindJson,
    /// What the customer reads (1 to 200 characters).
    pub label: String,
    /// A decimal string in the booking's currency, e.g. `"30.00"`.
    pub amount: String,
}

/// Create or replace a booking's billing view.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutBooking {
    /// The customer who pays (must exist).
    pub customer: String,
    /// The ISO 4217 currency of its price and payments.
    pub currency: String,
    /// The lines whose sum is the price.
    pub line_items: Vec<LineItemInput>,
    /// When the service is scheduled (RFC 3339).
    #[serde(default)]
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed (RFC 3339).
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// Charge a booking's saved card.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    /// A decimal string in the booking's currency; what can be charged when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// One of the customer's saved cards; the card on file when absent.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Without an idempotency key, the same charge twice within minutes is refused as a
    /// probable duplicate unless this is true.
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Record money collected outside the gateway.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionRequest {
    /// A decimal string in the booking's currency; what can be charged when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// How it was collected.
    pub method: CollectionMethodJson,
    /// For `other`: the business's name for it (`other` when absent).
    #[serde(default)]
    pub label: Option<String>,
    /// A check number or transfer reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// As for charges.
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Place a hold on a booking's saved card.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationRequest {
    /// A decimal string in the booking's currency; what can be charged when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// One of the customer's saved cards; the card on file when absent.
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// Capture all or part of a hold.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// A decimal string in the hold's currency; what the hold can still capture when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Release the rest of the hold after this capture (the usual case).
    #[serde(default = "yes", rename = "final")]
    pub final_capture: bool,
}

impl Default for CaptureRequest {
    fn default() -> Self {
        CaptureRequest {
            amount: None,
            final_capture: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Refund all or part of a payment.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// A decimal string in the payment's currency; everything refundable when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Why, for the records.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Charge several bookings, each for what can be charged.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// The bookings, charged in parallel; the results come back in this order.
    pub bookings: Vec<String>,
    /// One saved card id for every booking; each customer's card on file when absent.
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// Parses an amount given in a known currency.
pub fn parse_amount(
    amount: Option<&str>,
    currency: Currency,
) -> Result<Option<Money>, billing_core::error::BillingError> {
    amount
        .map(|text| Money::parse(text, currency))
        .transpose()
        .map_err(billing_core::error::BillingError::InvalidAmount)
}

/// Checks a free-text field: no control characters but tabs and line breaks (a NUL byte, say,
/// which Postgres cannot store and no person types).
pub fn check_text(field: &str, text: &str) -> Result<(), Problem> {
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("{field} has a control character"),
        ));
    }
    Ok(())
}

/// Checks an id given in a path or a body.
pub fn booking_id(text: &str) -> Result<BookingId, Problem> {
    BookingId::new(text).map_err(Problem::invalid_id)
}

/// Checks an id given in a path or a body.
pub fn customer_id(text: &str) -> Result<CustomerId, Problem> {
    CustomerId::new(text).map_err(Problem::invalid_id)
}

/// Checks an id given in a path or a body.
pub fn payment_id(text: &str) -> Result<PaymentId, Problem> {
    PaymentId::new(text).map_err(Problem::invalid_id)
}

/// Checks an id given in a path.
pub fn link_id(text: &str) -> Result<LinkId, Problem> {
    LinkId::new(text).map_err(Problem::invalid_id)
}

/// Checks an id given in a path.
pub fn notification_id(text: &str) -> Result<NotificationId, Problem> {
    NotificationId::new(text).map_err(Problem::invalid_id)
}
