//! Wire-level checks that async-stripe cannot show: response headers, Stripe's
//! form encodings, refusals of parameters.

use std::collections::HashMap;

use billing_stripe_fake::{FakeStripe, Fault};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    /// The body as JSON (`Null` when it is not JSON).
    body: Value,
    /// The body as text.
    text: String,
}

/// One HTTP/1.1 request on its own connection; `auth` adds the fake's key.
async fn call(
    fake: &FakeStripe,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        fake.addr(),
        body.len()
    );
    if method == "POST" {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = TcpStream::connect(fake.addr()).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        text: body.to_owned(),
    }
}

fn bearer(fake: &FakeStripe) -> String {
    format!("Bearer {}", fake.secret_key())
}

#[tokio::test]
async fn auth_errors_have_stripe_shape() {
    let fake = FakeStripe::start().await;
    let reply = call(&fake, "GET", "/v1/customers", &[], "").await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["error"]["type"], "invalid_request_error");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("You did not provide an API key"))
    );

    let auth = bearer(&fake);
    let reply = call(
        &fake,
        "GET",
        "/v1/nothing_here",
        &[("Authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unrecognized request URL (GET: /v1/nothing_here)"))
    );
    assert!(reply.headers["request-id"].starts_with("req_"));
}

#[tokio::test]
async fn idempotent_replay_headers() {
    let fake = FakeStripe::start().await;
    let auth = bearer(&fake);
    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "k1")];
    let first = call(
        &fake,
        "POST",
        "/v1/customers",
        &headers,
        "email=a%40example.com&metadata[x]=1",
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["email"], "a@example.com");
    assert!(!first.headers.contains_key("idempotent-replayed"));
    // Same parameters in another order and encoding: still the same request.
    let second = call(
        &fake,
        "POST",
        "/v1/customers",
        &headers,
        "metadata%5Bx%5D=1&email=a%40example.com",
    )
    .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["id"], first.body["id"]);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(
        second.headers["original-request"],
        first.headers["request-id"]
    );
    assert_eq!(second.headers["idempotency-key"], "k1");

    let other = call(
        &fake,
        "POST",
        "/v1/customers",
        &headers,
        "email=b%40example.com",
    )
    .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["error"]["type"], "idempotency_error");
}

#[tokio::test]
async fn form_encodings_and_refused_parameters() {
    let fake = FakeStripe::start().await;
    let auth = bearer(&fake);
    let headers = [("Authorization", auth.as_str())];

    let reply = call(&fake, "POST", "/v1/customers", &headers, "emial=x").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["code"], "parameter_unknown");
    assert_eq!(reply.body["error"]["param"], "emial");

    let reply = call(
        &fake,
        "POST",
        "/v1/payment_intents",
        &headers,
        "amount=1000&currency=usd&payment_method_data[type]=card",
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["param"], "payment_method_data");

    // Stripe's own `expand[]` form, a metadata value with `%`, a string amount.
    let reply = call(
        &fake,
        "POST",
        "/v1/payment_intents",
        &headers,
        "amount=1000&currency=USD&payment_method=pm_card_visa&confirm=true&off_session=true&expand[]=latest_charge&expand[]=payment_method&metadata[note]=50%25+off",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["currency"], "usd");
    assert_eq!(reply.body["latest_charge"]["object"], "charge");
    assert_eq!(reply.body["payment_method"]["object"], "payment_method");
    assert_eq!(reply.body["metadata"]["note"], "50% off");

    let reply = call(
        &fake,
        "POST",
        "/v1/payment_intents",
        &headers,
        "amount=ten&currency=usd",
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["param"], "amount");

    let reply = call(
        &fake,
        "GET",
        "/v1/payment_intents?expand[]=latest_charge",
        &headers,
        "",
    )
    .await;
    assert_eq!(reply.status, 400, "list expansions need data.");
    let reply = call(
        &fake,
        "GET",
        "/v1/payment_intents?expand[]=data.latest_charge&limit=1",
        &headers,
        "",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["object"], "list");
    assert_eq!(reply.body["data"][0]["latest_charge"]["object"], "charge");

    let reply = call(
        &fake,
        "GET",
        "/v1/customers",
        &[
            ("Authorization", auth.as_str()),
            ("Stripe-Account", "venue"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn recorded_requests_and_status() {
    let fake = FakeStripe::start().await;
    let auth = bearer(&fake);
    fake.inject(Fault::RateLimited, 1);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Stripe-Account", "acct_1"),
        ("Idempotency-Key", "abc"),
    ];
    let reply = call(&fake, "POST", "/v1/customers", &headers, "name=Bob").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.body["error"]["code"], "rate_limit");
    let reply = call(&fake, "POST", "/v1/customers", &headers, "name=Bob").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["stripe-account"], "acct_1");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].fault, Some(Fault::RateLimited));
    assert_eq!(requests[0].status, Some(429));
    assert_eq!(requests[1].status, Some(200));
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v1/customers")
        );
        assert_eq!(r.stripe_account.as_deref(), Some("acct_1"));
        assert_eq!(r.idempotency_key.as_deref(), Some("abc"));
        assert_eq!(r.params()["name"], "Bob");
    }
}

