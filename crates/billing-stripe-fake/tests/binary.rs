//! The fake as a process of its own: it starts, prints its address, serves the Stripe API,
//! answers its control API, delivers signed webhooks with retries, and stops when told to.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use support::{Receiver, eventually, signed};

const SECRET: &str = "sk_test_binary";
const WEBHOOK_SECRET: &str = "whsec_binary";

/// The running binary; killed when dropped.
struct Fake {
    child: Child,
    addr: SocketAddr,
    /// Its standard output, kept open while it runs.
    _stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

async fn spawn(extra: &[&str]) -> Fake {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-stripe-fake"))
        .args(["--port", "0", "--secret-key", SECRET])
        .args(["--webhook-secret", WEBHOOK_SECRET])
        .args(extra)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the address within a minute")
        .expect("stdout readable")
        .expect("a first line");
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .parse()
        .expect("an address");
    let second = lines.next_line().await.expect("stdout").expect("a line");
    assert_eq!(second, format!("secret key: {SECRET}"));
    Fake {
        child,
        addr,
        _stdout: lines,
    }
}

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Value,
}

/// Who a request is sent as.
#[derive(Clone, Copy)]
enum As {
    /// No API key.
    Nobody,
    /// The platform, with the API key.
    Platform,
    /// A connected account (`Stripe-Account`), with the API key.
    Account(&'static str),
}

/// One HTTP/1.1 request; `Err` when the connection closed without an answer.
async fn try_call(
    addr: SocketAddr,
    method: &str,
    target: &str,
    who: As,
    body: &str,
) -> std::io::Result<Reply> {
    let content_type = if target.starts_with("/_fake/") {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    match who {
        As::Nobody => {}
        As::Platform => request.push_str(&format!("Authorization: Bearer {SECRET}\r\n")),
        As::Account(account) => request.push_str(&format!(
            "Authorization: Bearer {SECRET}\r\nStripe-Account: {account}\r\n"
        )),
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no answer",
        ));
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    })
}

/// A request that must be answered; Stripe API requests go with the platform's key.
async fn call(addr: SocketAddr, method: &str, target: &str, body: &str) -> Reply {
    let who = if target.starts_with("/v1/") {
        As::Platform
    } else {
        As::Nobody
    };
    call_as(addr, who, method, target, body).await
}

