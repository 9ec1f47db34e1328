//! The SMTP mailer against a real SMTP server started by the test (aiosmtpd, see
//! `billing_testservers::smtp`).

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use billing_core::ids::{BusinessId, CustomerId};
use billing_core::notification::{DeliveryState, NotificationKind, OutboundMessage};
use billing_core::notifier::Notifier;
use billing_core::ports::{Clock, MailError, Mailer, NotificationLog};
use billing_core::testkit::{FixedClock, MemoryStore, SequentialIds};
use billing_mail::templates::{EmailContent, render};
use billing_mail::{SmtpMailer, TlsMode};
use billing_testservers::TestSmtp;
use mail_parser::MessageParser;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn mailer(smtp: &TestSmtp) -> SmtpMailer {
    SmtpMailer::builder("127.0.0.1")
        .port(smtp.port())
        .tls(TlsMode::None)
        .from("Acme Billing <billing@example.com>")
        .hello_name("billing.test")
        .timeout(Duration::from_secs(10))
        .build()
        .expect("mailer")
}

/// The next message the server received, as (envelope recipients, sender, raw data).
fn next_message(smtp: &TestSmtp) -> (Vec<String>, String, String) {
    let mail = smtp
        .next_message(Duration::from_secs(10))
        .expect("a message arrived");
    (mail.rcpt_tos, mail.mail_from, mail.data)
}

/// Starts the server off the async workers (the first start installs aiosmtpd).
async fn server() -> TestSmtp {
    tokio::task::spawn_blocking(TestSmtp::start)
        .await
        .expect("server task")
        .expect("aiosmtpd starts")
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
    let receipt = mailer(&smtp).send(&message).await.expect("sent");
    assert_eq!(receipt.server_reply, "250 2.0.0 Ok: queued as TEST0001");

    let (recipients, sender, data) = next_message(&smtp);
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
    let error = mailer(&smtp)
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
    let error = mailer(&smtp)
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
        .port(smtp.port())
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
        smtp.try_next_message().is_none(),
        "nothing may be sent in clear"
    );
}

#[tokio::test]
async fn the_notifier_records_the_server_reply_and_the_refusal() {
    let smtp = server().await;
    let clock = Arc::new(FixedClock::default());
    let store = Arc::new(MemoryStore::new());
    let notifier = Notifier::new(
        store.clone(),
        Arc::new(mailer(&smtp)),
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
        let log = store.clone();
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
    let (recipients, _, _) = next_message(&smtp);
    assert_eq!(recipients, ["ada@example.com"]);
}
