//! Recovery points for the crash campaign (`cargo xtask chaos`, docs/reliability.md).
//!
//! A crash can come at any instant, but three matter for money: after the payment is recorded
//! pending and before the gateway is asked; after the gateway did it and before its answer is
//! recorded. To kill `billingd` exactly there, a campaign starts it with
//! `BILLINGD_CHAOS_PAUSE=<point>:<operation>:<nth>` (for example
//! `after_gateway:capture:1`): the gateway is wrapped in [`PausingGateway`], which lets every
//! call through except the `nth` call of the operation, where it prints a marker line on
//! stderr (`chaos: paused at after_gateway capture #1 (pay_...)`) and waits forever, so that
//! the campaign can `kill -9` the process at that very point.
//!
//! Without the variable nothing is wrapped: [`arm_from_env`] hands the gateway back as it is,
//! and nothing here runs.

use std::ffi::OsString;
use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::ports::{
    AmountRefused, CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayEvent,
    GatewayPayment, GatewayRecord, GatewayRefund, NewGatewayCustomer, PaymentGateway,
    PaymentRequest, RefundRequest, SetupState,
};
use chrono::{DateTime, Utc};

/// The environment variable that arms a pause; without it the gateway is not wrapped.
pub const PAUSE_VARIABLE: &str = "BILLINGD_CHAOS_PAUSE";

/// Where, around the gateway call, the process stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The payment is recorded pending; the gateway was not asked.
    BeforeGateway,
    /// The gateway did what it was asked (or refused it); its answer is not recorded.
    AfterGateway,
}

impl Point {
    /// The name in the variable and the marker.
    pub fn name(self) -> &'static str {
        match self {
            Point::BeforeGateway => "before_gateway",
            Point::AfterGateway => "after_gateway",
        }
    }
}

/// The money-moving gateway calls a pause can be armed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A charge, captured at once (a command, a link's page, one booking of a bulk charge,
    /// or the reconciler's resend).
    Charge,
    /// A hold placed.
    Authorize,
    /// A capture of a hold.
    Capture,
    /// A refund.
    Refund,
    /// A hold released, or a payment waiting for authentication given up.
    Cancel,
    /// Any of the above: the nth money-moving call, whatever it is.
    Any,
}

impl Operation {
    /// The name in the variable and the marker.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Charge => "charge",
            Operation::Authorize => "authorize",
            Operation::Capture => "capture",
            Operation::Refund => "refund",
            Operation::Cancel => "cancel",
            Operation::Any => "any",
        }
    }
}

/// A value of [`PAUSE_VARIABLE`] that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPause {
    value: String,
    why: &'static str,
}

impl fmt::Display for InvalidPause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PAUSE_VARIABLE}={:?}: {} (expected <point>:<operation>:<nth>, point \
             before_gateway|after_gateway, operation charge|authorize|capture|refund|cancel|any, \
             nth from 1)",
            self.value, self.why
        )
    }
}

impl std::error::Error for InvalidPause {}

/// Where to pause: at the `nth` call (counted from 1 since the process started) of
/// `operation`, at `point`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Before or after the gateway call.
    pub point: Point,
    /// Which calls are counted.
    pub operation: Operation,
    /// Which of them pauses.
    pub nth: NonZeroU64,
}

impl FromStr for Pause {
    type Err = InvalidPause;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = |why| InvalidPause {
            value: value.to_owned(),
            why,
        };
        let mut parts = value.trim().split(':');
        let (Some(point), Some(operation), Some(nth), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("three parts separated by ':'"));
        };
        let point = match point {
            "before_gateway" => Point::BeforeGateway,
            "after_gateway" => Point::AfterGateway,
            _ => return Err(invalid("unknown point")),
        };
        let operation = match operation {
            "charge" => Operation::Charge,
            "authorize" => Operation::Authorize,
            "capture" => Operation::Capture,
            "refund" => Operation::Refund,
            "cancel" => Operation::Cancel,
            "any" => Operation::Any,
            _ => return Err(invalid("unknown operation")),
        };
        let nth = nth
            .parse::<NonZeroU64>()
            .map_err(|_| invalid("nth must be a whole number from 1"))?;
        Ok(Pause {
            point,
            operation,
            nth,
        })
    }
}

impl fmt::Display for Pause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.point.name(),
            self.operation.name(),
            self.nth
        )
    }
}