/// The path of one of the fake's own pages, from its absolute URL.
fn page_path(fake: &FakeStripe, url: &Value) -> String {
    let url = url.as_str().expect("a URL");
    url.strip_prefix(&format!("http://{}", fake.addr()))
        .expect("a page of the fake")
        .to_owned()
}

#[tokio::test]
async fn three_d_secure_page_completes_and_redirects_back() {
    let fake = FakeStripe::start().await;
    let auth = bearer(&fake);
    let headers = [("Authorization", auth.as_str())];
    let reply = call(
        &fake,
        "POST",
        "/v1/payment_intents",
        &headers,
        "amount=2000&currency=eur&payment_method=pm_card_threeDSecure2Required&payment_method_types[]=card&confirm=true&return_url=https%3A%2F%2Fshop.example%2Fback%3Fbooking%3D1",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "requires_action");
    let pi = reply.body["id"].as_str().expect("id").to_owned();
    let secret = reply.body["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let path = page_path(&fake, &reply.body["next_action"]["redirect_to_url"]["url"]);
    assert_eq!(path, format!("/_fake/3ds/{pi}"));

    // The page needs no API key and offers both outcomes.
    let page = call(&fake, "GET", &path, &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"].starts_with("text/html"));
    assert!(page.text.contains("id=\"approve\"") && page.text.contains("id=\"fail\""));
    assert!(page.text.contains("€20.00"));

    let done = call(&fake, "POST", &path, &[], "result=approve").await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.headers["location"],
        format!(
            "https://shop.example/back?booking=1&payment_intent={pi}&payment_intent_client_secret={secret}&redirect_status=succeeded"
        )
    );
    assert_eq!(fake.object(None, &pi).expect("pi")["status"], "succeeded");
    // Nothing left to authenticate.
    let again = call(&fake, "GET", &path, &[], "").await;
    assert!(again.text.contains("nothing to authenticate"));
    let twice = call(&fake, "POST", &path, &[], "result=approve").await;
    assert_eq!(twice.status, 400);

    // A connected account's intent, failed on the page.
    let headers = [
        ("Authorization", auth.as_str()),
        ("Stripe-Account", "acct_venue"),
    ];
    let reply = call(
        &fake,
        "POST",
        "/v1/payment_intents",
        &headers,
        "amount=2000&currency=eur&payment_method=pm_card_authenticationRequired&payment_method_types[]=card&confirm=true&capture_method=manual&return_url=https%3A%2F%2Fshop.example%2Fback",
    )
    .await;
    let pi = reply.body["id"].as_str().expect("id").to_owned();
    let path = page_path(&fake, &reply.body["next_action"]["redirect_to_url"]["url"]);
    assert_eq!(path, format!("/_fake/3ds/{pi}?account=acct_venue"));
    assert_eq!(
        call(&fake, "GET", &format!("/_fake/3ds/{pi}"), &[], "")
            .await
            .status,
        404
    );
    let done = call(&fake, "POST", &path, &[], "result=fail").await;
    assert_eq!(done.status, 303);
    assert!(done.headers["location"].ends_with("&redirect_status=failed"));
    let stored = fake.object(Some("acct_venue"), &pi).expect("pi");
    assert_eq!(stored["status"], "requires_payment_method");
    assert_eq!(
        stored["last_payment_error"]["code"],
        "payment_intent_authentication_failure"
    );
}
