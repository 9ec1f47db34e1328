//! Connecting a business's own account: made once, fresh links each time, its state kept from
//! the owner's return and the gateway's events (never an older one over a newer), and card
//! payments refused — writing nothing — while it cannot take them.

use chrono::Duration;

use super::*;
use crate::connect::{AccountStanding, OnboardingReturn};
use crate::ports::{Clock, ConnectedAccounts, EventSubject, GatewayEvent};
use crate::testkit::ScriptedOnboarding;

fn back() -> OnboardingReturn {
    OnboardingReturn {
        return_url: "https://billing.example/console/settings/stripe/return".into(),
        refresh_url: "https://billing.example/console/settings/stripe/refresh".into(),
    }
}

/// A stored business over a scripted gateway, with onboarding.
async fn connected_world(
    bookings: &[(&str, &str)],
) -> (World, ScriptedGateway, ScriptedOnboarding) {
    let (mut w, gateway) = scripted_on_clock(bookings).await;
    let onboarding = ScriptedOnboarding::new(w.clock.clone());
    w.billing = w
        .billing
        .clone()
        .with_onboarding(Arc::new(onboarding.clone()));
    (w, gateway, onboarding)
}

fn account_event(
    id: &str,
    state: crate::connect::AccountState,
    created: chrono::DateTime<chrono::Utc>,
) -> GatewayEvent {
    GatewayEvent {
        id: id.into(),
        event_type: "account.updated".into(),
        account: Some(state.account.clone()),
        business: None,
        subject: EventSubject::Account { state, created },
    }
}

