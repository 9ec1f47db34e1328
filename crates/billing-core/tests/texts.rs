//! Texts through the core: payment links and card requests texted as asked, refused clearly
//! without a number or after a STOP, and the provider's reports and replies applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use billing_core::billing::{CreatePaymentLink, HostedPages, Sending};
use billing_core::notification::{Channel, NotificationKind};
use billing_core::phone::PhoneNumber;
use billing_core::ports::{
    InboundText, NotificationLog, ReplyIntent, TextEvent, TextStatus, TextStatusReport,
};
use billing_core::prelude::*;
use billing_core::testkit::{
    FixedClock, MemoryStore, PlainPages, PlainTemplates, ScriptedGateway, SequentialIds,
    SequentialSecrets,
};

struct World {
    billing: Billing,
    store: Arc<MemoryStore>,
    business: Business,
}

fn ada() -> CustomerId {
    CustomerId::new("c-1").unwrap()
}

fn number() -> PhoneNumber {
    PhoneNumber::from_e164("+14155550123").unwrap()
}

/// Ada, with an email address and, when `phone`, a mobile number; a 215.50 booking.
async fn world(phone: bool) -> World {
    let store = Arc::new(MemoryStore::new());
    let billing = Billing::new(
        store.clone(),
        Arc::new(ScriptedGateway::new()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    )
    .with_hosted_pages(HostedPages {
        addresses: Arc::new(PlainPages("https://pay.example.com/".into())),
        link_lifetime: HostedPages::default_lifetime(),
        templates: Arc::new(PlainTemplates),
    });
    let business = Business {
        id: BusinessId::new("acme").unwrap(),
        name: "Acme Cleaning".into(),
        gateway_account: None,
        email: None,
    };
    billing
        .put_customer(
            &business,
            Customer {
                id: ada(),
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: phone.then(number),
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    let booking = BookingAccount::new(
        BookingId::new("b-1").unwrap(),
        ada(),
        Currency::USD,
        vec![
            LineItem::new(
                LineItemKind::Service,
                "Deep clean",
                Money::from_minor(21_550, Currency::USD),
            )
            .unwrap(),
        ],
    )
    .unwrap();
    billing.put_booking(&business, booking).await.unwrap();
    World {
        billing,
        store,
        business,
    }
}

fn link(send: Sending) -> CreatePaymentLink {
    CreatePaymentLink {
        customer: ada(),
        bookings: vec![BookingId::new("b-1").unwrap()],
        amount: None,
        send,
    }
}

const BOTH: Sending = Sending {
    email: true,
    text: true,
};

#[tokio::test]
async fn a_payment_link_goes_by_email_and_by_text_when_asked() {
    let w = world(true).await;
    let issued = w
        .billing
        .create_payment_link(&w.business, link(BOTH))
        .await
        .unwrap();
    let email = issued.notification.expect("an email");
    let text = issued.text.expect("a text");
    assert_eq!(
        (email.channel, text.channel),
        (Channel::Email, Channel::Text)
    );
    assert_eq!(text.kind, NotificationKind::PaymentLink);
    assert_eq!(text.to, "+14155550123");
    let message = w
        .store
        .message(&w.business.id, &text.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        message.text_body.contains(&issued.url),
        "{}",
        message.text_body
    );
    assert!(
        message
            .text_body
            .starts_with("Acme Cleaning: you have 215.50 USD to pay.")
    );
    let log = w
        .billing
        .customer_notifications(&w.business, &ada(), 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 2);

    let card = w
        .billing
        .request_card(
            &w.business,
            &ada(),
            Sending {
                email: false,
                text: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(card.notification, None);
    assert_eq!(card.text.unwrap().kind, NotificationKind::CardRequest);
}

#[tokio::test]
async fn a_text_without_a_number_or_after_a_stop_is_refused_and_nothing_is_made() {
    let w = world(false).await;
    let refused = w.billing.create_payment_link(&w.business, link(BOTH)).await;
    assert!(
        matches!(refused, Err(BillingError::NoPhoneNumber(_))),
        "{refused:?}"
    );
    let links = w
        .billing
        .customer_links(&w.business, &ada(), 10)
        .await
        .unwrap();
    assert!(links.is_empty(), "a refused link is not stored");

    let w = world(true).await;
    let stop = TextEvent::Inbound(InboundText {
        reference: "SM_in_1".into(),
        from: number(),
        body: "STOP".into(),
        intent: ReplyIntent::OptOut,
    });
    assert_eq!(w.billing.handle_text_event(&stop).await.unwrap(), None);
    let refused = w.billing.create_payment_link(&w.business, link(BOTH)).await;
    assert!(
        matches!(refused, Err(BillingError::TextsRefused(_))),
        "{refused:?}"
    );
    // The email alone still goes.
    w.billing
        .create_payment_link(&w.business, link(Sending::EMAIL))
        .await
        .unwrap();
    // A help request changes nothing; START welcomes texts again.
    for (body, intent) in [("HELP", ReplyIntent::Help), ("START", ReplyIntent::OptIn)] {
        let reply = TextEvent::Inbound(InboundText {
            reference: format!("SM_in_{body}"),
            from: number(),
            body: body.into(),
            intent,
        });
        w.billing.handle_text_event(&reply).await.unwrap();
    }
    w.billing
        .create_payment_link(&w.business, link(BOTH))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_delivery_report_is_kept_on_the_text_it_names() {
    let w = world(true).await;
    let issued = w
        .billing
        .create_payment_link(&w.business, link(BOTH))
        .await
        .unwrap();
    let text = issued.text.unwrap();
    let now = w.billing.now();
    w.store
        .mark_sent(&w.business.id, &text.id, now, "SM42")
        .await
        .unwrap();
    let delivered = TextEvent::Status(TextStatusReport {
        reference: "SM42".into(),
        status: TextStatus::Delivered,
        error_code: None,
    });
    assert_eq!(
        w.billing.handle_text_event(&delivered).await.unwrap(),
        Some((w.business.id.clone(), text.id.clone()))
    );
    let unknown = TextEvent::Status(TextStatusReport {
        reference: "SM_other".into(),
        status: TextStatus::Delivered,
        error_code: None,
    });
    assert_eq!(w.billing.handle_text_event(&unknown).await.unwrap(), None);
    let read = w.billing.notification(&w.business, &text.id).await.unwrap();
    assert_eq!(read.carrier.unwrap().status, TextStatus::Delivered);
}
