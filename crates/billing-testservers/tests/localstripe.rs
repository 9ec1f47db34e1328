//! Starts real localstripe servers (installing localstripe on first use).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use billing_testservers::LocalStripe;
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn create_customer(
    client: &reqwest::Client,
    stripe: &LocalStripe,
    email: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let response = client
        .post(format!("{}v1/customers", stripe.base_url()))
        .bearer_auth(stripe.secret_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={}&name=Ada", email.replace('@', "%40")))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    Ok(response.json().await?)
}

#[tokio::test]
async fn creates_and_reads_back_a_customer() -> TestResult {
    let started = Instant::now();
    let stripe = LocalStripe::start()?;
    eprintln!("LocalStripe::start took {:?}", started.elapsed());
    assert!(stripe.base_url().starts_with("http://127.0.0.1:"));
    assert!(stripe.base_url().ends_with('/'));

    let client = reqwest::Client::new();
    let created = create_customer(&client, &stripe, "ada@example.com").await?;
    let id = created["id"].as_str().ok_or("no id")?;
    assert!(id.starts_with("cus_"), "{created}");

    let fetched: Value = client
        .get(format!("{}v1/customers/{id}", stripe.base_url()))
        .bearer_auth(stripe.secret_key())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["email"], "ada@example.com");

    let unauthenticated = client
        .get(format!("{}v1/customers/{id}", stripe.base_url()))
        .send()
        .await?;
    assert_eq!(unauthenticated.status(), 401);
    Ok(())
}

#[tokio::test]
async fn instances_do_not_share_state_and_die_on_drop() -> TestResult {
    let a = LocalStripe::start()?;
    let b = LocalStripe::start()?;
    assert_ne!(a.port(), b.port());
    let client = reqwest::Client::new();
    let created = create_customer(&client, &a, "grace@example.com").await?;
    let id = created["id"].as_str().ok_or("no id")?;

    let in_b = client
        .get(format!("{}v1/customers/{id}", b.base_url()))
        .bearer_auth(b.secret_key())
        .send()
        .await?;
    assert_eq!(in_b.status(), 404);

    let port = a.port();
    drop(a);
    assert!(
        TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(500)
        )
        .is_err(),
        "localstripe still listens after drop"
    );
    Ok(())
}

#[test]
fn listens_on_loopback_only() -> TestResult {
    let stripe = LocalStripe::start()?;
    let port_hex = format!(":{:04X}", stripe.port());
    // Local addresses of listening (state 0A) sockets on our port.
    let listeners = |table: &str| -> Vec<String> {
        std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|fields| {
                fields.len() > 3 && fields[3] == "0A" && fields[1].ends_with(&port_hex)
            })
            .map(|fields| fields[1].to_owned())
            .collect()
    };
    // 0100007F = 127.0.0.1 in /proc/net/tcp's byte order.
    assert_eq!(
        listeners("/proc/net/tcp"),
        vec![format!("0100007F{port_hex}")]
    );
    assert!(
        listeners("/proc/net/tcp6").is_empty(),
        "also listens on IPv6"
    );
    Ok(())
}