async fn call_as(addr: SocketAddr, who: As, method: &str, target: &str, body: &str) -> Reply {
    try_call(addr, method, target, who, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

/// A control API call that must succeed.
async fn control(addr: SocketAddr, target: &str, body: Value) -> Value {
    let reply = call(addr, "POST", target, &body.to_string()).await;
    assert_eq!(reply.status, 200, "{target}: {}", reply.body);
    reply.body
}

#[tokio::test]
async fn the_binary_serves_the_api_and_the_control_api() {
    let (receiver, hook) = Receiver::start(2).await;
    let webhook_url = format!("http://{hook}/stripe/webhooks");
    let fake = spawn(&["--webhook-url", &webhook_url, "--seed", "3"]).await;
    let addr = fake.addr;

    let health = call(addr, "GET", "/_fake/health", "").await;
    assert_eq!((health.status, &health.body["ok"]), (200, &json!(true)));
    control(
        addr,
        "/_fake/webhooks",
        json!({"retry_base_ms": 20, "retry_max_ms": 100}),
    )
    .await;

    // The Stripe API wants the key; the control API does not.
    let denied = call_as(addr, As::Nobody, "GET", "/v1/customers", "").await;
    assert_eq!(denied.status, 401);

    // A multicapture hold, captured in part and refunded in the dashboard, then disputed.
    let hold = call(
        addr,
        "POST",
        "/v1/payment_intents",
        "amount=5000&currency=eur&payment_method=pm_card_visa&payment_method_types[]=card&confirm=true&capture_method=manual&payment_method_options[card][request_multicapture]=if_available&metadata[payment_id]=pay_1",
    )
    .await;
    assert_eq!(hold.status, 200, "{}", hold.body);
    let pi = hold.body["id"].as_str().expect("id").to_owned();
    let captured = control(
        addr,
        "/_fake/dashboard/capture",
        json!({"payment_intent": pi, "amount": 2000, "final_capture": false}),
    )
    .await;
    assert_eq!(captured["status"], "requires_capture");
    assert_eq!(captured["amount_capturable"], 3000);
    let refund = control(
        addr,
        "/_fake/dashboard/refund",
        json!({"payment_intent": pi, "amount": 500}),
    )
    .await;
    assert_eq!(refund["metadata"], json!({}));
    let dispute = control(addr, "/_fake/disputes", json!({"payment": pi})).await;
    let dispute_id = dispute["id"].as_str().expect("id").to_owned();
    let reviewed = control(
        addr,
        &format!("/_fake/disputes/{dispute_id}/review"),
        json!({}),
    )
    .await;
    assert_eq!(reviewed["status"], "under_review");
    control(
        addr,
        &format!("/_fake/disputes/{dispute_id}/close"),
        json!({"outcome": "lost"}),
    )
    .await;

    // Stripe's refusals come back in Stripe's shape, bad bodies as 400.
    let missing = call(
        addr,
        "POST",
        "/_fake/dashboard/capture",
        &json!({"payment_intent": "pi_nope"}).to_string(),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "resource_missing");
    let bad = call(
        addr,
        "POST",
        "/_fake/dashboard/refund",
        "{\"amount\": \"x\"}",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(call(addr, "GET", "/_fake/nothing", "").await.status, 404);

    // A connected account without multicapture, whose hold then expires.
    control(
        addr,
        "/_fake/multicapture",
        json!({"account": "acct_venue", "allowed": false}),
    )
    .await;
    let reply = call_as(
        addr,
        As::Account("acct_venue"),
        "POST",
        "/v1/payment_intents",
        "amount=4000&currency=gbp&payment_method=pm_card_visa&payment_method_types[]=card&confirm=true&capture_method=manual&payment_method_options[card][request_multicapture]=if_available&expand[]=latest_charge",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["latest_charge"]["payment_method_details"]["card"]["multicapture"]["status"],
        "unavailable"
    );
    control(
        addr,
        "/_fake/clock/advance",
        json!({"seconds": 8 * 24 * 3600}),
    )
    .await;

    // The state dump: what the campaign compares the ledger with.
    let state = call(addr, "GET", "/_fake/state", "").await.body;
    let accounts = state["accounts"].as_array().expect("accounts");
    assert_eq!(accounts[0]["account"], Value::Null);
    let platform = &accounts[0]["payment_intents"][0];
    assert_eq!(platform["id"], json!(pi));
    assert_eq!(platform["metadata"]["payment_id"], "pay_1");
    // Its hold expired with the clock too: what was captured stays, the rest is released.
    assert_eq!(platform["status"], "succeeded");
    assert_eq!(
        (&platform["amount_received"], &platform["amount_capturable"]),
        (&json!(2000), &json!(0))
    );
    assert_eq!(platform["refunds"][0]["amount"], 500);
    assert_eq!(platform["refunds"][0]["metadata"], json!({}));
    assert_eq!(platform["disputes"][0]["status"], "lost");
    let venue = accounts
        .iter()
        .find(|a| a["account"] == "acct_venue")
        .expect("the venue");
    assert_eq!(venue["multicapture"], false);
    assert_eq!(venue["payment_intents"][0]["status"], "canceled");
    assert_eq!(
        venue["payment_intents"][0]["cancellation_reason"],
        "automatic"
    );

    // Every event reaches the endpoint, signed, after the first two attempts failed.
    let events = call(addr, "GET", "/v1/events?limit=100", "").await.body;
    let venue_events = call_as(
        addr,
        As::Account("acct_venue"),
        "GET",
        "/v1/events?limit=100",
        "",
    )
    .await
    .body;
    let mut expected: Vec<String> = events["data"]
        .as_array()
        .into_iter()
        .chain(venue_events["data"].as_array())
        .flatten()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    expected.sort();
    assert!(expected.len() >= 10, "{expected:?}");
    eventually(Duration::from_secs(60), "every event delivered", || {
        let receiver = receiver.clone();
        let expected = expected.clone();
        async move {
            let mut got: Vec<String> = receiver
                .deliveries()
                .iter()
                .filter_map(|(_, body)| serde_json::from_str::<Value>(body).ok())
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect();
            got.sort();
            got.dedup();
            got == expected
        }
    })
    .await;
    for (signature, body) in receiver.deliveries() {
        assert!(signed(&signature, &body, WEBHOOK_SECRET), "{signature}");
    }
    // The receiver keeps the deliveries it refused too: the retries may still be on their way.
    eventually(
        Duration::from_secs(60),
        "the refused deliveries retried",
        || async move { call(addr, "GET", "/_fake/webhooks", "").await.body["pending"] == 0 },
    )
    .await;
    let webhooks = call(addr, "GET", "/_fake/webhooks", "").await.body;
    let attempts = webhooks["attempts"].as_array().expect("attempts");
    assert_eq!(
        attempts.iter().filter(|a| a["status"] == 500).count(),
        2,
        "{webhooks}"
    );
    // A failed delivery is tried again until it lands: its second attempt when the two
    // failures fell on two events, its third when both fell on one (deliveries race).
    assert!(
        attempts
            .iter()
            .any(|a| a["attempt"].as_u64().is_some_and(|n| n >= 2) && a["status"] == 200),
        "{webhooks}"
    );

    // Told to stop, it exits.
    control(addr, "/_fake/shutdown", json!({})).await;
    let mut child = fake.child;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s")
        .expect("exit status");
    assert!(status.success());
}

#[tokio::test]
async fn faults_and_chaos_through_the_control_api() {
    let fake = spawn(&[]).await;
    let addr = fake.addr;

    // An injected fault: the next customer creation gets a 503, the one after succeeds.
    control(
        addr,
        "/_fake/faults",
        json!({"fault": "server_error", "status": 503, "times": 1, "method": "POST", "path_prefix": "/v1/customers"}),
    )
    .await;
    assert_eq!(
        call(addr, "GET", "/_fake/faults", "").await.body["pending"],
        1
    );
    assert_eq!(
        call(addr, "POST", "/v1/customers", "name=A").await.status,
        503
    );
    assert_eq!(
        call(addr, "POST", "/v1/customers", "name=A").await.status,
        200
    );

    // Lost responses: processed, but the connection closes without an answer.
    control(
        addr,
        "/_fake/chaos",
        json!({"lost_response_rate": 1.0, "method": "POST", "path_prefix": "/v1/customers"}),
    )
    .await;
    let lost = try_call(addr, "POST", "/v1/customers", As::Platform, "name=Lost").await;
    assert!(lost.is_err(), "the answer was dropped");
    let listed = call(addr, "GET", "/v1/customers?limit=100", "").await;
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(2),
        "GETs are not touched, and the lost request was processed"
    );
    let requests = call(addr, "GET", "/_fake/requests", "").await.body;
    let last_post = requests["requests"]
        .as_array()
        .and_then(|r| r.iter().rev().find(|r| r["method"] == "POST"))
        .expect("the lost request");
    assert_eq!(last_post["fault"], "reset_after_processing");
    assert_eq!(last_post["status"], Value::Null);

    // The same seed loses the same requests.
    let pattern = |seed: u64| async move {
        control(
            addr,
            "/_fake/chaos",
            json!({"lost_response_rate": 0.5, "seed": seed, "path_prefix": "/v1/balance_probe"}),
        )
        .await;
        let mut lost = Vec::new();
        for _ in 0..16 {
            lost.push(
                try_call(addr, "GET", "/v1/balance_probe", As::Platform, "")
                    .await
                    .is_err(),
            );
        }
        lost
    };
    let first = pattern(42).await;
    assert_eq!(first, pattern(42).await);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");

    // Latency: every request waits at least the minimum.
    control(
        addr,
        "/_fake/chaos",
        json!({"latency_min_ms": 150, "latency_max_ms": 200}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(call(addr, "GET", "/v1/customers", "").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let cleared = call(addr, "DELETE", "/_fake/chaos", "").await;
    assert_eq!(cleared.status, 200);

    // 3-D Secure completed through the control API.
    let pi = call(
        addr,
        "POST",
        "/v1/payment_intents",
        "amount=3000&currency=eur&payment_method=pm_card_authenticationRequired&payment_method_types[]=card&confirm=true",
    )
    .await;
    assert_eq!(pi.body["status"], "requires_action");
    assert_eq!(pi.body["next_action"]["type"], "use_stripe_sdk");
    let done = control(
        addr,
        "/_fake/authenticate",
        json!({"intent": pi.body["id"], "success": true}),
    )
    .await;
    assert_eq!(done["status"], "succeeded");

    // Search lag.
    control(addr, "/_fake/search_lag", json!({"seconds": 30})).await;
    let query = "/v1/payment_intents/search?query=status%3A%27succeeded%27";
    let early = call(addr, "GET", query, "").await;
    assert_eq!(early.body["data"].as_array().map(Vec::len), Some(0));
    control(addr, "/_fake/clock/advance", json!({"seconds": 31})).await;
    let later = call(addr, "GET", query, "").await;
    assert_eq!(later.body["data"].as_array().map(Vec::len), Some(1));
    assert!(later.headers.contains_key("request-id"));
}
