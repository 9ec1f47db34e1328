//! The SMTP mailer against a real SMTP server started by the test: aiosmtpd, installed from
//! PyPI into the workspace's tools folder on first use and run on a free loopback port.
//!
//! (The Rust server `mailin-embedded` would not do: it needs rustls with its default
//! features, which turns on a second crypto provider for every crate of a workspace build and
//! leaves rustls without a default one.)

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use billing_core::ids::{BusinessId, CustomerId};
use billing_core::notification::{DeliveryState, NotificationKind, OutboundMessage};
use billing_core::notifier::Notifier;
use billing_core::ports::{Clock, MailError, Mailer, NotificationLog};
use billing_core::testkit::{FixedClock, MemoryStore, SequentialIds};
use billing_mail::templates::{EmailContent, render};
use billing_mail::{SmtpMailer, TlsMode};
use mail_parser::MessageParser;

/// The server: accepts every recipient but `refused@...` (550) and `busy@...` (451), and
/// prints each message it receives as one JSON line; it stops when its stdin closes, so it
/// never outlives the test process.
const SERVER: &str = r#"
import json, sys
from aiosmtpd.controller import Controller

class Handler:
    def __init__(self):
        self.received = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        if address.startswith("busy@"):
            return "451 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 2.0.0 Ok: queued as TEST%04d" % self.received

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print(json.dumps({"ready": True}), flush=True)
sys.stdin.read()
controller.stop()
"#;

