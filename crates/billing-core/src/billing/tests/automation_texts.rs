//! Automation's notices to a customer with a mobile number go by text too, and never to a
//! number that replied STOP.

use super::automation::{automated, run};
use super::*;
use crate::automation::{Action, PaymentPolicy};
use crate::customer::Customer;
use crate::notification::{Channel, NotificationKind};
use crate::phone::PhoneNumber;
use crate::ports::{
    CustomerDirectory, InboundText, NotificationLog, ReplyIntent, RunOutcome, TextEvent,
};

fn number() -> PhoneNumber {
    PhoneNumber::from_e164("+14155552671").expect("number")
}

/// Gives the world's customer a mobile number.
async fn give_phone(w: &World) -> CustomerId {
    let id = CustomerId::new("cust-1").expect("id");
    let customer = w
        .store
        .customer(&w.business.id, &id)
        .await
        .expect("read")
        .expect("found");
    w.billing
        .put_customer(
            &w.business,
            Customer {
                phone: Some(number()),
                ..customer
            },
        )
        .await
        .expect("saved");
    id
}

#[tokio::test]
async fn a_failed_automatic_charge_is_texted_with_its_payment_link() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[("b-1", "95.00")]).await;
    let customer = give_phone(&w).await;
    gateway.script(Scripted::Decline("stolen_card".into()));
    let done = run(&w).await;
    assert_eq!(done.get(1), Some(&(Action::GiveUp, RunOutcome::Notified)));
    let log = w
        .store
        .customer_log(&w.business.id, &customer, 20)
        .await
        .expect("log");
    let failed: Vec<_> = log
        .iter()
        .filter(|n| n.kind == NotificationKind::PaymentFailed)
        .collect();
    let channels: Vec<Channel> = failed.iter().map(|n| n.channel).collect();
    assert_eq!(channels.len(), 2, "{log:?}");
    assert!(channels.contains(&Channel::Email) && channels.contains(&Channel::Text));
    let text = failed
        .iter()
        .find(|n| n.channel == Channel::Text)
        .expect("a text");
    let message = w
        .store
        .message(&w.business.id, &text.id)
        .await
        .expect("read")
        .expect("found");
    assert!(
        message.text_body.contains("https://pay.example.com"),
        "the text carries the payment link: {}",
        message.text_body
    );
    // Notices to the business never go by text.
    assert!(
        log.iter()
            .filter(|n| n.kind.is_for_business())
            .all(|n| n.channel == Channel::Email)
    );
}

#[tokio::test]
async fn after_a_stop_automation_emails_alone() {
    let (w, gateway) = automated(PaymentPolicy::ChargeAtBooking, &[("b-1", "95.00")]).await;
    let customer = give_phone(&w).await;
    w.billing
        .handle_text_event(&TextEvent::Inbound(InboundText {
            reference: "SM_in".into(),
            from: number(),
            body: "STOP".into(),
            intent: ReplyIntent::OptOut,
        }))
        .await
        .expect("applied");
    gateway.script(Scripted::Decline("stolen_card".into()));
    run(&w).await;
    let log = w
        .store
        .customer_log(&w.business.id, &customer, 20)
        .await
        .expect("log");
    assert!(
        log.iter()
            .any(|n| n.kind == NotificationKind::PaymentFailed && n.channel == Channel::Email)
    );
    assert!(log.iter().all(|n| n.channel == Channel::Email), "{log:?}");
}
