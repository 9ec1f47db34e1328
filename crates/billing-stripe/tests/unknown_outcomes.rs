//! A refusal is "nothing done" only when nothing before it may have been done: once an attempt
//! of a call may have been carried out (a reset connection, a 5xx, a timeout), a refusal of the
//! resend (400, 404, 409...) says nothing of what that attempt did, and the outcome is
//! unknown. A refused idempotency key (used before with other parameters) is never "nothing
//! done" either: the earlier request under it may have moved money.
//!
//! A scripted server plays Stripe's side, one step per request; the fake Stripe plays the
//! refused key.

mod common;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use billing_core::ports::{GatewayError, PaymentGateway, RefundRequest};
use billing_stripe::{StripeConfig, StripeGateway};
use common::{account, customer_with, eur, pid, request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted Stripe does with one request.
#[derive(Debug, Clone)]
enum Step {
    /// Answers this status and JSON body.
    Answer(u16, &'static str),
    /// Reads the request, then closes the connection without answering (as if it was
    /// processed and the answer lost).
    Reset,
    /// Reads the request and answers nothing, longer than the client waits.
    Hang,
}

const REFUSED: &str = r#"{"error":{"type":"invalid_request_error","code":"payment_method_unexpected_state","message":"The PaymentMethod cannot be used: it was detached from its customer."}}"#;
const KEY_REUSED: &str = r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'pay_1:attempt' if you meant to execute a different request."}}"#;
const MISSING: &str = r#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"intent","message":"No such payment_intent: 'pi_1'"}}"#;
const SERVER_ERROR: &str =
    r#"{"error":{"type":"api_error","message":"An unknown error occurred."}}"#;
const RATE_LIMITED: &str = r#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}"#;

/// A request the scripted Stripe saw.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    idempotency_key: Option<String>,
}

/// A "Stripe" that plays `steps` in order, one per request.
struct Scripted {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    async fn start(steps: Vec<Step>) -> Scripted {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let steps = Arc::new(Mutex::new(VecDeque::from(steps)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let steps = Arc::clone(&steps);
                let seen = Arc::clone(&recorded);
                tokio::spawn(serve(stream, steps, seen));
            }
        });
        Scripted {
            base_url: format!("http://{addr}/"),
            seen,
        }
    }

    fn gateway(&self) -> StripeGateway {
        StripeGateway::new(
            StripeConfig::new("sk_test_scripted")
                .with_base_url(self.base_url.clone())
                .with_timeout(Duration::from_millis(300))
                .with_retries(2, Duration::from_millis(1)),
        )
        .expect("client")
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    steps: Arc<Mutex<VecDeque<Step>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let Some(head) = read_request(&mut stream).await else {
        return;
    };
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    seen.lock().expect("lock").push(Seen {
        request_line: head.lines().next().unwrap_or_default().to_owned(),
        idempotency_key: header("idempotency-key"),
    });
    let step = steps
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(Step::Answer(500, SERVER_ERROR));
    match step {
        Step::Answer(status, body) => {
            let answer = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Step::Reset => drop(stream),
        Step::Hang => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(stream);
        }
    }
}

/// Reads one request (head and body); its head.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut raw = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        raw.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return Some(head.to_owned());
            }
        }
    }
}

fn unknown<T: std::fmt::Debug>(answer: &Result<T, GatewayError>) -> bool {
    matches!(answer, Err(e @ GatewayError::UnknownOutcome(_)) if !e.nothing_done())
}

