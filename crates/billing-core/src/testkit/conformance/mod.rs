//! The storage conformance suite: the same cases, with the same expected results, for every
//! store (in memory, SQLite, Postgres). An adapter crate runs it with
//! [`store_conformance!`](crate::store_conformance):
//!
//! ```text
//! billing_core::store_conformance!(my_fixture().await);
//! ```
//!
//! which expands to one `#[tokio::test]` per case, each on a fresh fixture.

mod api_keys;
mod connect;
mod directory;
mod ledger;
mod links;
mod notifications;
mod payment_totals;
mod periods;
mod portal;
mod records;
mod reports;
mod schedules;
mod staff;
mod texts;

use std::sync::Arc;

use async_trait::async_trait;

pub use api_keys::{
    api_keys_are_isolated_between_businesses, api_keys_are_listed_and_revoked,
    concurrent_revocations_keep_a_key,
};
pub use connect::{
    concurrent_connections_store_one_account, connected_accounts_connect_once_and_keep_the_newest,
};
pub use directory::{business_email_round_trips, businesses_and_keys, customers_and_cards};
pub use ledger::{
    bookings_round_trip, charges_append_and_fold, collections_and_refunds,
    commits_check_versions_and_write_nothing_on_conflict,
    concurrent_charges_never_exceed_the_balance, first_answers_are_kept_once_and_exactly,
    idempotency_keys_claim_complete_release, reads_bring_the_key_and_the_payer,
    replays_return_the_first_result, tenants_are_isolated,
};
pub use links::{links_close_once, links_round_trip_by_id_and_token};
pub use notifications::{
    notifications_are_claimed_once_by_concurrent_workers,
    notifications_are_claimed_when_due_and_marked, notifications_due_across_businesses,
    notifications_round_trip_and_customer_log,
};
pub use payment_totals::payment_day_totals_follow_every_payment;
pub use periods::{
    payments_are_read_by_period_and_page, summaries_filter_by_service_date_and_search,
};
pub use portal::{
    expired_portal_passes_are_purged, portal_link_notifications_are_logged,
    portal_passes_are_used_once, portal_passes_round_trip_by_token,
};
pub use records::{
    entries_keep_their_origin_multicapture_and_disputes, staff_moves_keep_who_made_them,
    tips_are_kept_with_their_charge,
};
pub use reports::{outstanding_report_sums_balances, summaries_filter_and_page};
pub use schedules::{
    due_schedules_are_taken_once_by_concurrent_schedulers,
    due_schedules_are_taken_once_under_a_lease,
    payment_settings_round_trip_and_replan_open_bookings, runs_are_listed_newest_first,
    schedules_list_and_customers_pause, schedules_round_trip_and_compare_versions,
};
pub use staff::{
    concurrent_removals_keep_an_owner, invitations_work_once, sessions_are_kept_touched_and_ended,
    staff_are_removed_but_keep_their_name, staff_members_round_trip, staff_tokens_are_purged,
};
pub use texts::{text_opt_outs_keep_the_latest_reply, texts_round_trip_with_carrier_reports};

use crate::billing::{Billing, ChargeBooking, PaymentSource};
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::{Business, Customer};
use crate::idempotency::IdempotencyKey;
use crate::ids::CustomerId;
use crate::money::{Currency, Money};
use crate::ports::Store;
use crate::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};

/// Makes stores for one test: every handle it gives reads and writes the same, fresh data.
#[async_trait]
pub trait StoreFixture: Send + Sync {
    /// A handle on the fixture's data.
    async fn store(&self) -> Arc<dyn Store>;

    /// Another handle on the same data with its own connections, as a second process running
    /// the service would have. Stores that cannot be shared return the first one again.
    async fn second_handle(&self) -> Arc<dyn Store>;
}

fn id<T: TryFrom<String>>(text: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(text.to_owned()).expect("test ids are valid")
}

/// The test clock's start, `seconds` later.
fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    use crate::ports::Clock;
    FixedClock::default().now() + chrono::Duration::seconds(seconds)
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn business(name: &str) -> Business {
    Business {
        id: id(name),
        name: name.to_owned(),
        gateway_account: None,
        email: None,
    }
}

