//! The outbox: each message one whole `.eml` file that a mail parser reads back as sent.

mod common;

use std::sync::Arc;

use billing_core::ids::{BusinessId, CustomerId};
use billing_core::notification::{DeliveryState, OutboundMessage};
use billing_core::notifier::Notifier;
use billing_core::ports::{Clock, MailError, Mailer, NotificationLog};
use billing_core::testkit::{FixedClock, MemoryStore, SequentialIds};
use billing_mail::OutboxMailer;
use billing_mail::templates::{EmailContent, render};
use mail_parser::MessageParser;

fn eml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("outbox")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn each_message_is_a_parseable_eml_file_named_in_the_reply() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox = OutboxMailer::new(
        dir.path().join("outbox"),
        "Acme Billing <billing@example.com>",
    )
    .expect("outbox");
    let message = render(
        "ada@example.com",
        &EmailContent::PaymentLink(common::payment_link("Zoë <script>")),
    )
    .expect("rendered");
    let receipt = outbox.send(&message).await.expect("written");

    // The reply is the file, the only one in the folder (no temporary file left behind).
    let files = eml_files(outbox.dir());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(receipt.server_reply, files[0].display().to_string());
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));

    let bytes = std::fs::read(&files[0]).expect("read");
    let text = String::from_utf8_lossy(&bytes);
    // RFC 5322 lines end in CRLF; a multipart/alternative body.
    assert!(text.contains("\r\n"), "{text}");
    assert!(text.contains("multipart/alternative"), "{text}");
    let parsed = MessageParser::default().parse(&bytes).expect("parseable");
    assert_eq!(parsed.subject(), Some(message.subject.as_str()));
    let to = parsed
        .to()
        .and_then(|to| to.first())
        .and_then(|addr| addr.address())
        .map(str::to_owned);
    assert_eq!(to.as_deref(), Some("ada@example.com"));
    let from = parsed.from().and_then(|from| from.first());
    assert_eq!(from.and_then(|a| a.address()), Some("billing@example.com"));
    assert_eq!(from.and_then(|a| a.name()), Some("Acme Billing"));
    assert!(
        parsed
            .message_id()
            .is_some_and(|id| id.ends_with("@example.com"))
    );
    assert!(parsed.date().is_some());
    let text_body = parsed.body_text(0).expect("text part");
    // Lines end in CRLF on the wire, whatever the template wrote.
    assert_eq!(
        text_body.replace("\r\n", "\n").trim_end(),
        message.text_body.trim_end()
    );
    assert!(text_body.contains("215.50 USD"));
    assert!(text_body.contains("Zoë <script>"));
    let html_body = parsed.body_html(0).expect("html part");
    assert_eq!(
        html_body.replace("\r\n", "\n").trim_end(),
        message.html_body.as_deref().unwrap_or_default().trim_end()
    );
    assert!(html_body.contains("Zoë &#60;script&#62;"), "{html_body}");
}

#[tokio::test]
async fn a_text_only_message_is_a_single_part() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox = OutboxMailer::new(dir.path(), "billing@example.com").expect("outbox");
    let message = OutboundMessage {
        to: "grace@example.com".into(),
        subject: "Reçu — 30.00 EUR".into(),
        text_body: "Merci !\nLigne deux\n".into(),
        html_body: None,
    };
    let receipt = outbox.send(&message).await.expect("written");
    let bytes = std::fs::read(&receipt.server_reply).expect("read");
    let parsed = MessageParser::default().parse(&bytes).expect("parseable");
    assert_eq!(parsed.subject(), Some("Reçu — 30.00 EUR"));
    let raw = String::from_utf8_lossy(&bytes);
    assert!(!raw.contains("multipart"), "{raw}");
    assert!(!raw.contains("text/html"), "{raw}");
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert_eq!(
        parsed.body_text(0).map(|t| t.replace("\r\n", "\n")),
        Some("Merci !\nLigne deux\n".to_owned())
    );
}

#[tokio::test]
async fn concurrent_sends_write_distinct_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox = OutboxMailer::new(dir.path(), "billing@example.com").expect("outbox");
    let sends = (0..20).map(|n| {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            let message = OutboundMessage {
                to: format!("customer{n}@example.com"),
                subject: format!("Receipt {n}"),
                text_body: format!("Receipt number {n}"),
                html_body: None,
            };
            outbox.send(&message).await.expect("written")
        })
    });
    let mut replies = Vec::new();
    for send in sends {
        replies.push(send.await.expect("task").server_reply);
    }
    replies.sort();
    replies.dedup();
    assert_eq!(replies.len(), 20);
    assert_eq!(eml_files(dir.path()).len(), 20);
}

#[tokio::test]
async fn a_message_no_server_could_accept_is_a_permanent_failure() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox = OutboxMailer::new(dir.path(), "billing@example.com").expect("outbox");
    let message = OutboundMessage {
        to: "ada@example.com\r\nBcc: eve@example.com".into(),
        subject: "Receipt".into(),
        text_body: "Hello".into(),
        html_body: None,
    };
    assert!(matches!(
        outbox.send(&message).await,
        Err(MailError::Permanent(_))
    ));
    assert!(eml_files(dir.path()).is_empty());
}

#[tokio::test]
async fn an_unwritable_outbox_is_a_temporary_failure() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox =
        OutboxMailer::new(dir.path().join("outbox"), "billing@example.com").expect("outbox");
    // The folder goes away (a full or unmounted disk looks the same to the mailer).
    std::fs::remove_dir(outbox.dir()).expect("removed");
    let message = OutboundMessage {
        to: "ada@example.com".into(),
        subject: "Receipt".into(),
        text_body: "Hello".into(),
        html_body: None,
    };
    assert!(matches!(
        outbox.send(&message).await,
        Err(MailError::Temporary(_))
    ));
}

#[test]
fn an_invalid_sender_is_refused_at_setup() {
    let dir = tempfile::tempdir().expect("temporary directory");
    assert!(OutboxMailer::new(dir.path(), "not an address").is_err());
}

#[tokio::test]
async fn the_notifier_records_the_file_written_as_the_reply() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let outbox = OutboxMailer::new(dir.path(), "billing@example.com").expect("outbox");
    let clock = Arc::new(FixedClock::default());
    let log = Arc::new(MemoryStore::new());
    let notifier = Notifier::new(
        log.clone(),
        Arc::new(outbox),
        clock.clone(),
        Arc::new(SequentialIds::default()),
    );
    let acme = BusinessId::new("acme").expect("id");
    let data = EmailContent::PaymentLink(common::payment_link("Ada"));
    let message = render("ada@example.com", &data).expect("rendered");
    let queued = notifier
        .queue(
            &acme,
            &CustomerId::new("cust-1").expect("id"),
            data.kind(),
            message,
        )
        .await
        .expect("queued");
    // Queueing wrote nothing: the worker does.
    assert!(eml_files(dir.path()).is_empty());
    let report = notifier
        .deliver_due(None, clock.now(), 5)
        .await
        .expect("run");
    assert_eq!(report.sent(), 1);
    let files = eml_files(dir.path());
    assert_eq!(files.len(), 1);
    let stored = log
        .notification(&acme, &queued.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        stored.delivery,
        DeliveryState::Sent {
            at: clock.now(),
            server_reply: files[0].display().to_string(),
        }
    );
}