/// The gateway as it is when [`PAUSE_VARIABLE`] is not set, else wrapped in a
/// [`PausingGateway`] armed as the variable says. A value that cannot be read stops the
/// process at start (exit code 2, the reason on stderr): better than a campaign run that
/// never pauses.
pub fn arm_from_env(gateway: Arc<dyn PaymentGateway>) -> Arc<dyn PaymentGateway> {
    match arm(gateway, std::env::var_os(PAUSE_VARIABLE)) {
        Ok(gateway) => gateway,
        Err(error) => {
            eprintln!("billingd: {error}");
            std::process::exit(2);
        }
    }
}

/// [`arm_from_env`] with the variable's value given.
fn arm(
    gateway: Arc<dyn PaymentGateway>,
    value: Option<OsString>,
) -> Result<Arc<dyn PaymentGateway>, InvalidPause> {
    let Some(value) = value else {
        return Ok(gateway);
    };
    let pause: Pause = value.to_string_lossy().parse()?;
    tracing::warn!(
        %pause,
        "{PAUSE_VARIABLE} is set: this process will stop for good at that gateway call (crash testing only)"
    );
    Ok(Arc::new(PausingGateway::new(gateway, pause)))
}

/// A gateway that passes every call to the one it wraps, except the one its [`Pause`] names,
/// where it prints the marker line on stderr and never answers.
pub struct PausingGateway {
    inner: Arc<dyn PaymentGateway>,
    pause: Pause,
    counted: AtomicU64,
}

