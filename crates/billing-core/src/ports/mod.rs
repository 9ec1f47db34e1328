//! The ports: what the core needs from the outside world, as traits. Adapters implement them;
//! the core never knows which one it talks to.

mod businesses;
mod clock;
mod customers;
mod gateway;
mod ids;
mod ledger;
mod mail;
mod notifications;

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
    LedgerTx,
};
#[cfg(test)]
pub use mail::MockMailer;
pub use mail::{MailError, MailReceipt, Mailer};
pub use notifications::{DeliveryFailure, DueNotification, NotificationLog, NotificationLogError};
