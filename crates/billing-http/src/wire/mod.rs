//! The JSON shapes of the API: what requests carry and what responses show, with their
//! OpenAPI schemas, one module per resource. Kept apart from the core's types so that the wire
//! format is a decision of the API, not a side effect of a refactoring in the core.
//!
//! Every answer is made from the core's values alone (a receipt, a view, a page), so that the
//! same value always writes the same bytes: a replayed command answers exactly as it first did.

mod automation;
mod bookings;
mod bulk;
mod connect;
mod customers;
mod links;
mod notifications;
mod ops;
mod payments;
mod portal;
mod reports;

pub use automation::{
    ActionJson, BookingAutomationJson, CancelRequest, CancellationFeeJson, CancellationJson,
    CustomerAutomationJson, DeclineKindJson, FailuresJson, HoldRenewalJson, NoShowJson,
    PaymentSettingsJson, PlannedJson, PolicyJson, PolicyNameJson, PutBookingAutomation, ReasonJson,
    RunJson, RunList, ShareJson,
};
pub use bookings::{
    BookingJson, BookingList, BookingSummaryJson, LineItemInput, LineItemJson, LineItemKindJson,
    PutBooking, StatusJson,
};
pub use bulk::{BulkRequest, BulkResponse, BulkResultJson};
pub use connect::{AccountStandingJson, ConnectedAccountJson, OnboardingJson, OnboardingRequest};
pub use customers::{
    AttachCard, CardJson, CardList, CustomerBalanceJson, CustomerJson, NewCustomer,
};
pub use links::{
    CardRequestRequest, CheckoutJson, CheckoutRequest, CheckoutStartedJson, CheckoutStepJson,
    IssuedLinkJson, LinkJson, LinkList, LinkStatusJson, LinkTypeJson, LinkedBookingJson,
    PaymentLinkRequest,
};
pub use notifications::{
    CarrierJson, CarrierStatusJson, ChannelJson, DeliveryJson, NotificationJson,
    NotificationKindJson, NotificationList,
};
pub use ops::{HealthJson, WebhookAck};
pub use payments::{
    AllocationJson, AuthorizationRequest, CaptureRequest, ChargeRequest, CollectionMethodJson,
    CollectionRequest, FailureJson, OriginJson, PaymentJson, PaymentKindJson, PaymentStateJson,
    PaymentViewJson, ReceiptJson, RefundRequest, SuggestedActionJson,
};
pub use portal::{PortalLinkRequest, PortalLinkSentJson};
pub use reports::{OutstandingJson, OutstandingRowJson, cursor, parse_cursor};

use billing_core::error::BillingError;
use billing_core::ids::{BookingId, CustomerId, LinkId, NotificationId, PaymentId};
use billing_core::money::{Amount, Money};
use billing_core::phone::{PhoneError, PhoneNumber, PhoneRegion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;

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

/// The default of the `send_email` and `final` flags.
fn yes() -> bool {
    true
}

/// Reads an amount as a client typed it (`"30.00"`): a plain decimal, which the core reads in
/// the currency of what it applies to (the booking's, the payment's) and refuses there when it
/// has too many digits. Text that is no number is `invalid_amount` here.
pub fn parse_amount(amount: Option<&str>) -> Result<Option<Amount>, BillingError> {
    amount
        .map(Amount::parse)
        .transpose()
        .map_err(BillingError::InvalidAmount)
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

/// Reads a phone number given in a body: E.164, or a national number read in `region`. 422
/// `invalid_phone` says why a number is refused.
pub fn phone_number(text: &str, region: Option<&str>) -> Result<PhoneNumber, Problem> {
    let invalid = |error: PhoneError| {
        Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
            error.to_string(),
        )
    };
    let region = region
        .map(PhoneRegion::from_code)
        .transpose()
        .map_err(invalid)?;
    PhoneNumber::parse(text, region).map_err(invalid)
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