#[tokio::test]
async fn onboarding_makes_one_account_and_a_fresh_link_each_time() {
    let (w, _, onboarding) = connected_world(&[]).await;
    assert_eq!(
        w.billing
            .connected_account(&w.business)
            .await
            .expect("read"),
        None
    );
    let (a, b) = futures_util::future::join(
        w.billing.start_onboarding(&w.business, &back()),
        w.billing.start_onboarding(&w.business, &back()),
    )
    .await;
    let (a, b) = (a.expect("started"), b.expect("started"));
    assert_eq!(onboarding.made().len(), 1, "one account for one business");
    assert_eq!(a.account.id(), b.account.id());
    assert_ne!(a.link.url, b.link.url, "each start makes its own link");
    let again = w
        .billing
        .start_onboarding(&w.business, &back())
        .await
        .expect("again");
    assert_eq!(again.account.id(), a.account.id());
    assert_eq!(onboarding.made().len(), 1);
    assert_eq!(onboarding.links().len(), 3);
    assert_eq!(onboarding.links()[0].1, back());
    assert_eq!(
        again.account.standing(),
        AccountStanding::OnboardingIncomplete
    );
    assert_eq!(again.account.state.requirements_due.len(), 2);
    let stored = w
        .store
        .business(&w.business.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(stored.gateway_account.as_deref(), Some(a.account.id()));
}

#[tokio::test]
async fn charges_wait_for_the_account_and_refusals_write_nothing() {
    let (w, gateway, onboarding) = connected_world(&[("b-1", "100.00")]).await;
    let started = w
        .billing
        .start_onboarding(&w.business, &back())
        .await
        .expect("started");
    let account = started.account.id().to_owned();
    let business = w
        .store
        .business(&w.business.id)
        .await
        .expect("read")
        .expect("found");
    let refused = w
        .billing
        .charge(&business, charge("b-1", Some("30.00")))
        .await;
    assert_eq!(
        refused,
        Err(BillingError::AccountCannotCharge {
            account: account.clone(),
            disabled_reason: Some("requirements.past_due".into()),
        })
    );
    assert_eq!(
        w.billing
            .authorize(&business, hold("b-1", None))
            .await
            .map(|_| ()),
        Err(BillingError::AccountCannotCharge {
            account: account.clone(),
            disabled_reason: Some("requirements.past_due".into()),
        })
    );
    assert_eq!(gateway.payments_made(), 0, "the gateway was asked nothing");
    let view = w
        .billing
        .booking(&business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert!(view.payments.is_empty(), "nothing was written");
    // Cash is not a card payment: it is recorded.
    w.billing
        .record_collection(
            &business,
            RecordCollection {
                booking: booking_id("b-1"),
                amount: Some(usd("10.00").into()),
                method: CollectionMethod::Cash,
                reference: None,
                idempotency_key: None,
                allow_duplicate: true,
            },
        )
        .await
        .expect("cash recorded");

    onboarding.complete(&account).expect("completed");
    w.clock.advance(Duration::seconds(1));
    let returned = w
        .billing
        .onboarding_returned(&business)
        .await
        .expect("returned");
    assert!(returned.can_charge());
    assert_eq!(returned.standing(), AccountStanding::Ready);
    let receipt = w
        .billing
        .charge(&business, charge("b-1", Some("30.00")))
        .await
        .expect("charged");
    assert_eq!(receipt.outcome(), Outcome::Settled);
}

#[tokio::test]
async fn account_events_keep_the_newest_state() {
    let (w, _, onboarding) = connected_world(&[]).await;
    let started = w
        .billing
        .start_onboarding(&w.business, &back())
        .await
        .expect("started");
    let account = started.account.id().to_owned();
    let restricted = onboarding.made()[0].clone();
    let done = onboarding.complete(&account).expect("completed");
    let t0 = w.clock.now();

    let newer = account_event("evt_2", done.clone(), t0 + Duration::seconds(20));
    let older = account_event("evt_1", restricted.clone(), t0 + Duration::seconds(10));
    assert_eq!(
        w.billing.handle_event(&newer).await,
        Ok(EventHandled::Reconciled)
    );
    assert_eq!(
        w.billing.handle_event(&older).await,
        Ok(EventHandled::Ignored),
        "a late, older event changes nothing"
    );
    assert_eq!(
        w.billing.handle_event(&newer).await,
        Ok(EventHandled::Duplicate)
    );
    let kept = w
        .billing
        .connected_account(&w.business)
        .await
        .expect("read")
        .expect("some");
    assert_eq!(kept.state, done);
    assert_eq!(kept.as_of, t0 + Duration::seconds(20));

    // A read from the gateway and an event of the same second: the event is kept (the gateway
    // dates events to the second).
    w.clock.advance(Duration::milliseconds(60_500));
    let read = w
        .billing
        .onboarding_returned(&w.business)
        .await
        .expect("returned");
    let same_second = account_event("evt_5", restricted.clone(), read.as_of);
    assert_eq!(
        w.billing.handle_event(&same_second).await,
        Ok(EventHandled::Reconciled)
    );

    let unknown = crate::connect::AccountState::new_restricted("acct_of_nobody");
    assert_eq!(
        w.billing
            .handle_event(&account_event("evt_3", unknown, t0 + Duration::seconds(30)))
            .await,
        Ok(EventHandled::Ignored)
    );
}

#[tokio::test]
async fn a_business_given_its_account_keeps_charging_and_onboards_that_account() {
    let (mut w, gateway, onboarding) = connected_world(&[("b-1", "100.00")]).await;
    let given = Business {
        id: "given".parse().expect("id"),
        gateway_account: Some("acct_given".into()),
        ..acme()
    };
    w.store
        .create_business(&given, &crate::testkit::api_key_record("key_2"), "hash-2")
        .await
        .expect("business");
    // The same customer and booking, for this business.
    crate::testkit::seed_customer_with_card(
        &*w.store,
        &given.id,
        &CustomerId::new("cust-1").expect("id"),
    )
    .await
    .expect("customer");
    let booking = BookingAccount::new(
        booking_id("b-1"),
        CustomerId::new("cust-1").expect("id"),
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Home cleaning", usd("100.00")).expect("line")],
    )
    .expect("booking");
    w.billing.put_booking(&given, booking).await.expect("put");
    w.business = given.clone();
    w.billing
        .charge(&given, charge("b-1", Some("10.00")))
        .await
        .expect("an account given at creation charges as before");
    assert_eq!(gateway.payments_made(), 1);

    let mut state = crate::connect::AccountState::new_restricted("acct_given");
    state.charges_enabled = true;
    state.details_submitted = true;
    onboarding.add_account(state);
    let started = w
        .billing
        .start_onboarding(&given, &back())
        .await
        .expect("started");
    assert_eq!(started.account.id(), "acct_given");
    assert!(
        onboarding.made().iter().all(|a| a.account == "acct_given"),
        "no account made"
    );
    assert!(started.account.can_charge());
}

#[tokio::test]
async fn onboarding_needs_a_gateway_that_connects_accounts() {
    let (w, _) = scripted_on_clock(&[]).await;
    assert_eq!(
        w.billing.start_onboarding(&w.business, &back()).await,
        Err(BillingError::OnboardingUnavailable)
    );
    let (w, _, onboarding) = connected_world(&[]).await;
    assert_eq!(
        w.billing.onboarding_returned(&w.business).await,
        Err(BillingError::AccountNotConnected)
    );
    let relative = OnboardingReturn {
        return_url: "/console/settings".into(),
        ..back()
    };
    assert!(matches!(
        w.billing.start_onboarding(&w.business, &relative).await,
        Err(BillingError::InvalidInput(_))
    ));
    onboarding.fail_next(GatewayError::Unavailable("down".into()));
    assert!(matches!(
        w.billing.start_onboarding(&w.business, &back()).await,
        Err(BillingError::Gateway { .. })
    ));
    assert_eq!(
        w.store
            .connected_account(&w.business.id)
            .await
            .expect("read"),
        None
    );
}
