//! The ports: what the core needs from the outside world, as traits. Adapters implement them;
//! the core never knows which one it talks to.
//!
//! Every port is object safe: the [`Billing`](crate::billing::Billing) service holds its store
//! as an `Arc<dyn Store>` and its gateway as an `Arc<dyn PaymentGateway>`, so that every driving
//! adapter (the HTTP API, a console, a scheduler, an embedding service) drives the same
//! service the same way, whatever adapters the configuration picked.

mod businesses;
mod clock;
mod connect;
mod customers;
mod gateway;
mod ids;
mod ledger;
mod links;
mod mail;
mod notifications;
mod portal;
mod schedules;
mod secrets;
mod staff;
mod texts;

pub use businesses::{ApiKeyRecord, Businesses, BusinessesError, KeyRevocation};
pub use clock::Clock;
pub use connect::{AccountConnection, AccountOnboarding, ConnectedAccounts, NewConnectedAccount};
pub use customers::{CustomerDirectory, DirectoryError};
#[cfg(test)]
pub use gateway::MockPaymentGateway;
pub use gateway::{
    AmountRefused, CancelRequest, CaptureRequest, CardSetup, DisputeStatus, EventSubject,
    GatewayDispute, GatewayError, GatewayEvent, GatewayPayment, GatewayRecord, GatewayRefund,
    GatewayStatus, NewGatewayCustomer, NextAction, PaymentGateway, PaymentRequest, Presence,
    RefundRequest, RefundStatus, SetupState, SetupStatus, WebhookRejected, WebhookVerifier,
};
pub use ids::IdGenerator;
pub use ledger::{
    BookingFilter, BookingLedger, Committed, CustomerOutstanding, IdempotencyRecord, KeyUpdate,
    Ledger, LedgerError, LedgerRead, LedgerSnapshot, LedgerWrite, OutstandingQuery,
    OutstandingTotal, PaymentsQuery,
};
pub use links::{LinkByToken, LinkStoreError, PageAddresses, PaymentLinks};
#[cfg(test)]
pub use mail::MockMailer;
pub use mail::{EmailTemplates, MailError, MailReceipt, Mailer, TemplateError};
pub use notifications::{DeliveryFailure, DueNotification, NotificationLog, NotificationLogError};
pub use portal::{PortalPassByToken, PortalPasses, PortalStoreError};
pub use schedules::{
    AutomationRun, BookingSchedule, DueSchedule, RunFilter, RunOutcome, ScheduleError,
    ScheduleFilter, Schedules,
};
pub use secrets::SecretSource;
pub use staff::{
    PasswordHashError, PasswordHasher, StaffAccounts, StaffPurge, StaffRemoval, StaffStoreError,
};
#[cfg(test)]
pub use texts::MockTextSender;
pub use texts::{
    InboundText, OutboundText, ReplyIntent, TextCallbackRejected, TextCallbacks, TextError,
    TextEvent, TextReceipt, TextSender, TextStatus, TextStatusReport,
};

/// Everything the engine keeps: the ledger, customers and their cards, businesses and their
/// API keys, payment links, the log of notifications, payment automation's schedules, the
/// staff who sign in to the console, and each business's connected account. A storage adapter implements every port of it; the core
/// holds it as one `Arc<dyn Store>`.
pub trait Store:
    Ledger
    + CustomerDirectory
    + Businesses
    + PaymentLinks
    + NotificationLog
    + Schedules
    + StaffAccounts
    + ConnectedAccounts
    + PortalPasses
{
}

impl<T> Store for T where
    T: Ledger
        + CustomerDirectory
        + Businesses
        + PaymentLinks
        + NotificationLog
        + Schedules
        + StaffAccounts
        + ConnectedAccounts
        + PortalPasses
{
}