#[tokio::test]
async fn a_refusal_after_a_lost_answer_is_an_unknown_outcome() {
    let stripe = Scripted::start(vec![Step::Reset, Step::Answer(400, REFUSED)]).await;
    let answer = stripe
        .gateway()
        .charge(&request("pay_1", "cus_1", "pm_1", eur(5_000)))
        .await;
    assert!(
        unknown(&answer),
        "the first attempt may have charged: {answer:?}"
    );
    let seen = stripe.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.idempotency_key.as_deref() == Some("pay_1:attempt")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_refused_key_after_a_server_error_is_an_unknown_outcome() {
    let stripe = Scripted::start(vec![
        Step::Answer(500, SERVER_ERROR),
        Step::Answer(400, KEY_REUSED),
    ])
    .await;
    let answer = stripe
        .gateway()
        .authorize(&request("pay_1", "cus_1", "pm_1", eur(5_000)))
        .await;
    assert!(unknown(&answer), "{answer:?}");
    assert_eq!(stripe.seen().len(), 2);
}

#[tokio::test]
async fn not_found_after_a_server_error_is_an_unknown_outcome_for_a_money_move() {
    let stripe = Scripted::start(vec![
        Step::Answer(503, SERVER_ERROR),
        Step::Answer(404, MISSING),
    ])
    .await;
    let answer = stripe
        .gateway()
        .refund(&RefundRequest {
            account: None,
            payment_reference: "pi_1".into(),
            refund: pid("pay_r"),
            idempotency_key: "pay_r:attempt".into(),
            amount: eur(1_000),
            reason: None,
        })
        .await;
    assert!(unknown(&answer), "{answer:?}");
}

#[tokio::test]
async fn a_timeout_is_an_unknown_outcome_and_nothing_that_would_follow_changes_it() {
    // A timeout is not retried (see `StripeConfig::timeout`): the refusal queued behind it is
    // never asked for, and the answer stays unknown.
    let stripe = Scripted::start(vec![Step::Hang, Step::Answer(400, REFUSED)]).await;
    let answer = stripe
        .gateway()
        .charge(&request("pay_1", "cus_1", "pm_1", eur(5_000)))
        .await;
    assert!(unknown(&answer), "{answer:?}");
    assert_eq!(stripe.seen().len(), 1);
}

#[tokio::test]
async fn a_refused_key_is_never_nothing_done() {
    let stripe = Scripted::start(vec![Step::Answer(400, KEY_REUSED)]).await;
    let answer = stripe
        .gateway()
        .charge(&request("pay_1", "cus_1", "pm_1", eur(5_000)))
        .await;
    match &answer {
        Err(GatewayError::UnknownOutcome(message)) => {
            assert!(message.contains("other parameters"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refusal_after_rate_limits_only_is_a_refusal() {
    // A 429 is answered before anything is done: the refusal that follows stands.
    let stripe = Scripted::start(vec![
        Step::Answer(429, RATE_LIMITED),
        Step::Answer(400, REFUSED),
    ])
    .await;
    let answer = stripe
        .gateway()
        .charge(&request("pay_1", "cus_1", "pm_1", eur(5_000)))
        .await;
    assert!(
        matches!(&answer, Err(e @ GatewayError::InvalidRequest { .. }) if e.nothing_done()),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_read_that_finds_nothing_after_a_server_error_found_nothing() {
    let stripe = Scripted::start(vec![
        Step::Answer(500, SERVER_ERROR),
        Step::Answer(404, MISSING),
    ])
    .await;
    let answer = stripe.gateway().payment_record(None, "pi_1").await;
    assert!(
        matches!(answer, Err(GatewayError::NotFound(_))),
        "{answer:?}"
    );
    assert!(
        stripe.seen()[0]
            .request_line
            .starts_with("GET /v1/payment_intents/pi_1")
    );
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_leaves_the_first_payment_to_be_found() {
    let (_fake, gateway) = common::start().await;
    let (customer, visa) = customer_with(&gateway, "reuse", "pm_card_visa").await;
    let first = request("pay_reuse", &customer, &visa.payment_method, eur(2_500));
    let paid = gateway.charge(&first).await.expect("charged");
    // The same payment sent again with other parameters (another build, say).
    let mut other = first.clone();
    other.amount = eur(9_999);
    let answer = gateway.charge(&other).await;
    assert!(
        unknown(&answer),
        "the first request moved money: {answer:?}"
    );
    let found = gateway
        .find_payment(account(), &first.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, paid.reference);
    assert_eq!(found.amount_received, eur(2_500));
}

#[tokio::test]
async fn a_decline_replayed_after_a_lost_answer_is_the_answer() {
    use billing_core::ports::GatewayStatus;
    use billing_stripe_fake::{Fault, RequestFilter};
    let (fake, gateway) = common::start().await;
    let customer = common::customer(&gateway, "replayed_decline").await;
    fake.inject_matching(
        RequestFilter::path_prefix("/v1/payment_intents").method("POST"),
        Fault::ResetAfterProcessing,
        1,
    );
    let answer = gateway
        .charge(&request(
            "pay_declined",
            &customer,
            "pm_card_chargeDeclinedInsufficientFunds",
            eur(5_000),
        ))
        .await
        .expect("Stripe's saved decline is an answer");
    assert!(
        matches!(&answer.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == Some("insufficient_funds")),
        "{answer:?}"
    );
    let posts = common::sent(&fake, "POST", "/v1/payment_intents");
    assert_eq!(posts.len(), 2);
    assert!(
        posts[1].replayed,
        "the resend was answered from Stripe's record"
    );
}