/// The running server and the messages it received (one JSON line each).
struct TestSmtp {
    port: u16,
    received: Receiver<String>,
    child: Child,
    // Held open: the server stops when it closes.
    _stdin: ChildStdin,
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

impl TestSmtp {
    fn start() -> TestSmtp {
        let python = billing_testservers::python::install_tool(
            "aiosmtpd-venv",
            &["aiosmtpd==1.4.6"],
            "import aiosmtpd.controller",
        )
        .expect("aiosmtpd installed");
        let port = free_port();
        let mut child = Command::new(python)
            .args(["-c", SERVER, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd started");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, received) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let ready = received
            .recv_timeout(Duration::from_secs(30))
            .expect("aiosmtpd ready");
        assert!(ready.contains("ready"), "{ready}");
        TestSmtp {
            port,
            received,
            child,
            _stdin: stdin,
        }
    }

    fn mailer(&self) -> SmtpMailer {
        SmtpMailer::builder("127.0.0.1")
            .port(self.port)
            .tls(TlsMode::None)
            .from("Acme Billing <billing@example.com>")
            .hello_name("billing.test")
            .timeout(Duration::from_secs(10))
            .build()
            .expect("mailer")
    }

    /// The next message the server received, as (envelope recipients, sender, raw data).
    fn next_message(&self) -> (Vec<String>, String, String) {
        let line = self
            .received
            .recv_timeout(Duration::from_secs(10))
            .expect("a message arrived");
        let json: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
        let recipients = json["rcpt_tos"]
            .as_array()
            .map(|all| all.iter().map(text).collect())
            .unwrap_or_default();
        (recipients, text(&json["mail_from"]), text(&json["data"]))
    }
}

/// Starts the server off the async workers (the first start installs aiosmtpd).
async fn server() -> TestSmtp {
    tokio::task::spawn_blocking(TestSmtp::start)
        .await
        .expect("server task")
}

fn receipt_to(to: &str) -> OutboundMessage {
    render(
        to,
        &EmailContent::Receipt(common::receipt("Ada <Lovelace>")),
    )
    .expect("rendered")
}

#[tokio::test]
async fn a_message_arrives_with_its_recipient_subject_and_bodies() {
    let smtp = server().await;
    let message = receipt_to("ada@example.com");
    let receipt = smtp.mailer().send(&message).await.expect("sent");
    assert_eq!(receipt.server_reply, "250 2.0.0 Ok: queued as TEST0001");

    let (recipients, sender, data) = smtp.next_message();
    assert_eq!(recipients, ["ada@example.com"]);
    assert_eq!(sender, "billing@example.com");
    let parsed = MessageParser::default()
        .parse(data.as_bytes())
        .expect("parseable");
    assert_eq!(
        parsed.subject(),
        Some("Acme Cleaning: receipt for 215.50 USD")
    );
    assert_eq!(
        parsed
            .to()
            .and_then(|to| to.first())
            .and_then(|a| a.address()),
        Some("ada@example.com")
    );
    let text = parsed.body_text(0).expect("text part");
    assert!(text.contains("215.50 USD"), "{text}");
    assert!(text.contains("Visa ending 4242"), "{text}");
    let html = parsed.body_html(0).expect("html part");
    assert!(html.contains("Ada &#60;Lovelace&#62;"), "{html}");
}

#[tokio::test]
async fn a_refused_recipient_is_a_permanent_failure() {
    let smtp = server().await;
    let error = smtp
        .mailer()
        .send(&receipt_to("refused@example.com"))
        .await
        .expect_err("refused");
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert!(error.reason().contains("550"), "{error:?}");
    assert!(
        error.reason().contains("Recipient address rejected"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_busy_mailbox_is_a_temporary_failure() {
    let smtp = server().await;
    let error = smtp
        .mailer()
        .send(&receipt_to("busy@example.com"))
        .await
        .expect_err("deferred");
    assert!(matches!(error, MailError::Temporary(_)), "{error:?}");
    assert!(error.reason().contains("451"), "{error:?}");
}

#[tokio::test]
async fn a_server_that_is_down_is_a_temporary_failure() {
    // A port nobody listens on: the connection is refused.
    let port = free_port();
    let mailer = SmtpMailer::builder("127.0.0.1")
        .port(port)
        .tls(TlsMode::None)
        .from("billing@example.com")
        .timeout(Duration::from_secs(5))
        .build()
        .expect("mailer");
    let error = mailer
        .send(&receipt_to("ada@example.com"))
        .await
        .expect_err("down");
    assert!(matches!(error, MailError::Temporary(_)), "{error:?}");
}

#[tokio::test]
async fn starttls_is_required_when_asked_for() {
    // The test server offers no STARTTLS: a mailer that requires it must not send in clear.
    let smtp = server().await;
    let mailer = SmtpMailer::builder("127.0.0.1")
        .port(smtp.port)
        .tls(TlsMode::StartTls)
        .from("billing@example.com")
        .timeout(Duration::from_secs(10))
        .build()
        .expect("mailer");
    let error = mailer
        .send(&receipt_to("ada@example.com"))
        .await
        .expect_err("no TLS offered");
    assert!(matches!(error, MailError::Temporary(_)), "{error:?}");
    assert!(
        smtp.received.try_recv().is_err(),
        "nothing may be sent in clear"
    );
}

#[tokio::test]
async fn the_notifier_records_the_server_reply_and_the_refusal() {
    let smtp = server().await;
    let clock = Arc::new(FixedClock::default());
    let notifier = Notifier::new(
        MemoryStore::new(),
        smtp.mailer(),
        clock.clone(),
        Arc::new(SequentialIds::default()),
    );
    let acme = BusinessId::new("acme").expect("id");
    let ada = CustomerId::new("cust-1").expect("id");
    let delivered = notifier
        .queue(
            &acme,
            &ada,
            NotificationKind::Receipt,
            receipt_to("ada@example.com"),
        )
        .await
        .expect("queued");
    let refused = notifier
        .queue(
            &acme,
            &ada,
            NotificationKind::Receipt,
            receipt_to("refused@example.com"),
        )
        .await
        .expect("queued");
    let report = notifier
        .deliver_due(Some(&acme), clock.now(), 5)
        .await
        .expect("run");
    assert_eq!((report.sent(), report.given_up()), (1, 1));
    let state = |id| {
        let log = notifier.log().clone();
        let acme = acme.clone();
        async move {
            log.notification(&acme, &id)
                .await
                .expect("read")
                .expect("present")
                .delivery
        }
    };
    assert!(matches!(
        state(delivered.id).await,
        DeliveryState::Sent { server_reply, .. }
            if server_reply == "250 2.0.0 Ok: queued as TEST0001"
    ));
    assert!(matches!(
        state(refused.id).await,
        DeliveryState::Failed { retry_at: None, attempts: 1, reason, .. } if reason.contains("550")
    ));
    let (recipients, _, _) = smtp.next_message();
    assert_eq!(recipients, ["ada@example.com"]);
}
