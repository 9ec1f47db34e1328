//! The webhook campaign: a run of changes made at the gateway (captures in its dashboard, a
//! refund there, a dispute opened then lost, a link paid after 3-D Secure, a hold that runs
//! out), whose events are delivered in order, then shuffled, duplicated and late, to two
//! processes, for several seeds: the ledgers and summaries end the same, and every email is
//! queued once. (Captures made in the dashboard and read at once are recorded as one: the
//! gateway's record gives what a hold received in all.)

use crate::billing::{CreatePaymentLink, HostedPages, PayLink, Sending};
use crate::link::LinkToken;
use crate::notification::NotificationKind;
use crate::ports::{GatewayEvent, NotificationLog};
use crate::testkit::{PlainPages, PlainTemplates};

use super::*;

/// A small seeded generator (xorshift), so that each seed replays the same deliveries.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// How events reach the service.
enum Delivery {
    /// Each event once, as soon as it is made, to one process.
    InOrder,
    /// Events held back at random, then delivered shuffled, some twice, some late, to either
    /// of two processes.
    Shuffled(Seeded),
}

struct Run {
    processes: [Billing; 2],
    store: Arc<MemoryStore>,
    gateway: ScriptedGateway,
    clock: Arc<FixedClock>,
    business: Business,
    customer: CustomerId,
    delivery: Delivery,
    delivered: usize,
    held_back: Vec<GatewayEvent>,
    sent: Vec<GatewayEvent>,
}

