//! The ports: what the core needs from the outside world, as traits. Adapters implement them;
//! the core never knows which one it talks to.

mod businesses;
mod clock;
mod customers;
mod gateway;
mod ids;
mod ledger;
mod links;
mod mail;
mod notifications;
mod secrets;

pub use businesses::{Businesses, BusinessesError};
pub use clock::Clock;
pub use customers::{CustomerDirectory, DirectoryError};
#[cfg(test)]
pub use gateway::MockPaymentGateway;
pub use gateway::{
    CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayPayment, GatewayRefund,
    GatewayStatus, NewGatewayCustomer, PaymentGateway, PaymentRequest, RefundRequest, RefundStatus,
};
pub use ids::IdGenerator;
pub use ledger::{
    BookingFilter, BookingLedger, CustomerOutstanding, IdempotencyRecord, Ledger, LedgerError,
    LedgerTx, StoredResponse,
};
pub use links::{LinkByToken, LinkStoreError, PaymentLinks};
#[cfg(test)]
pub use mail::MockMailer;
pub use mail::{EmailTemplates, MailError, MailReceipt, Mailer, TemplateError};
pub use notifications::{DeliveryFailure, DueNotification, NotificationLog, NotificationLogError};
pub use secrets::SecretSource;
