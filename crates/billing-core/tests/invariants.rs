//! Property tests: random sequences of operations on random bookings keep every money rule.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use billing_core::billing::{AuthorizeBooking, CaptureHold, Receipt};
use billing_core::prelude::*;
use billing_core::status::refundable;
use billing_core::testkit::{
    FixedClock, MemoryStore, Scripted, ScriptedGateway, SequentialIds, SequentialSecrets,
    seed_customer_with_card,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Charge {
        booking: usize,
        cents: Option<i64>,
        outcome: u8,
    },
    Collect {
        booking: usize,
        cents: Option<i64>,
    },
    Adjust {
        booking: usize,
        cents: i64,
        discount: bool,
    },
    Authorize {
        booking: usize,
        cents: Option<i64>,
    },
    Capture {
        pick: usize,
        cents: Option<i64>,
        last: bool,
    },
    Refund {
        pick: usize,
        cents: Option<i64>,
    },
    Replay {
        pick: usize,
    },
    Reconcile,
}

fn op() -> impl Strategy<Value = Op> {
    let booking = 0..3usize;
    let cents = prop::option::of(-100i64..30_000);
    prop_oneof![
        (booking.clone(), cents.clone(), 0u8..10).prop_map(|(booking, cents, outcome)| {
            Op::Charge {
                booking,
                cents,
                outcome,
            }
        }),
        (booking.clone(), cents.clone())
            .prop_map(|(booking, cents)| Op::Collect { booking, cents }),
        (booking.clone(), 1i64..10_000, any::<bool>()).prop_map(|(booking, cents, discount)| {
            Op::Adjust {
                booking,
                cents,
                discount,
            }
        }),
        (booking, cents.clone()).prop_map(|(booking, cents)| Op::Authorize { booking, cents }),
        (any::<usize>(), cents.clone(), any::<bool>())
            .prop_map(|(pick, cents, last)| Op::Capture { pick, cents, last }),
        (any::<usize>(), cents).prop_map(|(pick, cents)| Op::Refund { pick, cents }),
        any::<usize>().prop_map(|pick| Op::Replay { pick }),
        Just(Op::Reconcile),
    ]
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

const BOOKINGS: [&str; 3] = ["b-0", "b-1", "b-2"];

struct Harness {
    billing: Billing,
    gateway: ScriptedGateway,
    business: Business,
    /// (key, command) of keyed charges made so far, to replay.
    keyed: Vec<ChargeBooking>,
}

impl Harness {
    async fn new(prices: &[i64; 3]) -> Harness {
        let store = Arc::new(MemoryStore::new());
        let business = Business {
            id: BusinessId::new("acme").unwrap(),
            name: "Acme".into(),
            gateway_account: None,
            email: None,
        };
        let customer = CustomerId::new("c").unwrap();
        seed_customer_with_card(&*store, &business.id, &customer)
            .await
            .unwrap();
        let gateway = ScriptedGateway::new();
        let billing = Billing::new(
            store,
            Arc::new(gateway.clone()),
            Arc::new(FixedClock::default()),
            Arc::new(SequentialIds::default()),
            Arc::new(SequentialSecrets::default()),
        );
        for (id, price) in BOOKINGS.iter().zip(prices) {
            let items = vec![LineItem::new(LineItemKind::Service, "Service", usd(*price)).unwrap()];
            let account = BookingAccount::new(
                BookingId::new(*id).unwrap(),
                customer.clone(),
                Currency::USD,
                items,
            )
            .unwrap();
            billing.put_booking(&business, account).await.unwrap();
        }
        Harness {
            billing,
            gateway,
            business,
            keyed: Vec::new(),
        }
    }

    async fn views(&self) -> Vec<BookingView> {
        let mut views = Vec::new();
        for id in BOOKINGS {
            views.push(
                self.billing
                    .booking(&self.business, &BookingId::new(id).unwrap())
                    .await
                    .unwrap(),
            );
        }
        views
    }

    async fn all_payments(&self) -> Vec<Payment> {
        let mut all: Vec<Payment> = self
            .views()
            .await
            .into_iter()
            .flat_map(|v| v.payments)
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.dedup_by(|a, b| a.id == b.id);
        all
    }

    /// Runs one operation and checks the bound it must respect against the state before it.
    async fn run(&mut self, op: &Op, step: usize) -> Result<(), TestCaseError> {
        let before = self.views().await;
        let payments_before = self.all_payments().await;
        let created = |receipt: &Result<Receipt, BillingError>| {
            receipt
                .as_ref()
                .ok()
                .filter(|r| !r.replayed)
                .map(|r| r.payment.clone())
        };
        match op {
            Op::Charge {
                booking,
                cents,
                outcome,
            } => {
                match outcome {
                    0 => self
                        .gateway
                        .script(Scripted::Decline("generic_decline".into())),
                    1 => self.gateway.script(Scripted::LostAnswer),
                    2 => self.gateway.script(Scripted::RequiresAction),
                    _ => self.gateway.script(Scripted::Success),
                }
                let command = ChargeBooking {
                    booking: BookingId::new(BOOKINGS[*booking]).unwrap(),
                    amount: cents.map(|c| usd(c).into()),
                    source: PaymentSource::CardOnFile,
                    idempotency_key: Some(IdempotencyKey::new(format!("k-{step}")).unwrap()),
                    allow_duplicate: true,
                };
                let result = self.billing.charge(&self.business, command.clone()).await;
                // Only a command that reached the gateway holds its key; a refused one did not.
                if result.is_ok() {
                    self.keyed.push(command);
                }
                let chargeable = before[*booking].summary.balance.chargeable();
                if let Some(payment) = created(&result) {
                    prop_assert!(
                        payment.amount.checked_cmp(&chargeable).unwrap().is_le(),
                        "charged {} over {}",
                        payment.amount,
                        chargeable
                    );
                }
            }
            Op::Collect { booking, cents } => {
                let command = RecordCollection {
                    booking: BookingId::new(BOOKINGS[*booking]).unwrap(),
                    amount: cents.map(|c| usd(c).into()),
                    method: CollectionMethod::Cash,
                    reference: None,
                    idempotency_key: None,
                    allow_duplicate: true,
                };
                let result = self
                    .billing
                    .record_collection(&self.business, command)
                    .await;
                if let Some(payment) = created(&result) {
                    prop_assert!(
                        payment
                            .amount
                            .checked_cmp(&before[*booking].summary.balance.chargeable())
                            .unwrap()
                            .is_le()
                    );
                }
            }
            Op::Adjust {
                booking,
                cents,
                discount,
            } => {
                let kind = if *discount {
                    LineItemKind::Discount
                } else {
                    LineItemKind::Extra
                };
                let item = LineItem::new(kind, "Adjustment", usd(*cents)).unwrap();
                let _ = self
                    .billing
                    .adjust_price(
                        &self.business,
                        &BookingId::new(BOOKINGS[*booking]).unwrap(),
                        item.into(),
                    )
                    .await;
            }
            Op::Authorize { booking, cents } => {
                let command = AuthorizeBooking {
                    booking: BookingId::new(BOOKINGS[*booking]).unwrap(),
                    amount: cents.map(|c| usd(c).into()),
                    source: PaymentSource::CardOnFile,
                    idempotency_key: None,
                };
                let result = self.billing.authorize(&self.business, command).await;
                if let Some(payment) = created(&result) {
                    prop_assert!(
                        payment
                            .amount
                            .checked_cmp(&before[*booking].summary.balance.chargeable())
                            .unwrap()
                            .is_le()
                    );
                }
            }
            Op::Capture { pick, cents, last } => {
                let holds: Vec<&Payment> = payments_before
                    .iter()
                    .filter(|p| matches!(p.kind, PaymentKind::Authorization { .. }))
                    .collect();
                if holds.is_empty() {
                    return Ok(());
                }
                let hold = holds[pick % holds.len()];
                let view = self
                    .billing
                    .payment(&self.business, &hold.id)
                    .await
                    .unwrap();
                let command = CaptureHold {
                    authorization: hold.id.clone(),
                    amount: cents.map(|c| usd(c).into()),
                    final_capture: *last,
                    idempotency_key: None,
                };
                let result = self.billing.capture(&self.business, command).await;
                if let Some(capture) = created(&result) {
                    prop_assert!(
                        capture
                            .amount
                            .checked_cmp(&view.capturable)
                            .unwrap()
                            .is_le(),
                        "captured {} over {}",
                        capture.amount,
                        view.capturable
                    );
                }
            }
            Op::Refund { pick, cents } => {
                if payments_before.is_empty() {
                    return Ok(());
                }
                let target = &payments_before[pick % payments_before.len()];
                let left = refundable(target, &payments_before).unwrap();
                let command = RefundPayment {
                    payment: target.id.clone(),
                    amount: cents.map(|c| usd(c).into()),
                    reason: None,
                    idempotency_key: None,
                };
                let result = self.billing.refund(&self.business, command).await;
                if let Some(refund) = created(&result) {
                    prop_assert!(
                        refund.amount.checked_cmp(&left).unwrap().is_le(),
                        "refunded {} over {}",
                        refund.amount,
                        left
                    );
                }
            }
            Op::Replay { pick } => {
                if self.keyed.is_empty() {
                    return Ok(());
                }
                let command = self.keyed[pick % self.keyed.len()].clone();
                let made = self.gateway.payments_made();
                let result = self.billing.charge(&self.business, command).await;
                if let Ok(receipt) = &result {
                    prop_assert!(receipt.replayed);
                }
                // A replay never charges again: at most it settles a pending payment.
                prop_assert_eq!(self.gateway.payments_made(), made);
            }
            Op::Reconcile => {
                let _ = self
                    .billing
                    .reconcile_pending(&self.business, chrono::Duration::zero())
                    .await
                    .unwrap();
            }
        }
        Ok(())
    }

    /// The invariants that hold after every operation.
    async fn check(&self, reconciled: bool) -> Result<(), TestCaseError> {
        let payments = self.all_payments().await;
        for payment in &payments {
            let allocated =
                Money::sum(Currency::USD, payment.allocations.iter().map(|a| &a.amount)).unwrap();
            prop_assert_eq!(
                allocated,
                payment.amount,
                "allocations of {} add up exactly",
                payment.id
            );
            prop_assert!(payment.amount.is_positive());
        }
        let mut card_paid = usd(0);
        for view in self.views().await {
            let booking = &view.account.id;
            let mut paid = usd(0);
            let mut refunded = usd(0);
            for payment in &view.payments {
                let share = payment.share_of(booking);
                match (&payment.kind, &payment.state) {
                    (PaymentKind::Refund { .. }, PaymentState::Succeeded) => {
                        paid = paid.checked_sub(&share).unwrap();
                        refunded = refunded.checked_add(&share).unwrap();
                    }
                    (PaymentKind::Authorization { .. }, _) => {}
                    (_, PaymentState::Succeeded) => paid = paid.checked_add(&share).unwrap(),
                    _ => {}
                }
            }
            let balance = view.summary.balance;
            prop_assert_eq!(balance.paid, paid, "paid is the sum of the entries");
            prop_assert_eq!(balance.refunded, refunded);
            prop_assert_eq!(
                balance.balance_due,
                balance.price.checked_sub(&paid).unwrap()
            );
            prop_assert!(!paid.is_negative(), "refunds never exceed what was paid");
            prop_assert_eq!(
                view.summary.status.status,
                PaymentStatus::derive(
                    &balance.price,
                    &balance.paid,
                    &balance.held,
                    &balance.refunded
                )
            );
            // The stored read model agrees with the ledger.
            let stored = self
                .billing
                .list_bookings(&self.business, &Default::default())
                .await
                .unwrap();
            let stored = stored.iter().find(|s| &s.booking == booking).unwrap();
            prop_assert_eq!(stored.balance.paid, paid);
            for payment in &view.payments {
                if matches!(
                    payment.kind,
                    PaymentKind::Charge { .. } | PaymentKind::Capture { .. }
                ) && payment.state == PaymentState::Succeeded
                {
                    card_paid = card_paid.checked_add(&payment.share_of(booking)).unwrap();
                }
            }
        }
        // Every card payment recorded as succeeded was received once at the gateway; once
        // reconciled, nothing was received that is not recorded.
        let received = self.gateway.total_received(Currency::USD);
        if reconciled {
            prop_assert_eq!(received, card_paid);
        } else {
            prop_assert!(received.checked_cmp(&card_paid).unwrap().is_ge());
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_money_rule(
        prices in [0i64..50_000, 0i64..50_000, 0i64..50_000],
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut harness = Harness::new(&prices).await;
            for (step, op) in ops.iter().enumerate() {
                harness.run(op, step).await?;
                harness.check(matches!(op, Op::Reconcile)).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