fn process(
    store: &Arc<MemoryStore>,
    gateway: &ScriptedGateway,
    clock: &Arc<FixedClock>,
    prefix: &str,
) -> Billing {
    Billing::new(
        store.clone(),
        Arc::new(gateway.clone()),
        clock.clone(),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
    .with_hosted_pages(HostedPages {
        addresses: Arc::new(PlainPages("https://pay.example.com".into())),
        link_lifetime: HostedPages::default_lifetime(),
        templates: Arc::new(PlainTemplates),
    })
}

impl Run {
    async fn new(delivery: Delivery) -> Run {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(FixedClock::default());
        let gateway = ScriptedGateway::with_clock(clock.clone());
        let processes = [
            process(&store, &gateway, &clock, "one"),
            process(&store, &gateway, &clock, "two"),
        ];
        let business = Business {
            email: Some("office@acme.example".into()),
            ..acme()
        };
        store
            .create_business(&business, &crate::testkit::api_key_record("key_1"), "hash")
            .await
            .expect("business");
        let customer = CustomerId::new("cust-1").expect("id");
        let billing = &processes[0];
        billing
            .put_customer(
                &business,
                crate::customer::Customer {
                    id: customer.clone(),
                    name: "Ada Lovelace".into(),
                    email: Some("ada@example.com".into()),
                    phone: None,
                    gateway_customer: None,
                },
            )
            .await
            .expect("customer");
        billing
            .attach_card(&business, &customer, "pm_card_visa")
            .await
            .expect("card");
        for (id, price) in [
            ("b-hold", "100.00"),
            ("b-charge", "80.00"),
            ("b-link", "120.00"),
            ("b-expire", "50.00"),
        ] {
            let account = BookingAccount::new(
                booking_id(id),
                customer.clone(),
                Currency::USD,
                vec![LineItem::new(LineItemKind::Service, "Clean", usd(price)).expect("line")],
            )
            .expect("booking");
            billing
                .put_booking(&business, account)
                .await
                .expect("booking");
        }
        Run {
            processes,
            store,
            gateway,
            clock,
            business,
            customer,
            delivery,
            delivered: 0,
            held_back: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn billing(&self) -> &Billing {
        &self.processes[0]
    }

    async fn deliver(&mut self, event: &GatewayEvent, to: usize) {
        self.processes[to]
            .handle_event(event)
            .await
            .expect("every event is handled");
        self.sent.push(event.clone());
    }

    /// Delivers (or holds back) the events the gateway made since the last step.
    async fn step_done(&mut self) {
        let events = self.gateway.events();
        let fresh: Vec<GatewayEvent> = events[self.delivered..].to_vec();
        self.delivered = events.len();
        match &mut self.delivery {
            Delivery::InOrder => {
                for event in fresh {
                    self.deliver(&event, 0).await;
                }
            }
            Delivery::Shuffled(_) => {
                self.held_back.extend(fresh);
                self.deliver_some(false).await;
            }
        }
    }

    /// Shuffled delivery: some of what is held back (all of it at the end), in random order,
    /// some twice, to either process; at the end, some already sent again, late.
    async fn deliver_some(&mut self, everything: bool) {
        let mut plan: Vec<(GatewayEvent, usize)> = Vec::new();
        {
            let Delivery::Shuffled(rng) = &mut self.delivery else {
                return;
            };
            let mut kept = Vec::new();
            for event in std::mem::take(&mut self.held_back) {
                if everything || rng.chance(40) {
                    plan.push((event.clone(), rng.below(2)));
                    if rng.chance(30) {
                        plan.push((event, rng.below(2)));
                    }
                } else {
                    kept.push(event);
                }
            }
            self.held_back = kept;
            if everything {
                for event in &self.sent {
                    if rng.chance(25) {
                        plan.push((event.clone(), rng.below(2)));
                    }
                }
            }
            for i in (1..plan.len()).rev() {
                let j = rng.below(i + 1);
                plan.swap(i, j);
            }
        }
        for (event, to) in plan {
            self.deliver(&event, to).await;
        }
    }

    /// The run: what staff, the customer and the gateway's dashboard do, in this order.
    async fn play(&mut self, return_early: bool) {
        let business = self.business.clone();
        let billing = self.billing().clone();
        // A hold, captured in full in the dashboard.
        let placed = billing
            .authorize(&business, hold("b-hold", None))
            .await
            .expect("hold");
        self.step_done().await;
        let hold_ref = placed.payment.gateway_reference.clone().expect("reference");
        self.gateway
            .dashboard_capture(None, &hold_ref, usd("60.00"), false)
            .expect("captured there");
        self.step_done().await;
        self.gateway
            .dashboard_capture(None, &hold_ref, usd("40.00"), true)
            .expect("captured there");
        self.step_done().await;
        // A charge, refunded in part in the dashboard, then disputed and lost.
        let charged = billing
            .charge(&business, charge("b-charge", None))
            .await
            .expect("charged");
        self.step_done().await;
        let charge_ref = charged
            .payment
            .gateway_reference
            .clone()
            .expect("reference");
        self.gateway
            .dashboard_refund(None, &charge_ref, usd("30.00"))
            .expect("refunded there");
        self.step_done().await;
        let dispute = self
            .gateway
            .open_dispute(None, &charge_ref, usd("50.00"), "fraudulent")
            .expect("disputed");
        self.step_done().await;
        self.gateway
            .close_dispute(None, &dispute.reference, false)
            .expect("lost");
        self.step_done().await;
        // A link paid on its page after 3-D Secure; the customer's return races the webhook.
        let issued = billing
            .create_payment_link(
                &business,
                CreatePaymentLink {
                    customer: self.customer.clone(),
                    bookings: vec![booking_id("b-link")],
                    amount: None,
                    send: Sending::EMAIL,
                },
            )
            .await
            .expect("link");
        let token = issued.url.rsplit('/').next().expect("token").to_owned();
        assert!(LinkToken::parse(&token).is_some());
        let asked = billing
            .pay_link(
                &token,
                PayLink {
                    payment_method: "pm_card_authenticationRequiredOnSetup".into(),
                    save_card: true,
                },
            )
            .await
            .expect("asked");
        assert_eq!(asked.receipt.payment.state, PaymentState::RequiresAction);
        assert!(asked.next_action.is_some());
        self.step_done().await;
        let link_ref = asked
            .receipt
            .payment
            .gateway_reference
            .clone()
            .expect("reference");
        self.gateway
            .authenticate(None, &link_ref, true)
            .expect("authenticated");
        if return_early {
            let back = self.processes[1]
                .link_payment_returned(&token)
                .await
                .expect("returned");
            assert_eq!(back.receipt.payment.state, PaymentState::Succeeded);
        }
        self.step_done().await;
        // A hold that runs out.
        billing
            .authorize(&business, hold("b-expire", None))
            .await
            .expect("hold");
        self.step_done().await;
        self.clock.advance(Duration::days(8));
        self.step_done().await;
        self.deliver_some(true).await;
        if !return_early {
            let back = billing
                .link_payment_returned(&token)
                .await
                .expect("returned");
            assert_eq!(back.receipt.payment.state, PaymentState::Succeeded);
            assert!(back.card_saved);
        }
    }

    /// What a run ends with: each booking's summary (as computed now, and as stored) and its
    /// payments (ids aside: the gateway's records are made in a different order), and the
    /// emails queued.
    async fn outcome(&self) -> (Vec<String>, Vec<NotificationKind>) {
        let mut ledgers = Vec::new();
        let stored = self
            .billing()
            .list_bookings(&self.business, &Default::default())
            .await
            .expect("stored");
        for booking in ["b-charge", "b-expire", "b-hold", "b-link"] {
            let view = self
                .billing()
                .booking(&self.business, &booking_id(booking))
                .await
                .expect("booking");
            let summary = &view.summary;
            let kept = stored
                .iter()
                .find(|s| s.booking.as_str() == booking)
                .expect("stored");
            assert_eq!(
                (kept.balance, kept.status),
                (summary.balance, summary.status),
                "the stored summary of {booking} follows its ledger"
            );
            ledgers.push(format!(
                "{booking}: {:?} {:?}",
                summary.status, summary.balance
            ));
            // The gateway's record shows what a hold received in all, not each capture made
            // in its dashboard: captures read at once are recorded as one. Their sum is what
            // must not depend on the deliveries.
            let external = |p: &&crate::payment::Payment| {
                p.origin == crate::payment::Origin::Gateway
                    && p.kind.name() == crate::payment::KindName::Capture
            };
            let captured_there = view
                .payments
                .iter()
                .filter(external)
                .try_fold(usd("0"), |sum, p| sum.checked_add(&p.amount))
                .expect("usd");
            if captured_there.is_positive() {
                ledgers.push(format!("  captured at the gateway: {captured_there}"));
            }
            let mut payments: Vec<String> = view
                .payments
                .iter()
                .filter(|p| !external(p))
                .map(|p| {
                    let origin = match &p.origin {
                        crate::payment::Origin::PaymentLink(_) => "link",
                        crate::payment::Origin::Gateway => "gateway",
                        crate::payment::Origin::Command => "command",
                        crate::payment::Origin::Automation => "automation",
                        crate::payment::Origin::Staff(_) => "staff",
                    };
                    format!(
                        "  {:?} {} {} {origin} {:?}",
                        p.kind.name(),
                        p.amount,
                        p.state.name(),
                        p.gateway_reference
                    )
                })
                .collect();
            payments.sort();
            ledgers.extend(payments);
        }
        let mut emails: Vec<NotificationKind> = self
            .store
            .customer_log(&self.business.id, &self.customer, 50)
            .await
            .expect("log")
            .into_iter()
            .map(|n| n.kind)
            .collect();
        emails.sort_by_key(|k| format!("{k:?}"));
        (ledgers, emails)
    }
}

#[tokio::test]
async fn events_delivered_shuffled_duplicated_and_late_end_as_in_order() {
    let mut in_order = Run::new(Delivery::InOrder).await;
    in_order.play(false).await;
    let (expected, emails) = in_order.outcome().await;
    assert_eq!(
        emails,
        vec![
            NotificationKind::BusinessPaymentNotice,
            NotificationKind::PaymentLink,
            NotificationKind::Receipt,
        ],
        "each email once"
    );
    let text = expected.join("\n");
    for recorded in [
        "captured at the gateway: 100.00 USD",
        "Refund 30.00 USD succeeded gateway",
        "Dispute 50.00 USD succeeded gateway",
        "Charge 120.00 USD succeeded link",
        "Authorization 50.00 USD expired command",
    ] {
        assert!(text.contains(recorded), "{recorded} in\n{text}");
    }
    for seed in 1..=10_u64 {
        let mut shuffled = Run::new(Delivery::Shuffled(Seeded(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )))
        .await;
        shuffled.play(seed % 2 == 0).await;
        let (ledgers, emails_again) = shuffled.outcome().await;
        assert_eq!(ledgers, expected, "seed {seed}");
        assert_eq!(emails_again, emails, "seed {seed}: each email once");
    }
}
