//! Multicapture per account, as Stripe decides it: a hold says whether it can be captured in
//! several parts, and a non-final capture of one that cannot is refused and changes nothing.

mod common;

use std::sync::Arc;

use billing_core::ports::{GatewayError, GatewayStatus, PaymentGateway};
use billing_core::testkit::FixedClock;
use billing_sandbox::{MulticaptureAccounts, SandboxConfig, SandboxGateway};

use common::{ACCT, acct, capture, customer, request, usd};

fn sandbox_with(accounts: MulticaptureAccounts) -> SandboxGateway {
    SandboxGateway::with_config(
        Arc::new(FixedClock::default()),
        SandboxConfig::default().with_multicapture(accounts),
    )
}

/// A hold of 100.00 on `account`, on a fresh customer's visa.
async fn hold_on(gateway: &SandboxGateway, account: Option<&str>, name: &str) -> String {
    let account = account.map(str::to_owned);
    let customer = customer(gateway, account.clone(), name).await;
    let card = gateway
        .attach_card(account.clone(), &customer, "pm_card_visa")
        .await
        .expect("saved");
    let mut asked = request(
        &format!("pay_{name}"),
        &customer,
        &card.payment_method,
        usd(10_000),
    );
    asked.account = account;
    let held = gateway.authorize(&asked).await.expect("held");
    assert_eq!(held.status, GatewayStatus::RequiresCapture);
    held.reference
}

#[tokio::test]
async fn every_account_captures_in_parts_by_default() {
    assert_eq!(
        SandboxConfig::default().multicapture,
        MulticaptureAccounts::All
    );
    let gateway = sandbox_with(MulticaptureAccounts::All);
    let reference = hold_on(&gateway, ACCT, "a").await;
    assert_eq!(
        gateway.payment(ACCT, &reference).map(|p| p.multicapture),
        Some(true)
    );
    let part = gateway
        .capture(&capture(&reference, "cap_1", usd(3_000), false))
        .await
        .expect("a part");
    assert_eq!(part.status, GatewayStatus::RequiresCapture);
    assert_eq!(part.amount_capturable, usd(7_000));
    // A charge is never a multicapture hold.
    let customer = customer(&gateway, acct(), "charged").await;
    let charged = gateway
        .charge(&request(
            "pay_charge",
            &customer,
            "pm_card_visa",
            usd(1_000),
        ))
        .await
        .expect("charged");
    assert!(!charged.multicapture);
}

#[tokio::test]
async fn without_multicapture_a_non_final_capture_is_refused() {
    let gateway = sandbox_with(MulticaptureAccounts::None);
    let reference = hold_on(&gateway, ACCT, "a").await;
    let held = gateway.payment(ACCT, &reference).expect("present");
    assert!(!held.multicapture);
    match gateway
        .capture(&capture(&reference, "cap_1", usd(3_000), false))
        .await
    {
        Err(GatewayError::InvalidRequest { message, .. }) => {
            assert!(message.contains("multicapture"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        gateway.payment(ACCT, &reference),
        Some(held),
        "the refusal changed nothing"
    );
    let closed = gateway
        .capture(&capture(&reference, "cap_2", usd(3_000), true))
        .await
        .expect("a final capture works");
    assert_eq!(closed.status, GatewayStatus::Succeeded);
    assert_eq!(
        (closed.amount_received, closed.amount_capturable),
        (usd(3_000), usd(0))
    );
}

#[tokio::test]
async fn only_the_listed_accounts_capture_in_parts() {
    let gateway = sandbox_with(MulticaptureAccounts::Only(vec!["acct_multi".into()]));
    let listed = hold_on(&gateway, Some("acct_multi"), "a").await;
    let other = hold_on(&gateway, Some("acct_plain"), "b").await;
    let platform = hold_on(&gateway, None, "c").await;
    assert_eq!(
        gateway
            .payment(Some("acct_multi"), &listed)
            .map(|p| p.multicapture),
        Some(true)
    );
    assert_eq!(
        gateway
            .payment(Some("acct_plain"), &other)
            .map(|p| p.multicapture),
        Some(false)
    );
    assert_eq!(
        gateway.payment(None, &platform).map(|p| p.multicapture),
        Some(false)
    );
    let mut part = capture(&listed, "cap_1", usd(1_000), false);
    part.account = Some("acct_multi".into());
    gateway.capture(&part).await.expect("captured in part");
    let mut refused = capture(&other, "cap_2", usd(1_000), false);
    refused.account = Some("acct_plain".into());
    assert!(matches!(
        gateway.capture(&refused).await,
        Err(GatewayError::InvalidRequest { .. })
    ));
}
