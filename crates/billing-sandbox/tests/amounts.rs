//! Stripe's amount rules on the sandbox: told in advance, and refused at charge time too, with
//! nothing made.

mod common;

use billing_core::money::{Currency, Money};
use billing_core::ports::{GatewayError, GatewayStatus, PaymentGateway};

use common::{ACCT, acct, capture, refund, request, sandbox, usd, visa_customer};

fn money(minor: i64, currency: Currency) -> Money {
    Money::from_minor(minor, currency)
}

#[tokio::test]
async fn the_sandbox_says_which_amounts_it_can_never_charge() {
    let (gateway, _) = sandbox();
    let refused = |amount: Money| gateway.check_amount(&amount).err();
    assert!(refused(usd(49)).is_some(), "under USD 0.50");
    assert!(refused(usd(50)).is_none());
    assert!(
        refused(money(29, Currency::GBP)).is_some(),
        "under GBP 0.30"
    );
    assert!(refused(money(49, Currency::JPY)).is_some(), "under JPY 50");
    assert!(refused(money(50, Currency::JPY)).is_none());
    assert!(
        refused(money(10_125, Currency::KWD)).is_some(),
        "10.125 KWD"
    );
    assert!(refused(money(10_120, Currency::KWD)).is_none());
    let isk = Currency::from_code("ISK").expect("ISK");
    assert!(refused(money(500, isk)).is_none(), "500 ISK");
    assert!(
        refused(money(10_000, Currency::CLF)).is_some(),
        "a unit of account"
    );
    assert!(
        refused(usd(99_999_999)).is_none(),
        "999,999.99 is the largest"
    );
    assert!(refused(usd(100_000_000)).is_some());
    let why = refused(usd(49)).expect("refused");
    assert_eq!(why.amount, usd(49));
    assert!(why.reason.contains("0.50"), "{}", why.reason);
}

#[tokio::test]
async fn a_charge_stripe_would_refuse_is_refused_and_makes_nothing() {
    let (gateway, _) = sandbox();
    let (customer, card) = visa_customer(&gateway, "ada").await;
    let cases = [
        usd(49),
        money(10_125, Currency::KWD),
        money(10_000, Currency::CLF),
        usd(100_000_000),
    ];
    for (n, amount) in cases.into_iter().enumerate() {
        let asked = request(&format!("pay_{n}"), &customer, &card, amount);
        for hold in [false, true] {
            let answer = if hold {
                gateway.authorize(&asked).await
            } else {
                gateway.charge(&asked).await
            };
            assert!(
                matches!(answer, Err(GatewayError::InvalidRequest { .. })),
                "{amount}: {answer:?}"
            );
        }
        // The key was not used up: the same key with an amount Stripe takes goes through.
        let mut fixed = asked.clone();
        fixed.amount = usd(500);
        assert_eq!(
            gateway.charge(&fixed).await.map(|p| p.status),
            Ok(GatewayStatus::Succeeded)
        );
    }
    assert_eq!(gateway.payment_attempts(ACCT), 4, "only the fixed charges");
}

#[tokio::test]
async fn captures_and_refunds_have_no_minimum_but_keep_the_unit() {
    let (gateway, _) = sandbox();
    let (customer, card) = visa_customer(&gateway, "ada").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &card, usd(1_000)))
        .await
        .expect("held");
    let captured = gateway
        .capture(&capture(&held.reference, "pay_1_cap", usd(20), false))
        .await
        .expect("a capture has no minimum");
    assert_eq!(captured.amount_received, usd(20));
    gateway
        .refund(&refund(&held.reference, "pay_1_ref", usd(1)))
        .await
        .expect("nor a refund");

    let kwd = gateway
        .authorize(&request(
            "pay_2",
            &customer,
            &card,
            money(10_000, Currency::KWD),
        ))
        .await
        .expect("held");
    let mut odd = capture(
        &kwd.reference,
        "pay_2_cap",
        money(1_005, Currency::KWD),
        true,
    );
    assert!(matches!(
        gateway.capture(&odd).await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    odd.amount = money(1_000, Currency::KWD);
    let taken = gateway.capture(&odd).await.expect("captured");
    assert_eq!(taken.amount_received, money(1_000, Currency::KWD));
    assert!(matches!(
        gateway
            .refund(&refund(
                &kwd.reference,
                "pay_2_ref",
                money(5, Currency::KWD)
            ))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    assert!(matches!(
        gateway
            .refund(&refund(
                &kwd.reference,
                "pay_2_ref0",
                money(0, Currency::KWD)
            ))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let record = gateway
        .payment_record(acct(), &kwd.reference)
        .await
        .expect("record");
    assert!(record.refunds.is_empty(), "refusals refunded nothing");
}
