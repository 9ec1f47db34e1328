//! Amounts Stripe can never charge are refused by the adapter before any request is sent
//! (Stripe's rules, from `billing-stripe-rules`), with a reason worded for the business; and
//! what Stripe takes goes through.

mod common;

use billing_core::money::{Currency, Money};
use billing_core::ports::{CaptureRequest, GatewayError, GatewayStatus, PaymentGateway};
use common::{account, customer_with, eur, pid, request, start};

fn money(text: &str, currency: Currency) -> Money {
    Money::parse(text, currency).expect("money")
}

#[tokio::test]
async fn amounts_stripe_never_charges_are_refused_before_any_request() {
    let (fake, gateway) = start().await;
    let refused = [
        (money("0.49", Currency::USD), "0.50 USD"),
        (money("0.29", Currency::GBP), "0.30 GBP"),
        (money("49", Currency::JPY), "50 JPY"),
        (money("10.125", Currency::KWD), "last digit is 0"),
        (money("100", Currency::CLF), "CLF"),
    ];
    for (amount, said) in &refused {
        let reason = gateway.check_amount(amount).expect_err("refused").reason;
        assert!(reason.contains(said), "{amount}: {reason}");
    }
    for (n, (amount, _)) in refused.iter().enumerate() {
        for hold in [false, true] {
            let asked = request(
                &format!("pay_small_{n}_{hold}"),
                "cus_x",
                "pm_card_visa",
                *amount,
            );
            let answer = if hold {
                gateway.authorize(&asked).await
            } else {
                gateway.charge(&asked).await
            };
            assert!(
                matches!(&answer, Err(e @ GatewayError::InvalidRequest { .. }) if e.nothing_done()),
                "{amount}: {answer:?}"
            );
        }
    }
    // Captures and refunds follow the unit rule too.
    let kwd = money("1.125", Currency::KWD);
    let capture = gateway
        .capture(&CaptureRequest {
            account: account(),
            payment_reference: "pi_x".into(),
            capture: pid("pay_capture_kwd"),
            idempotency_key: "pay_capture_kwd:attempt".into(),
            amount: kwd,
            final_capture: true,
        })
        .await;
    assert!(
        matches!(capture, Err(GatewayError::InvalidRequest { .. })),
        "{capture:?}"
    );
    assert!(
        fake.requests().is_empty(),
        "nothing reached Stripe: {:?}",
        fake.requests()
    );
}

#[tokio::test]
async fn amounts_stripe_takes_are_charged_in_its_unit() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "amounts", "pm_card_visa").await;
    for (n, amount, sent) in [
        (1, money("0.50", Currency::USD), 50),
        (2, money("10.120", Currency::KWD), 10_120),
        (3, money("50", Currency::JPY), 50),
        (
            4,
            money("500", Currency::from_code("ISK").expect("ISK")),
            50_000,
        ),
    ] {
        assert_eq!(gateway.check_amount(&amount), Ok(()), "{amount}");
        let paid = gateway
            .charge(&request(
                &format!("pay_amount_{n}"),
                &customer,
                &visa.payment_method,
                amount,
            ))
            .await
            .expect("charged");
        assert_eq!(paid.status, GatewayStatus::Succeeded, "{amount}");
        assert_eq!(paid.amount, amount);
        assert_eq!(
            common::last_intent_params(&fake)["amount"],
            sent.to_string(),
            "{amount}"
        );
    }
    assert_eq!(gateway.check_amount(&eur(50)), Ok(()));
}
