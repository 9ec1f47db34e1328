//! Texts: customers' phone numbers, texts in the log with the carrier's reports, and the
//! numbers that replied STOP.

use super::{StoreFixture, at, id};
use crate::customer::Customer;
use crate::ids::{BusinessId, CustomerId, NotificationId};
use crate::notification::{
    CarrierReport, Channel, Notification, NotificationKind, OutboundMessage,
};
use crate::phone::PhoneNumber;
use crate::ports::TextStatus;

fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::from_e164(number).expect("a valid number")
}

fn report(status: TextStatus, seconds: i64) -> CarrierReport {
    CarrierReport {
        status,
        error_code: (status == TextStatus::Undelivered).then(|| "30003".to_owned()),
        at: at(seconds),
    }
}

/// A customer's number is kept and read back; a text is logged by channel, found by the
/// provider's message id in whichever business sent it, and keeps the furthest carrier report.
pub async fn texts_round_trip_with_carrier_reports<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let (acme, globex): (BusinessId, BusinessId) = (id("acme"), id("globex"));
    let ada = Customer {
        id: id("cust-1"),
        name: "Ada".into(),
        email: None,
        phone: Some(phone("+14155550123")),
        gateway_customer: None,
    };
    store.put_customer(&acme, &ada).await.expect("saved");
    assert_eq!(
        store.customer(&acme, &ada.id).await.expect("read"),
        Some(ada.clone())
    );
    let listed = store.list_customers(&acme, None, 10).await.expect("listed");
    assert_eq!(listed, vec![ada.clone()]);
    let without = Customer {
        phone: None,
        ..ada.clone()
    };
    store.put_customer(&acme, &without).await.expect("saved");
    assert_eq!(
        store.customer(&acme, &ada.id).await.expect("read"),
        Some(without)
    );

    // A text of globex's, and an email of acme's whose server reply reads like a message id.
    let text = OutboundMessage::text(&phone("+14155550123"), "Payment link", "Pay here".into());
    let queued = Notification::queued_by(
        Channel::Text,
        id("ntf-text"),
        id("cust-9"),
        NotificationKind::PaymentLink,
        &text,
        at(0),
    );
    store
        .record_queued(&globex, &queued, &text)
        .await
        .expect("queued");
    let email = OutboundMessage {
        to: "ada@example.com".into(),
        subject: "Receipt".into(),
        text_body: "Paid".into(),
        html_body: None,
    };
    let email_id: NotificationId = id("ntf-email");
    store
        .record_queued(
            &acme,
            &Notification::queued(
                email_id.clone(),
                id("cust-1"),
                NotificationKind::Receipt,
                &email,
                at(0),
            ),
            &email,
        )
        .await
        .expect("queued");
    store
        .mark_sent(&acme, &email_id, at(1), "SM0001")
        .await
        .expect("sent");
    // Not sent yet: no report can be about it.
    assert_eq!(
        store
            .record_carrier_report("SM0001", &report(TextStatus::Sent, 2))
            .await
            .expect("recorded"),
        None,
        "an email's reply is no text's message id"
    );
    store
        .mark_sent(&globex, &queued.id, at(1), "SM0001")
        .await
        .expect("sent");
    let read = store
        .notification(&globex, &queued.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(read.channel, Channel::Text);
    assert_eq!(read.to, "+14155550123");
    assert_eq!(read.carrier, None);
    assert_eq!(
        store.message(&globex, &queued.id).await.expect("read"),
        Some(text)
    );

    let found = Some((globex.clone(), queued.id.clone()));
    for (status, seconds) in [
        (TextStatus::Sent, 2),
        (TextStatus::Undelivered, 3),
        // Late or repeated: never undoes the furthest report.
        (TextStatus::Sent, 4),
        (TextStatus::Delivered, 5),
    ] {
        assert_eq!(
            store
                .record_carrier_report("SM0001", &report(status, seconds))
                .await
                .expect("recorded"),
            found
        );
    }
    let carrier = store
        .notification(&globex, &queued.id)
        .await
        .expect("read")
        .expect("present")
        .carrier;
    assert_eq!(carrier, Some(report(TextStatus::Undelivered, 3)));
    assert_eq!(
        store
            .record_carrier_report("SM9999", &report(TextStatus::Delivered, 6))
            .await
            .expect("recorded"),
        None
    );
    let email_read = store
        .notification(&acme, &email_id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (email_read.channel, email_read.carrier),
        (Channel::Email, None)
    );
    let log = store
        .customer_log(&globex, &id::<CustomerId>("cust-9"), 10)
        .await
        .expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].carrier, Some(report(TextStatus::Undelivered, 3)));
}

/// A STOP refuses texts to the number for every business until a later START; replies that
/// arrive out of order never undo a later one.
pub async fn text_opt_outs_keep_the_latest_reply<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let ada = phone("+14155550123");
    let bob = phone("+442071838750");
    assert!(!store.text_opted_out(&ada).await.expect("read"));
    store
        .set_text_opt_out(&ada, true, at(10))
        .await
        .expect("stop");
    assert!(store.text_opted_out(&ada).await.expect("read"));
    assert!(!store.text_opted_out(&bob).await.expect("read"));
    // An older START, delivered late.
    store
        .set_text_opt_out(&ada, false, at(5))
        .await
        .expect("late start");
    assert!(store.text_opted_out(&ada).await.expect("read"));
    store
        .set_text_opt_out(&ada, false, at(20))
        .await
        .expect("start");
    assert!(!store.text_opted_out(&ada).await.expect("read"));
    store
        .set_text_opt_out(&ada, true, at(30))
        .await
        .expect("stop");
    assert!(store.text_opted_out(&ada).await.expect("read"));
}
