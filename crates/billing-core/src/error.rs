//! The typed errors of the use cases. Every rule breach changes nothing.

use chrono::{DateTime, Utc};

use crate::booking::BookingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, BusinessId, CustomerId, LinkId, NotificationId, PaymentId};
use crate::money::{Currency, Money, MoneyError};
use crate::payment::FoldError;
use crate::ports::{
    AmountRefused, BusinessesError, DirectoryError, GatewayError, LedgerError, LinkStoreError,
    NotificationLogError, ScheduleError,
};
use crate::receipt::Receipt;
use crate::status::BalanceError;

/// Why a use case refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    /// The business has no such booking.
    #[error("booking {0} not found")]
    BookingNotFound(BookingId),
    /// The business has no such payment.
    #[error("payment {0} not found")]
    PaymentNotFound(PaymentId),
    /// The business has no such customer.
    #[error("customer {0} not found")]
    CustomerNotFound(CustomerId),
    /// The customer has no default card to charge.
    #[error("customer {0} has no card on file")]
    NoCardOnFile(CustomerId),
    /// The customer has no saved card with that payment method id.
    #[error("customer has no saved card {0}")]
    CardNotFound(String),
    /// Amounts must be above zero.
    #[error("amount {0} is not positive")]
    NonPositiveAmount(Money),
    /// The amount is not in the booking's (or payment's) currency.
    #[error("amount in {got}, expected {expected}")]
    WrongCurrency {
        /// The currency required.
        expected: Currency,
        /// The currency given.
        got: Currency,
    },
    /// The amount has more decimal places than its currency allows, or is not a number.
    #[error(transparent)]
    InvalidAmount(#[from] MoneyError),
    /// More than the balance due less what is in flight and held.
    #[error("{requested} exceeds the {available} that can be charged")]
    AmountExceedsBalance {
        /// What was asked.
        requested: Money,
        /// What can be charged now.
        available: Money,
    },
    /// The booking owes nothing that can be charged now.
    #[error("booking {booking} has nothing to charge (balance due {balance_due})")]
    NothingToCharge {
        /// The booking.
        booking: BookingId,
        /// Its balance due.
        balance_due: Money,
    },
    /// More than the hold can still capture.
    #[error("{requested} exceeds the {capturable} the hold can capture")]
    CaptureExceedsHold {
        /// What was asked.
        requested: Money,
        /// What the hold can still capture.
        capturable: Money,
    },
    /// More than is still refundable on the payment.
    #[error("{requested} exceeds the {refundable} still refundable")]
    RefundExceedsRefundable {
        /// What was asked.
        requested: Money,
        /// What is left to refund.
        refundable: Money,
    },
    /// The payment is not a hold.
    #[error("payment {0} is not a hold")]
    NotAHold(PaymentId),
    /// The hold ran out.
    #[error("hold {0} has expired")]
    HoldExpired(PaymentId),
    /// The hold was already captured, canceled or never placed.
    #[error("hold {payment} is {state}, not open")]
    HoldNotOpen {
        /// The hold.
        payment: PaymentId,
        /// Its state.
        state: &'static str,
    },
    /// The payment did not move money, or was fully refunded.
    #[error("payment {payment} cannot be refunded: {reason}")]
    NotRefundable {
        /// The payment.
        payment: PaymentId,
        /// Why.
        reason: &'static str,
    },
    /// The key was used before for a different request.
    #[error("idempotency key {0} was used for a different request")]
    IdempotencyKeyReused(IdempotencyKey),
    /// A request under this key is still being processed.
    #[error("a request with idempotency key {0} is still in progress")]
    RequestInProgress(IdempotencyKey),
    /// The same charge was just made; repeat with an idempotency key or say it is intended.
    #[error("probable duplicate of payment {previous} on booking {booking}")]
    ProbableDuplicate {
        /// The booking.
        booking: BookingId,
        /// The payment just made.
        previous: PaymentId,
    },
    /// A booking with payments cannot change its customer or currency.
    #[error("booking {0} has payments: its customer and currency cannot change")]
    BookingHasPayments(BookingId),
    /// The booking's line items changed since the form adding one was drawn: the line was
    /// not added (again).
    #[error("booking {0} changed since it was read: the line was not added")]
    BookingChanged(BookingId),
    /// A field of the command is out of bounds (the message says which).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The booking's billing view is invalid.
    #[error(transparent)]
    InvalidBooking(#[from] BookingError),
    /// The gateway did nothing (rate limited, refused, unreachable). Any payment opened for it
    /// is recorded as failed and the idempotency key is free again.
    #[error("gateway error: {error}")]
    Gateway {
        /// The payment it concerned, if one was opened.
        payment: Option<PaymentId>,
        /// The gateway's error.
        error: GatewayError,
    },
    /// A business with that id already exists.
    #[error("business {0} already exists")]
    BusinessExists(BusinessId),
    /// The business store failed; nothing was written.
    #[error(transparent)]
    Businesses(#[from] BusinessesError),
    /// The ledger failed; nothing was written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The customer directory failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// Payment links need the hosted pages' settings, which this service was not given.
    #[error("payment links and card requests are not configured")]
    HostedPagesNotConfigured,
    /// The business has no such notification.
    #[error("notification {0} not found")]
    NotificationNotFound(NotificationId),
    /// The business has no such link.
    #[error("link {0} not found")]
    LinkNotFound(LinkId),
    /// The link was already used or canceled.
    #[error("link {link} is {state}, not open")]
    LinkNotOpen {
        /// The link.
        link: LinkId,
        /// Its state.
        state: &'static str,
    },
    /// No usable link has this token: unknown, expired or canceled, told apart to nobody.
    #[error("this link is not valid")]
    LinkUnavailable,
    /// The link was already used: paid, or its card saved.
    #[error("this link was already used")]
    LinkAlreadyUsed,
    /// The link's bookings no longer owe what it says (a price changed, a payment was made or
    /// is in progress): staff can send a new link.
    #[error("the bookings of this link changed since it was sent")]
    LinkChanged,
    /// An email was asked for a customer without an email address.
    #[error("customer {0} has no email address")]
    NoEmailAddress(CustomerId),
    /// A text was asked for a customer without a phone number.
    #[error("customer {0} has no phone number")]
    NoPhoneNumber(CustomerId),
    /// A text was asked for a customer whose number replied STOP: no text may go to it until
    /// they reply START.
    #[error("customer {0} replied STOP to texts")]
    TextsRefused(CustomerId),
    /// An email could not be written (its template failed or made an unsendable message).
    #[error("email could not be written: {0}")]
    Email(String),
    /// The link store failed; nothing was written.
    #[error(transparent)]
    Links(#[from] LinkStoreError),
    /// The customer portal's store failed; nothing was written.
    #[error(transparent)]
    Portal(#[from] crate::ports::PortalStoreError),
    /// The notification log failed.
    #[error(transparent)]
    Notifications(#[from] NotificationLogError),
    /// Payment automation's store failed.
    #[error(transparent)]
    Schedules(#[from] ScheduleError),
    /// The booking was canceled: nothing more is taken for it but its cancellation fee.
    #[error("booking {0} is canceled")]
    BookingCanceled(BookingId),
    /// A payment for the booking is being settled: a checkout waits until it has ended.
    #[error("a payment for booking {0} is in flight; start the checkout once it has ended")]
    PaymentInFlight(BookingId),
    /// A staff member's details are refused.
    #[error(transparent)]
    InvalidStaff(#[from] crate::staff::StaffError),
    /// A member of some business already signs in with this address.
    #[error("a staff member with email {0} already exists")]
    StaffEmailTaken(String),
    /// No such member of this business's staff.
    #[error("staff member {0} not found")]
    StaffNotFound(crate::ids::StaffId),
    /// The email address or the password is wrong (which one is not said).
    #[error("the email address or the password is wrong")]
    SignInRefused,
    /// The invitation is unknown, used or expired.
    #[error("this invitation is used or expired; ask for a new one")]
    InvitationUnavailable,
    /// An owner cannot remove themselves (another owner can).
    #[error("an owner cannot remove themselves")]
    CannotRemoveSelf,
    /// The business's last owner cannot be removed.
    #[error("the last owner of a business cannot be removed")]
    LastOwner,
    /// The member was removed: they cannot be invited again.
    #[error("staff member {0} was removed")]
    StaffRemoved(crate::ids::StaffId),
    /// The business has no such API key.
    #[error("API key {0} not found")]
    ApiKeyNotFound(crate::ids::ApiKeyId),
    /// The business's last active API key cannot be revoked: make another first.
    #[error("the last active API key of a business cannot be revoked; create another first")]
    LastApiKey,
    /// The business's connected account cannot take card payments yet (its onboarding is
    /// not finished, or the gateway restricted it): nothing was charged or held.
    #[error("the connected account {account} cannot take card payments yet{}", disabled_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    AccountCannotCharge {
        /// The connected account (`acct_...`).
        account: String,
        /// Why, in the gateway's words, when it says.
        disabled_reason: Option<String>,
    },
    /// The gateway in use connects no accounts (no onboarding is wired).
    #[error("this gateway does not connect accounts")]
    OnboardingUnavailable,
    /// The business has not started connecting an account.
    #[error("the business has no connected account; start onboarding first")]
    AccountNotConnected,
    /// The staff store failed.
    #[error(transparent)]
    Staff(#[from] crate::ports::StaffStoreError),
    /// A password could not be hashed.
    #[error(transparent)]
    PasswordHash(#[from] crate::ports::PasswordHashError),
    /// A checkout's return URL is refused.
    #[error(transparent)]
    InvalidReturnUrl(#[from] crate::link::ReturnUrlError),
    /// Stored entries do not fold into a valid history.
    #[error("stored history is inconsistent: {0}")]
    Inconsistent(String),
    /// The gateway can never charge this amount (a currency it does not take, under its
    /// minimum, finer than its unit): no payment was opened.
    #[error(transparent)]
    AmountNotChargeable(#[from] AmountRefused),
    /// Only a charge or hold waiting for the customer to authenticate, or an open hold, can be
    /// canceled.
    #[error("payment {payment} is {state}: it cannot be canceled")]
    PaymentNotCancelable {
        /// The payment.
        payment: PaymentId,
        /// Its state.
        state: &'static str,
    },
    /// Only a payment whose outcome is not known yet can be marked failed.
    #[error("payment {payment} is {state}, not pending")]
    PaymentNotPending {
        /// The payment.
        payment: PaymentId,
        /// Its state.
        state: &'static str,
    },
    /// The gateway's search may not show a payment this recent yet: ask again later.
    #[error(
        "payment {payment} is too recent for the gateway to say it does not exist; try again after {retry_at}"
    )]
    TooRecentToJudge {
        /// The payment.
        payment: PaymentId,
        /// When the gateway's answer can be believed.
        retry_at: DateTime<Utc>,
    },
    /// The gateway has the payment staff asked to mark failed: it was settled from the
    /// gateway's record instead, as the receipt says.
    #[error("the gateway has payment {}: it was settled from the gateway's record", .0.payment.id)]
    PaymentExistsAtGateway(Box<Receipt>),
    /// A card with a payment in flight cannot be removed (the payment may still need it).
    #[error("card {payment_method} is used by payment {payment}, still pending")]
    CardInUse {
        /// The card.
        payment_method: String,
        /// The payment in flight.
        payment: PaymentId,
    },
    /// A hold with a capture in flight cannot be released until the capture is settled.
    #[error("a capture of hold {0} is in flight: it cannot be released now")]
    CaptureInFlight(PaymentId),
    /// The hold cannot be captured in several parts (the gateway account does not allow it).
    #[error(
        "hold {0} cannot be captured in several parts on this account: capture the amount as final, or charge the rest separately"
    )]
    MulticaptureUnavailable(PaymentId),
    /// The gateway was called, and its answer could not be recorded: the payment stays
    /// pending, and the reconciler settles it from the gateway's record.
    #[error(
        "the gateway was called for payment {payment}, but its answer could not be recorded ({error}): the payment stays pending until the reconciler settles it"
    )]
    OutcomeNotRecorded {
        /// The payment.
        payment: PaymentId,
        /// The storage failure.
        error: LedgerError,
    },
}

impl From<FoldError> for BillingError {
    fn from(error: FoldError) -> Self {
        BillingError::Inconsistent(error.to_string())
    }
}

impl From<BalanceError> for BillingError {
    fn from(error: BalanceError) -> Self {
        match error {
            BalanceError::Booking(e) => BillingError::InvalidBooking(e),
            BalanceError::Money(e) => BillingError::Inconsistent(e.to_string()),
        }
    }
}

impl BillingError {
    /// A stable machine-readable code (the HTTP problem type's last segment).
    pub fn code(&self) -> &'static str {
        match self {
            BillingError::BookingNotFound(_) => "booking_not_found",
            BillingError::PaymentNotFound(_) => "payment_not_found",
            BillingError::CustomerNotFound(_) => "customer_not_found",
            BillingError::NoCardOnFile(_) => "no_card_on_file",
            BillingError::CardNotFound(_) => "card_not_found",
            BillingError::NonPositiveAmount(_) => "non_positive_amount",
            BillingError::WrongCurrency { .. } => "wrong_currency",
            BillingError::InvalidAmount(MoneyError::TooManyDecimals { .. }) => "too_many_decimals",
            BillingError::InvalidAmount(MoneyError::UnknownCurrency(_)) => "unknown_currency",
            BillingError::InvalidAmount(MoneyError::CurrencyMismatch { .. }) => "wrong_currency",
            BillingError::InvalidAmount(_) => "invalid_amount",
            BillingError::AmountExceedsBalance { .. } => "amount_exceeds_balance",
            BillingError::NothingToCharge { .. } => "nothing_to_charge",
            BillingError::CaptureExceedsHold { .. } => "capture_exceeds_hold",
            BillingError::RefundExceedsRefundable { .. } => "refund_exceeds_refundable",
            BillingError::NotAHold(_) => "not_a_hold",
            BillingError::HoldExpired(_) => "hold_expired",
            BillingError::HoldNotOpen { .. } => "hold_not_open",
            BillingError::NotRefundable { .. } => "not_refundable",
            BillingError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            BillingError::RequestInProgress(_) => "request_in_progress",
            BillingError::ProbableDuplicate { .. } => "probable_duplicate",
            BillingError::BookingHasPayments(_) => "booking_has_payments",
            BillingError::BookingChanged(_) => "booking_changed",
            BillingError::InvalidInput(_) => "invalid_input",
            BillingError::InvalidBooking(_) => "invalid_booking",
            BillingError::BusinessExists(_) => "business_exists",
            BillingError::Gateway { error, .. } => error.code(),
            BillingError::HostedPagesNotConfigured => "hosted_pages_not_configured",
            BillingError::NotificationNotFound(_) => "notification_not_found",
            BillingError::LinkNotFound(_) => "link_not_found",
            BillingError::LinkNotOpen { .. } => "link_not_open",
            BillingError::LinkUnavailable => "link_unavailable",
            BillingError::LinkAlreadyUsed => "link_already_used",
            BillingError::LinkChanged => "link_changed",
            BillingError::NoEmailAddress(_) => "no_email_address",
            BillingError::NoPhoneNumber(_) => "no_phone_number",
            BillingError::TextsRefused(_) => "texts_refused",
            BillingError::Email(_) => "email_failed",
            BillingError::Ledger(LedgerError::Conflict(_)) => "busy",
            BillingError::Ledger(_)
            | BillingError::Businesses(_)
            | BillingError::Directory(_)
            | BillingError::Links(_)
            | BillingError::Portal(_)
            | BillingError::Notifications(_)
            | BillingError::Schedules(_) => "storage_unavailable",
            BillingError::BookingCanceled(_) => "booking_canceled",
            BillingError::PaymentInFlight(_) => "payment_in_flight",
            BillingError::InvalidReturnUrl(_) => "invalid_return_url",
            BillingError::InvalidStaff(_) => "invalid_staff",
            BillingError::StaffEmailTaken(_) => "staff_email_taken",
            BillingError::StaffNotFound(_) => "staff_not_found",
            BillingError::SignInRefused => "sign_in_refused",
            BillingError::InvitationUnavailable => "invitation_unavailable",
            BillingError::CannotRemoveSelf => "cannot_remove_self",
            BillingError::LastOwner => "last_owner",
            BillingError::StaffRemoved(_) => "staff_removed",
            BillingError::ApiKeyNotFound(_) => "api_key_not_found",
            BillingError::LastApiKey => "last_api_key",
            BillingError::AccountCannotCharge { .. } => "account_cannot_charge",
            BillingError::OnboardingUnavailable => "onboarding_unavailable",
            BillingError::AccountNotConnected => "account_not_connected",
            BillingError::Staff(_) => "storage_unavailable",
            BillingError::PasswordHash(_) => "password_hash_failed",
            BillingError::Inconsistent(_) => "inconsistent_history",
            BillingError::AmountNotChargeable(_) => "amount_not_chargeable",
            BillingError::PaymentNotCancelable { .. } => "payment_not_cancelable",
            BillingError::PaymentNotPending { .. } => "payment_not_pending",
            BillingError::TooRecentToJudge { .. } => "too_recent_to_judge",
            BillingError::PaymentExistsAtGateway(_) => "payment_exists_at_gateway",
            BillingError::CardInUse { .. } => "card_in_use",
            BillingError::CaptureInFlight(_) => "capture_in_flight",
            BillingError::MulticaptureUnavailable(_) => "multicapture_unavailable",
            BillingError::OutcomeNotRecorded { .. } => "outcome_not_recorded",
        }
    }
}