/// The service over a store, with its own scripted gateway.
fn service(store: Arc<dyn Store>, prefix: &str) -> (Billing, ScriptedGateway) {
    let gateway = ScriptedGateway::new();
    (service_with(store, &gateway, prefix), gateway)
}

/// The service over a store and a gateway shared with another service.
fn service_with(store: Arc<dyn Store>, gateway: &ScriptedGateway, prefix: &str) -> Billing {
    Billing::new(
        store,
        Arc::new(gateway.clone()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
}

/// A customer with a card on file and a booking of `price_minor` cents.
async fn seed(billing: &Billing, business: &Business, booking: &str, price_minor: i64) {
    let customer: CustomerId = id("cust-1");
    billing
        .put_customer(
            business,
            Customer {
                id: customer.clone(),
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer saved");
    if billing
        .cards(business, &customer)
        .await
        .expect("cards")
        .is_empty()
    {
        billing
            .attach_card(business, &customer, "pm_card_visa")
            .await
            .expect("card attached");
    }
    let account = BookingAccount::new(
        id(booking),
        customer,
        Currency::USD,
        vec![
            LineItem::new(LineItemKind::Service, "Home cleaning", usd(price_minor)).expect("line"),
        ],
    )
    .expect("booking");
    billing
        .put_booking(business, account)
        .await
        .expect("booking saved");
}

fn charge(booking: &str, amount: Option<Money>, key: Option<&str>) -> ChargeBooking {
    ChargeBooking {
        booking: id(booking),
        amount: amount.map(Into::into),
        source: PaymentSource::CardOnFile,
        idempotency_key: key.map(|k| IdempotencyKey::new(k).expect("key")),
        allow_duplicate: true,
    }
}

/// Runs every conformance case as its own `#[tokio::test]`, each on a fresh fixture made by
/// `$fixture` (an expression, awaited if it is a future: write `async { ... }`).
#[macro_export]
macro_rules! store_conformance {
    ($fixture:expr) => {
        $crate::store_conformance!(@cases $fixture;
            bookings_round_trip,
            charges_append_and_fold,
            commits_check_versions_and_write_nothing_on_conflict,
            idempotency_keys_claim_complete_release,
            first_answers_are_kept_once_and_exactly,
            reads_bring_the_key_and_the_payer,
            replays_return_the_first_result,
            tenants_are_isolated,
            summaries_filter_and_page,
            outstanding_report_sums_balances,
            payment_day_totals_follow_every_payment,
            payments_are_read_by_period_and_page,
            summaries_filter_by_service_date_and_search,
            customers_and_cards,
            businesses_and_keys,
            concurrent_charges_never_exceed_the_balance,
            collections_and_refunds,
            notifications_round_trip_and_customer_log,
            notifications_are_claimed_when_due_and_marked,
            notifications_due_across_businesses,
            notifications_are_claimed_once_by_concurrent_workers,
            texts_round_trip_with_carrier_reports,
            text_opt_outs_keep_the_latest_reply,
            links_round_trip_by_id_and_token,
            links_close_once,
            portal_passes_round_trip_by_token,
            portal_passes_are_used_once,
            expired_portal_passes_are_purged,
            portal_link_notifications_are_logged,
            business_email_round_trips,
            staff_moves_keep_who_made_them,
            tips_are_kept_with_their_charge,
            entries_keep_their_origin_multicapture_and_disputes,
            schedules_round_trip_and_compare_versions,
            staff_members_round_trip,
            invitations_work_once,
            sessions_are_kept_touched_and_ended,
            staff_are_removed_but_keep_their_name,
            concurrent_removals_keep_an_owner,
            staff_tokens_are_purged,
            api_keys_are_listed_and_revoked,
            api_keys_are_isolated_between_businesses,
            connected_accounts_connect_once_and_keep_the_newest,
            concurrent_connections_store_one_account,
            concurrent_revocations_keep_a_key,
            payment_settings_round_trip_and_replan_open_bookings,
            due_schedules_are_taken_once_under_a_lease,
            due_schedules_are_taken_once_by_concurrent_schedulers,
            schedules_list_and_customers_pause,
            runs_are_listed_newest_first
        );
    };
    (@cases $fixture:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture = $fixture.await;
                $crate::testkit::conformance::$case(fixture).await;
            }
        )*
    };
}
