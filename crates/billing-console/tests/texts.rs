//! Texts from a customer's profile: "Text a payment link" and "Send Text", shown only for a
//! customer with a mobile number, refused clearly after a STOP, and listed in the
//! Notifications section with what the carrier reported. Over HTTP in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use billing_core::customer::Customer;
use billing_core::ids::CustomerId;
use billing_core::phone::PhoneNumber;
use billing_core::ports::{InboundText, ReplyIntent, TextEvent, TextStatus, TextStatusReport};
use common::*;

const ADA: &str = "+14155552671";

/// Gives Acme's customer a mobile number.
async fn give_phone(h: &Harness) {
    let id = CustomerId::new("cust-1").unwrap();
    let customer = h.billing.customer(&h.acme, &id).await.unwrap();
    h.billing
        .put_customer(
            &h.acme,
            Customer {
                phone: Some(PhoneNumber::from_e164(ADA).unwrap()),
                ..customer
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_payment_link_and_a_card_request_are_texted_from_the_profile() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let without = h.get("/console/customers/cust-1", Some(&session)).await;
    assert!(!without.text.contains("id=\"profile-text-link\""));
    assert!(!without.text.contains("id=\"text-card-request\""));
    // A member who posts anyway is told why.
    let refused = h
        .post(
            "/console/customers/cust-1/payment-link-text",
            &format!(
                "csrf={}&booking=a-2",
                without.field("profile-charge-form", "csrf")
            ),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        refused.header("location"),
        "/console/customers/cust-1?result=no-phone"
    );

    give_phone(&h).await;
    let page = h.get("/console/customers/cust-1", Some(&session)).await;
    assert!(
        page.text.contains("id=\"customer-phone\">+1 415-555-2671"),
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"profile-text-link\""));
    let csrf = page.field("profile-charge-form", "csrf");
    let texted = h
        .post(
            "/console/customers/cust-1/payment-link-text",
            &format!("csrf={csrf}&booking=a-2"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        texted.header("location"),
        "/console/customers/cust-1?result=link-texted"
    );
    let card = h
        .post(
            "/console/customers/cust-1/card-request-text",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        card.header("location"),
        "/console/customers/cust-1?result=card-request-texted"
    );
    let after = h
        .get(
            "/console/customers/cust-1?result=link-texted",
            Some(&session),
        )
        .await;
    assert!(
        after
            .text
            .contains("The payment link was texted to the customer.")
    );
    assert_eq!(
        after.text.matches("<td>Text</td>").count(),
        2,
        "{}",
        after.text
    );
    assert!(after.text.contains(&format!("<td>{ADA}</td>")));

    // The provider took the link's text, and reports it undelivered.
    let log = h
        .billing
        .customer_notifications(&h.acme, &CustomerId::new("cust-1").unwrap(), 10)
        .await
        .unwrap();
    let link = log
        .iter()
        .find(|n| n.subject == "Payment link")
        .expect("the link's text");
    use billing_core::ports::NotificationLog;
    h.store
        .mark_sent(&h.acme.id, &link.id, h.billing.now(), "SM77")
        .await
        .unwrap();
    h.billing
        .handle_text_event(&TextEvent::Status(TextStatusReport {
            reference: "SM77".into(),
            status: TextStatus::Undelivered,
            error_code: Some("30003".into()),
        }))
        .await
        .unwrap();
    let reported = h.get("/console/customers/cust-1", Some(&session)).await;
    assert!(
        reported
            .text
            .contains("not delivered (carrier error 30003)"),
        "{}",
        reported.text
    );

    // Ada replies STOP.
    h.billing
        .handle_text_event(&TextEvent::Inbound(InboundText {
            reference: "SM_in".into(),
            from: PhoneNumber::from_e164(ADA).unwrap(),
            body: "STOP".into(),
            intent: ReplyIntent::OptOut,
        }))
        .await
        .unwrap();
    let stopped = h
        .post(
            "/console/customers/cust-1/card-request-text",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        stopped.header("location"),
        "/console/customers/cust-1?result=texts-refused"
    );
    let told = h
        .get(
            "/console/customers/cust-1?result=texts-refused",
            Some(&session),
        )
        .await;
    assert!(told.text.contains("replied STOP"));
}
