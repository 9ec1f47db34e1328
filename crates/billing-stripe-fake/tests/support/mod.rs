//! What the tests of the fake's webhook delivery share: an endpoint that records what it
//! receives, the signature check, and polling with a deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use billing_stripe_fake::signature_header;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Polls `check` until it holds, failing after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A webhook endpoint that answers 500 to its first `failures` deliveries, then 200.
#[derive(Clone, Default)]
pub struct Receiver {
    /// (Stripe-Signature, body) of every delivery.
    received: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start(failures: usize) -> (Receiver, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Receiver::serve(listener, failures)
    }

    /// Serves on `listener`.
    pub fn serve(listener: TcpListener, failures: usize) -> (Receiver, SocketAddr) {
        let addr = listener.local_addr().expect("addr");
        let receiver = Receiver::default();
        let received = Arc::clone(&receiver.received);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let received = Arc::clone(&received);
                tokio::spawn(async move {
                    let Some((signature, body)) = read_request(&mut stream).await else {
                        return;
                    };
                    let count = {
                        let mut all = received.lock().expect("lock");
                        all.push((signature, body));
                        all.len()
                    };
                    let status = if count <= failures {
                        "500 Internal Server Error"
                    } else {
                        "200 OK"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        (receiver, addr)
    }

    pub fn deliveries(&self) -> Vec<(String, String)> {
        self.received.lock().expect("lock").clone()
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let header = |name: &str| {
                head.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            };
            let length: usize = header("content-length")?.parse().ok()?;
            if body.len() >= length {
                return Some((header("stripe-signature")?, body[..length].to_owned()));
            }
        }
    }
}

/// Checks a `Stripe-Signature` header the way Stripe's libraries do.
pub fn signed(signature: &str, body: &str, secret: &str) -> bool {
    let Some(timestamp) = signature
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    signature_header(body, secret, timestamp) == signature
}
