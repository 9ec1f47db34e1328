//! Gateway events: a verified event about one of our payments settles it.

use super::*;
use crate::ports::{EventSubject, GatewayEvent};

fn event(id: &str, subject: EventSubject) -> GatewayEvent {
    GatewayEvent {
        id: id.into(),
        event_type: "payment_intent.succeeded".into(),
        account: None,
        business: None,
        subject,
    }
}

#[tokio::test]
async fn an_event_settles_a_pending_payment_once() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    w.billing
        .store
        .create_business(
            &w.business,
            &crate::testkit::api_key_record("key_1"),
            "hash",
        )
        .await
        .expect("business");
    gateway.script(Scripted::LostAnswer);
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    assert_eq!(pending.outcome(), Outcome::Pending);
    let about = event("evt_1", EventSubject::Payment(pending.payment.id.clone()));
    assert_eq!(
        w.billing.handle_event(&about).await,
        Ok(EventHandled::Reconciled)
    );
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    assert_eq!(
        w.billing.handle_event(&about).await,
        Ok(EventHandled::Duplicate)
    );
    let foreign = event(
        "evt_2",
        EventSubject::Payment("pay_elsewhere".parse().expect("id")),
    );
    assert_eq!(
        w.billing.handle_event(&foreign).await,
        Ok(EventHandled::Ignored)
    );
    let other = event("evt_3", EventSubject::Other);
    assert_eq!(
        w.billing.handle_event(&other).await,
        Ok(EventHandled::Ignored)
    );
    assert_eq!(gateway.payments_made(), 1);
}
