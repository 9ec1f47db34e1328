//! "Email Portal Link" and "Text Portal Link" on a customer's profile: the link goes to the
//! customer alone (its URL is in no page staff see), and the Notifications section lists it.
//! Over HTTP in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use billing_core::customer::Customer;
use billing_core::ids::CustomerId;
use billing_core::notification::{Channel, NotificationKind};
use billing_core::phone::PhoneNumber;
use common::*;

#[tokio::test]
async fn a_portal_link_is_emailed_or_texted_from_the_profile() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/customers/cust-1", Some(&session)).await;
    assert!(
        page.text.contains("id=\"send-portal-link\""),
        "{}",
        page.text
    );
    assert!(!page.text.contains("id=\"text-portal-link\""));
    let csrf = page.field("portal-link-form", "csrf");
    let sent = h
        .post(
            "/console/customers/cust-1/portal-link",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        sent.header("location"),
        "/console/customers/cust-1?result=portal-link-sent"
    );
    let customer = CustomerId::new("cust-1").unwrap();
    let log = h
        .billing
        .customer_notifications(&h.acme, &customer, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].kind, NotificationKind::PortalLink);
    assert_eq!(log[0].channel, Channel::Email);
    let after = h
        .get(
            "/console/customers/cust-1?result=portal-link-sent",
            Some(&session),
        )
        .await;
    assert!(after.text.contains("A link to their bookings was emailed"));
    assert!(!after.text.contains("/portal/"), "{}", after.text);

    // Without a mobile number, a text is refused with the reason; with one, it goes.
    let refused = h
        .post(
            "/console/customers/cust-1/portal-link-text",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        refused.header("location"),
        "/console/customers/cust-1?result=no-phone"
    );
    let ada = h.billing.customer(&h.acme, &customer).await.unwrap();
    h.billing
        .put_customer(
            &h.acme,
            Customer {
                phone: Some(PhoneNumber::from_e164("+14155552671").unwrap()),
                ..ada
            },
        )
        .await
        .unwrap();
    let page = h.get("/console/customers/cust-1", Some(&session)).await;
    assert!(page.text.contains("id=\"text-portal-link\""));
    let texted = h
        .post(
            "/console/customers/cust-1/portal-link-text",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        texted.header("location"),
        "/console/customers/cust-1?result=portal-link-texted"
    );
    let log = h
        .billing
        .customer_notifications(&h.acme, &customer, 10)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|n| n.kind == NotificationKind::PortalLink && n.channel == Channel::Text)
    );
}
