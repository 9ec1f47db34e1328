//! What the sandbox's tests share: a sandbox on a test clock, customers, requests, and a data
//! folder removed when dropped. Not every test file uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    CaptureRequest, NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence, RefundRequest,
};
use billing_core::testkit::FixedClock;
use billing_sandbox::SandboxGateway;

pub const ACCT: Option<&str> = Some("acct_venue");
pub const RETURN_URL: &str = "https://billing.example.com/pay/tok_1/return";

pub fn acct() -> Option<String> {
    ACCT.map(str::to_owned)
}

pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

pub fn pid(text: &str) -> PaymentId {
    PaymentId::new(text).expect("id")
}

pub fn sandbox() -> (SandboxGateway, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::default());
    (SandboxGateway::new(clock.clone()), clock)
}

pub async fn customer(gateway: &SandboxGateway, account: Option<String>, name: &str) -> String {
    gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account,
            customer: CustomerId::new(name).expect("id"),
            name: name.into(),
            email: None,
        })
        .await
        .expect("customer")
}

/// A customer of the connected account with `pm_card_visa` saved: (customer, saved card id).
pub async fn visa_customer(gateway: &SandboxGateway, name: &str) -> (String, String) {
    let customer = customer(gateway, acct(), name).await;
    let card = gateway
        .attach_card(acct(), &customer, "pm_card_visa")
        .await
        .expect("attached");
    (customer, card.payment_method)
}

/// An off-session payment request on the connected account.
pub fn request(payment: &str, customer: &str, pm: &str, amount: Money) -> PaymentRequest {
    PaymentRequest {
        account: acct(),
        payment: pid(payment),
        idempotency_key: format!("{payment}:attempt"),
        card: CardRef {
            gateway_customer: customer.into(),
            payment_method: pm.into(),
        },
        amount,
        description: None,
        presence: Presence::OffSession,
    }
}

/// The same request made with the customer there.
pub fn on_session(mut request: PaymentRequest, save_card: bool) -> PaymentRequest {
    request.presence = Presence::OnSession {
        return_url: RETURN_URL.into(),
        save_card,
    };
    request
}

pub fn capture(reference: &str, id: &str, amount: Money, final_capture: bool) -> CaptureRequest {
    CaptureRequest {
        account: acct(),
        payment_reference: reference.into(),
        capture: pid(id),
        idempotency_key: format!("{id}:attempt"),
        amount,
        final_capture,
    }
}

pub fn refund(reference: &str, id: &str, amount: Money) -> RefundRequest {
    RefundRequest {
        account: acct(),
        payment_reference: reference.into(),
        refund: pid(id),
        idempotency_key: format!("{id}:attempt"),
        amount,
        reason: None,
    }
}

/// A data folder of its own for one test, removed when dropped.
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "billing-sandbox-test-{name}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        DataDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn journal(&self) -> PathBuf {
        self.0.join(billing_sandbox::JOURNAL_FILE)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
