//! A sandbox kept in a data folder: what it made before a restart is there after it, its
//! journal survives a process killed mid-write, and it is compacted when opened.

mod common;

use std::io::Write;
use std::sync::Arc;

use billing_core::ports::{
    Clock, GatewayError, GatewayStatus, PaymentGateway, RefundStatus, SetupStatus,
};
use billing_core::testkit::FixedClock;
use billing_sandbox::{Fault, JournalError, Operation, SandboxConfig, SandboxGateway};

use common::{ACCT, DataDir, RETURN_URL, acct, customer, on_session, pid, refund, request, usd};

fn open(dir: &DataDir, clock: &Arc<FixedClock>) -> SandboxGateway {
    SandboxGateway::open(dir.path(), clock.clone(), SandboxConfig::default()).expect("opened")
}

fn lines(dir: &DataDir) -> Vec<String> {
    std::fs::read_to_string(dir.journal())
        .expect("journal")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_card_saved_before_a_restart_is_charged_after_it() {
    let dir = DataDir::new("saved-card");
    let clock = Arc::new(FixedClock::default());
    let (customer, card, typed) = {
        let gateway = open(&dir, &clock);
        let customer = customer(&gateway, acct(), "ada").await;
        let card = gateway
            .attach_card(acct(), &customer, "pm_card_visa")
            .await
            .expect("saved");
        gateway
            .set_default_card(acct(), &customer, &card.payment_method)
            .await
            .expect("default");
        // A card typed into the card form, not used yet.
        let typed = gateway
            .create_payment_method_from_card("5555555555554444", 4, 2031, "123")
            .expect("valid");
        (customer, card, typed)
    };
    let gateway = open(&dir, &clock);
    let cards = gateway.list_cards(acct(), &customer).await.expect("listed");
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].payment_method, card.payment_method);
    assert!(cards[0].is_default);
    assert_eq!(
        customer_again(&gateway).await,
        customer,
        "the same customer, not a second one"
    );
    let paid = gateway
        .charge(&request(
            "pay_1",
            &customer,
            &card.payment_method,
            usd(2_500),
        ))
        .await
        .expect("charged");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    let saved = gateway
        .attach_card(acct(), &customer, &typed)
        .await
        .expect("the typed card is still there");
    assert_eq!(saved.last4, "4444");
    // New ids never repeat old ones.
    let other = common::customer(&gateway, acct(), "bob").await;
    assert_ne!(other, customer);
    assert!(other > customer, "{other} after {customer}");
}

async fn customer_again(gateway: &SandboxGateway) -> String {
    customer(gateway, acct(), "ada").await
}