impl fmt::Debug for PausingGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PausingGateway")
            .field("pause", &self.pause)
            .field("counted", &self.counted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl PausingGateway {
    /// Wraps `inner`, armed at `pause`.
    pub fn new(inner: Arc<dyn PaymentGateway>, pause: Pause) -> Self {
        PausingGateway {
            inner,
            pause,
            counted: AtomicU64::new(0),
        }
    }

    /// Counts a call of `operation`; its number when it is the one to pause at.
    fn is_armed_at(&self, operation: Operation) -> Option<u64> {
        if self.pause.operation != Operation::Any && self.pause.operation != operation {
            return None;
        }
        let number = self.counted.fetch_add(1, Ordering::SeqCst) + 1;
        (number == self.pause.nth.get()).then_some(number)
    }

    /// Runs `call`, or stops for good before or after it when it is the armed one.
    async fn guard<T>(
        &self,
        operation: Operation,
        subject: &str,
        call: impl Future<Output = Result<T, GatewayError>> + Send,
    ) -> Result<T, GatewayError> {
        let Some(number) = self.is_armed_at(operation) else {
            return call.await;
        };
        if self.pause.point == Point::AfterGateway {
            // The gateway acts; its answer is dropped with the process.
            let _answer = call.await;
        }
        // One write of a whole line, which the campaign waits for before it kills.
        eprintln!(
            "chaos: paused at {} {} #{number} ({subject})",
            self.pause.point.name(),
            operation.name()
        );
        std::future::pending().await
    }
}

#[async_trait]
impl PaymentGateway for PausingGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        self.inner.create_customer(customer).await
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        self.inner.list_cards(account, gateway_customer).await
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.inner
            .attach_card(account, gateway_customer, payment_method)
            .await
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.inner.detach_card(account, payment_method).await
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        self.inner
            .set_default_card(account, gateway_customer, payment_method)
            .await
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.guard(
            Operation::Charge,
            request.payment.as_str(),
            self.inner.charge(request),
        )
        .await
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.guard(
            Operation::Authorize,
            request.payment.as_str(),
            self.inner.authorize(request),
        )
        .await
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        self.guard(
            Operation::Capture,
            request.capture.as_str(),
            self.inner.capture(request),
        )
        .await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        // A release names the hold by the gateway's id only.
        self.guard(
            Operation::Cancel,
            &request.payment_reference,
            self.inner.cancel(request),
        )
        .await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.guard(
            Operation::Refund,
            request.refund.as_str(),
            self.inner.refund(request),
        )
        .await
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        self.inner.find_payment(account, payment).await
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        self.inner
            .find_refund(account, payment_reference, refund)
            .await
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        self.inner
            .start_card_setup(account, gateway_customer, idempotency_key)
            .await
    }

    async fn confirm_card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
        payment_method: &str,
        return_url: &str,
    ) -> Result<SetupState, GatewayError> {
        self.inner
            .confirm_card_setup(account, setup_reference, payment_method, return_url)
            .await
    }

    async fn card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
    ) -> Result<SetupState, GatewayError> {
        self.inner.card_setup(account, setup_reference).await
    }

    async fn payment_record(
        &self,
        account: Option<String>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        self.inner.payment_record(account, reference).await
    }

    async fn events_since(
        &self,
        account: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError> {
        self.inner.events_since(account, since).await
    }

    fn check_amount(&self, amount: &Money) -> Result<(), AmountRefused> {
        self.inner.check_amount(amount)
    }

    fn idempotency_window(&self) -> chrono::Duration {
        self.inner.idempotency_window()
    }

    fn search_lag(&self) -> chrono::Duration {
        self.inner.search_lag()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use billing_core::ids::{BusinessId, CustomerId};
    use billing_core::money::Currency;
    use billing_core::payment::CardRef;
    use billing_core::ports::Presence;
    use billing_sandbox::SandboxGateway;

    use super::*;
    use crate::wiring::SystemClock;

    #[test]
    fn pauses_are_read_strictly() {
        let pause: Pause = "after_gateway:capture:2".parse().expect("valid");
        assert_eq!(pause.point, Point::AfterGateway);
        assert_eq!(pause.operation, Operation::Capture);
        assert_eq!(pause.nth.get(), 2);
        assert_eq!(pause.to_string(), "after_gateway:capture:2");
        for bad in [
            "",
            "after_gateway:capture",
            "after_gateway:capture:0",
            "after_gateway:capture:-1",
            "after_gateway:capture:1:2",
            "during_gateway:capture:1",
            "before_gateway:payout:1",
        ] {
            let refused = bad.parse::<Pause>().expect_err(bad).to_string();
            assert!(refused.contains(PAUSE_VARIABLE), "{refused}");
        }
    }

    #[test]
    fn without_the_variable_the_gateway_is_not_wrapped() {
        let sandbox: Arc<dyn PaymentGateway> = Arc::new(SandboxGateway::new(Arc::new(SystemClock)));
        let armed = arm(Arc::clone(&sandbox), None).expect("no variable");
        assert!(Arc::ptr_eq(&sandbox, &armed));
        assert!(arm(sandbox, Some("nonsense".into())).is_err());
    }

    /// A sandbox customer's card and a charge request for `payment`.
    async fn charge_of(sandbox: &SandboxGateway, payment: &str) -> PaymentRequest {
        let business = BusinessId::new("chaos-test").expect("id");
        let customer = sandbox
            .create_customer(&NewGatewayCustomer {
                account: None,
                business,
                customer: CustomerId::new("c1").expect("id"),
                name: "Casey".into(),
                email: None,
            })
            .await
            .expect("customer");
        let card = sandbox
            .attach_card(None, &customer, "pm_card_visa")
            .await
            .expect("card");
        PaymentRequest {
            account: None,
            payment: PaymentId::new(payment).expect("id"),
            idempotency_key: format!("{payment}:charge"),
            card: CardRef {
                gateway_customer: customer,
                payment_method: card.payment_method,
            },
            amount: Money::from_minor(5_000, Currency::USD),
            description: None,
            presence: Presence::OffSession,
        }
    }

    /// Whether the call answers within a moment (a paused one never does).
    async fn answers<T>(call: impl Future<Output = T>) -> bool {
        tokio::time::timeout(Duration::from_millis(300), call)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn the_nth_call_stops_before_the_gateway_and_the_others_pass() {
        let sandbox = SandboxGateway::new(Arc::new(SystemClock));
        let pause = "before_gateway:charge:2".parse().expect("valid");
        let gateway = PausingGateway::new(Arc::new(sandbox.clone()), pause);
        let first = charge_of(&sandbox, "pay_first").await;
        assert!(answers(gateway.charge(&first)).await);
        // Other operations are not counted.
        assert!(answers(gateway.find_payment(None, &first.payment)).await);
        let second = charge_of(&sandbox, "pay_second").await;
        assert!(!answers(gateway.charge(&second)).await);
        assert_eq!(
            sandbox.payment_attempts(None),
            1,
            "the gateway was not asked"
        );
        let third = charge_of(&sandbox, "pay_third").await;
        assert!(
            answers(gateway.charge(&third)).await,
            "only one call pauses"
        );
    }

    #[tokio::test]
    async fn after_the_gateway_the_payment_is_made_and_never_answered() {
        let sandbox = SandboxGateway::new(Arc::new(SystemClock));
        let pause = "after_gateway:any:1".parse().expect("valid");
        let gateway = PausingGateway::new(Arc::new(sandbox.clone()), pause);
        let request = charge_of(&sandbox, "pay_made").await;
        assert!(!answers(gateway.charge(&request)).await);
        let made = sandbox
            .find_payment(None, &request.payment)
            .await
            .expect("lookup");
        assert!(made.is_some(), "the gateway made it");
    }
}