#[tokio::test]
async fn a_payment_whose_answer_was_lost_is_found_after_a_restart() {
    let dir = DataDir::new("lost-answer");
    let clock = Arc::new(FixedClock::default());
    let asked = {
        let gateway = open(&dir, &clock);
        let customer = customer(&gateway, acct(), "ada").await;
        let card = gateway
            .attach_card(acct(), &customer, "pm_card_visa")
            .await
            .expect("saved");
        gateway.inject_on(Operation::Charge, Fault::TimeoutAfterCharge, 1);
        let asked = request("pay_lost", &customer, &card.payment_method, usd(3_000));
        assert!(matches!(
            gateway.charge(&asked).await,
            Err(GatewayError::UnknownOutcome(_))
        ));
        asked
    };
    let gateway = open(&dir, &clock);
    let found = gateway
        .find_payment(acct(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found after the restart");
    assert_eq!(found.status, GatewayStatus::Succeeded);
    assert_eq!(found.payment.as_ref(), Some(&asked.payment));
    let again = gateway.charge(&asked).await.expect("replayed");
    assert_eq!(again.reference, found.reference, "the key was kept");
    assert_eq!(gateway.payment_attempts(ACCT), 1, "charged once");
    let refunded = gateway
        .refund(&refund(&found.reference, "pay_lost_refund", usd(1_000)))
        .await
        .expect("refunded");
    assert_eq!(refunded.status, RefundStatus::Succeeded);
    drop(gateway);
    let gateway = open(&dir, &clock);
    let record = gateway
        .payment_record(acct(), &found.reference)
        .await
        .expect("record");
    assert_eq!(record.refunds, vec![refunded]);
    assert_eq!(
        gateway
            .find_refund(acct(), &found.reference, &pid("pay_lost_refund"))
            .await
            .expect("looked up")
            .map(|r| r.amount),
        Some(usd(1_000))
    );
}

#[tokio::test]
async fn a_replay_after_a_restart_answers_the_first_answer() {
    let dir = DataDir::new("replay");
    let clock = Arc::new(FixedClock::default());
    let (hold, first) = {
        let gateway = open(&dir, &clock);
        let customer = customer(&gateway, acct(), "ada").await;
        let card = gateway
            .attach_card(acct(), &customer, "pm_card_visa")
            .await
            .expect("saved");
        let hold = request("pay_hold", &customer, &card.payment_method, usd(5_000));
        let first = gateway.authorize(&hold).await.expect("held");
        gateway
            .capture(&common::capture(
                &first.reference,
                "pay_cap",
                usd(2_000),
                false,
            ))
            .await
            .expect("captured in part");
        (hold, first)
    };
    let gateway = open(&dir, &clock);
    assert_eq!(gateway.authorize(&hold).await, Ok(first.clone()));
    let now = gateway.payment(ACCT, &first.reference).expect("present");
    assert_eq!(
        (now.amount_received, now.amount_capturable, now.multicapture),
        (usd(2_000), usd(3_000), true)
    );
    // Past the hold's time after the restart, it expires as it would have.
    clock.advance(chrono::Duration::days(8));
    let closed = gateway.payment(ACCT, &first.reference).expect("present");
    assert_eq!(
        (closed.status, closed.amount_received),
        (GatewayStatus::Succeeded, usd(2_000))
    );
}

#[tokio::test]
async fn a_payment_waiting_for_the_customer_can_be_authenticated_after_a_restart() {
    let dir = DataDir::new("waiting");
    let clock = Arc::new(FixedClock::default());
    let (waiting, setup) = {
        let gateway = open(&dir, &clock);
        let customer = customer(&gateway, acct(), "ada").await;
        let waiting = gateway
            .charge(&on_session(
                request(
                    "pay_sca",
                    &customer,
                    "pm_card_authenticationRequired",
                    usd(4_000),
                ),
                true,
            ))
            .await
            .expect("answered");
        let setup = gateway
            .start_card_setup(acct(), &customer, "setup-1")
            .await
            .expect("started");
        gateway
            .confirm_card_setup(
                acct(),
                &setup.reference,
                "pm_card_authenticationRequiredOnSetup",
                RETURN_URL,
            )
            .await
            .expect("answered");
        (waiting, setup)
    };
    let gateway = open(&dir, &clock);
    let found = gateway.payment(ACCT, &waiting.reference).expect("present");
    assert_eq!(found.next_action, waiting.next_action, "the same page");
    gateway
        .authenticate(ACCT, &waiting.reference, true)
        .expect("completed");
    gateway
        .authenticate(ACCT, &setup.reference, true)
        .expect("completed");
    drop(gateway);
    let gateway = open(&dir, &clock);
    assert_eq!(
        gateway.payment(ACCT, &waiting.reference).map(|p| p.status),
        Some(GatewayStatus::Succeeded)
    );
    let read = gateway
        .card_setup(acct(), &setup.reference)
        .await
        .expect("read");
    assert!(matches!(read.status, SetupStatus::Succeeded(_)), "{read:?}");
    assert_eq!(
        gateway
            .events_since(acct(), clock.now() - chrono::Duration::hours(1))
            .await
            .expect("read")
            .len(),
        1,
        "the challenge's event is kept too"
    );
}

#[tokio::test]
async fn a_line_cut_off_by_a_killed_process_is_ignored() {
    let dir = DataDir::new("torn");
    let clock = Arc::new(FixedClock::default());
    let customer = {
        let gateway = open(&dir, &clock);
        let customer = customer(&gateway, acct(), "ada").await;
        gateway
            .attach_card(acct(), &customer, "pm_card_visa")
            .await
            .expect("saved");
        customer
    };
    // The process was killed while writing a charge's line: half of it reached the file.
    let whole = lines(&dir).join("\n");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.journal())
        .expect("journal");
    file.write_all(
        b"[{\"record\":\"intent\",\"account\":\"acct_venue\",\"intent\":{\"id\":\"pi_sbx",
    )
    .expect("written");
    drop(file);
    assert!(
        !std::fs::read_to_string(dir.journal())
            .expect("read")
            .ends_with('\n')
    );

    let gateway = open(&dir, &clock);
    let cards = gateway.list_cards(acct(), &customer).await.expect("listed");
    assert_eq!(cards.len(), 1);
    assert_eq!(
        gateway.payment_attempts(ACCT),
        0,
        "the cut-off charge never answered"
    );
    assert_eq!(
        lines(&dir).join("\n"),
        whole,
        "compaction dropped the torn line"
    );
    let paid = gateway
        .charge(&request(
            "pay_1",
            &customer,
            &cards[0].payment_method,
            usd(1_000),
        ))
        .await
        .expect("charged");
    drop(gateway);
    let gateway = open(&dir, &clock);
    assert_eq!(
        gateway.payment(ACCT, &paid.reference).map(|p| p.status),
        Some(GatewayStatus::Succeeded),
        "lines written after the torn one are read"
    );
}

#[tokio::test]
async fn an_unreadable_line_refuses_to_open_rather_than_forget() {
    let dir = DataDir::new("corrupt");
    let clock = Arc::new(FixedClock::default());
    {
        let gateway = open(&dir, &clock);
        customer(&gateway, acct(), "ada").await;
    }
    let mut text = std::fs::read_to_string(dir.journal()).expect("read");
    text.push_str("not json\n[]\n");
    std::fs::write(dir.journal(), &text).expect("written");
    match SandboxGateway::open(dir.path(), clock.clone(), SandboxConfig::default()) {
        Err(JournalError::Unreadable { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected an unreadable journal, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(dir.journal()).expect("read"),
        text,
        "left as it was"
    );
}

#[tokio::test]
async fn opening_compacts_the_journal_and_forgets_old_keys() {
    let dir = DataDir::new("compact");
    let clock = Arc::new(FixedClock::default());
    let (paid, asked) = {
        let gateway = SandboxGateway::open(
            dir.path(),
            clock.clone(),
            SandboxConfig::default().with_sync_writes(true),
        )
        .expect("opened");
        let customer = customer(&gateway, acct(), "ada").await;
        let card = gateway
            .attach_card(acct(), &customer, "pm_card_visa")
            .await
            .expect("saved");
        let asked = request("pay_1", &customer, &card.payment_method, usd(10_000));
        let paid = gateway.charge(&asked).await.expect("charged");
        for n in 0..20 {
            gateway
                .refund(&refund(&paid.reference, &format!("pay_r{n}"), usd(100)))
                .await
                .expect("refunded");
        }
        (paid, asked)
    };
    let before = lines(&dir).len();
    assert!(before > 20, "one line per call: {before}");
    clock.advance(chrono::Duration::hours(25));
    let gateway = open(&dir, &clock);
    let after = lines(&dir);
    // The header, the customer, the card, the payment: the keys are past Stripe's 24 hours.
    assert_eq!(after.len(), 4, "{after:#?}");
    assert!(!after.iter().any(|l| l.contains("pay_1:attempt")));
    let record = gateway
        .payment_record(acct(), &paid.reference)
        .await
        .expect("record");
    assert_eq!(record.refunds.len(), 20);
    assert_eq!(record.payment.amount_received, usd(10_000));
    // A key Stripe forgot makes a new payment, as it would.
    let again = gateway.charge(&asked).await.expect("charged");
    assert_ne!(again.reference, paid.reference);
}

#[tokio::test]
async fn a_pending_payment_reconciles_after_the_sandbox_restarts() {
    use billing_core::prelude::*;
    use billing_core::testkit::{MemoryStore, SequentialIds, SequentialSecrets};

    let dir = DataDir::new("through-core");
    let clock = Arc::new(FixedClock::default());
    let store = Arc::new(MemoryStore::new());
    // Each run of the service names its payments apart, as the real service's random ids do.
    let engine = |sandbox: &SandboxGateway, run: &str| {
        Billing::new(
            store.clone(),
            Arc::new(sandbox.clone()),
            clock.clone(),
            Arc::new(SequentialIds::with_prefix(run)),
            Arc::new(SequentialSecrets::default()),
        )
    };
    let business = Business {
        id: BusinessId::new("acme").expect("id"),
        name: "Acme Cleaning".into(),
        gateway_account: ACCT.map(str::to_owned),
        email: None,
    };
    let customer = CustomerId::new("c-1").expect("id");
    let charge = |booking: &str| ChargeBooking {
        booking: BookingId::new(booking).expect("id"),
        amount: None,
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: false,
    };
    let pending = {
        let sandbox = open(&dir, &clock);
        let billing = engine(&sandbox, "one");
        billing
            .put_customer(
                &business,
                Customer {
                    id: customer.clone(),
                    name: "Ada".into(),
                    email: None,
                    phone: None,
                    gateway_customer: None,
                },
            )
            .await
            .expect("customer");
        billing
            .attach_card(&business, &customer, "pm_card_visa")
            .await
            .expect("card saved at the sandbox");
        for booking in ["b-1", "b-2"] {
            let account = BookingAccount::new(
                BookingId::new(booking).expect("id"),
                customer.clone(),
                Currency::USD,
                vec![LineItem::new(LineItemKind::Service, "Clean", usd(9_000)).expect("line")],
            )
            .expect("booking");
            billing
                .put_booking(&business, account)
                .await
                .expect("saved");
        }
        sandbox.inject_on(Operation::Charge, Fault::TimeoutAfterCharge, 1);
        let receipt = billing
            .charge(&business, charge("b-1"))
            .await
            .expect("receipt");
        assert_eq!(receipt.payment.state, PaymentState::Pending);
        receipt.payment.id
        // The service stops here: the sandbox and the engine are dropped.
    };
    let sandbox = open(&dir, &clock);
    let billing = engine(&sandbox, "two");
    let settled = billing
        .reconcile(&business, &pending)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(sandbox.payment_attempts(ACCT), 1, "charged once");
    // The card saved before the restart is charged after it.
    let paid = billing
        .charge(&business, charge("b-2"))
        .await
        .expect("receipt");
    assert_eq!(
        paid.payment.state,
        PaymentState::Succeeded,
        "{:?}",
        paid.outcome()
    );
}
