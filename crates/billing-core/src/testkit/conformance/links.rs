//! Payment links and card requests: stored by id and token hash, listed, closed once.

use super::{StoreFixture, at, id, usd};
use crate::ids::{BusinessId, LinkId};
use crate::link::{
    Checkout, CheckoutStep, DeskReturn, LinkPurpose, LinkState, LinkToken, LinkedBooking,
    PaymentLink, ReturnUrl, TokenHash,
};
use crate::money::{Currency, Money};
use crate::ports::{LinkByToken, LinkStoreError};

fn token_hash(seed: u8) -> TokenHash {
    LinkToken::from_random([seed; 32]).hash()
}

fn linked(booking: &str, amount: Money, balance_due: Money) -> LinkedBooking {
    LinkedBooking {
        booking: id(booking),
        amount,
        balance_due,
    }
}

/// An open link of `customer` made at `seconds` after the test clock's start, valid a week.
fn open_link(link: &str, customer: &str, purpose: LinkPurpose, seconds: i64) -> PaymentLink {
    PaymentLink {
        id: id(link),
        customer: id(customer),
        purpose,
        created_at: at(seconds),
        expires_at: at(seconds + 7 * 86_400),
        state: LinkState::Open,
        checkout: None,
        desk_return: None,
    }
}

/// A booking page's checkout of `booking`.
fn checkout(booking: &str, step: CheckoutStep, return_url: &str) -> Option<Checkout> {
    Some(Checkout {
        booking: id(booking),
        step,
        return_url: ReturnUrl::parse(return_url).expect("a valid return URL"),
    })
}

fn link_ids(links: &[PaymentLink]) -> Vec<String> {
    links.iter().map(|l| l.id.to_string()).collect()
}

/// Links are stored and read back as they were, by id and by token hash; a customer's links
/// are newest first; an id is unique per business and a token hash everywhere, and a refused
/// link writes nothing; no business reads another's links by id.
pub async fn links_round_trip_by_id_and_token<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    // Two bookings with shares that differ from their balances, in a currency of two digits,
    // and one in a currency of three: amounts come back exact, in order, in their currency.
    let payment = open_link(
        "lnk-1",
        "cust-1",
        LinkPurpose::Payment {
            amount: usd(30_050),
            bookings: vec![
                linked("b-2", usd(21_550), usd(21_550)),
                linked("b-1", usd(8_500), usd(10_001)),
            ],
        },
        0,
    );
    // A card request opened by staff at the desk comes back with the page they return to.
    let card_request = PaymentLink {
        desk_return: DeskReturn::parse("/console/customers/cust-1?from=desk&a=%20b"),
        ..open_link("lnk-2", "cust-1", LinkPurpose::CardRequest, 60)
    };
    let kwd = |minor| Money::from_minor(minor, Currency::KWD);
    // Checkouts come back with their booking, step and return URL (query and all).
    let dinars = PaymentLink {
        checkout: checkout(
            "b-3",
            CheckoutStep::Hold,
            "https://shop.example/booked?booking=b-3&lang=fr",
        ),
        ..open_link(
            "lnk-3",
            "cust-1",
            LinkPurpose::Payment {
                amount: kwd(12_345),
                bookings: vec![linked("b-3", kwd(12_345), kwd(-5))],
            },
            60,
        )
    };
    let other_customer = PaymentLink {
        checkout: checkout("b-4", CheckoutStep::SaveCard, "http://localhost:8080/done"),
        ..open_link("lnk-4", "cust-2", LinkPurpose::CardRequest, 120)
    };
    for (link, seed) in [
        (&payment, 1),
        (&card_request, 2),
        (&dinars, 3),
        (&other_customer, 4),
    ] {
        store
            .create_link(&acme, link, &token_hash(seed))
            .await
            .expect("link created");
    }

    for (link, seed) in [
        (&payment, 1),
        (&card_request, 2),
        (&dinars, 3),
        (&other_customer, 4),
    ] {
        assert_eq!(
            store.link(&acme, &link.id).await.expect("read"),
            Some(link.clone())
        );
        assert_eq!(
            store.link_by_token(&token_hash(seed)).await.expect("read"),
            Some(LinkByToken {
                business: acme.clone(),
                link: link.clone(),
                token_hash: token_hash(seed),
            })
        );
    }
    assert_eq!(store.link(&globex, &payment.id).await.expect("read"), None);
    assert_eq!(store.link(&acme, &id("lnk-9")).await.expect("read"), None);
    assert_eq!(
        store.link_by_token(&token_hash(9)).await.expect("read"),
        None
    );

    // Newest first; the two made at the same instant by id, descending.
    let links = store
        .customer_links(&acme, &id("cust-1"), 10)
        .await
        .expect("links");
    assert_eq!(
        links,
        vec![dinars.clone(), card_request.clone(), payment.clone()]
    );
    let page = store
        .customer_links(&acme, &id("cust-1"), 2)
        .await
        .expect("links");
    assert_eq!(link_ids(&page), ["lnk-3", "lnk-2"]);
    assert!(
        store
            .customer_links(&globex, &id("cust-1"), 10)
            .await
            .expect("links")
            .is_empty()
    );
    assert!(
        store
            .customer_links(&acme, &id("cust-9"), 10)
            .await
            .expect("links")
            .is_empty()
    );

    // A taken id (with a fresh hash) and a taken hash (with a fresh id, in either business)
    // are refused, and nothing of them is written.
    let impostor = open_link("lnk-1", "cust-9", LinkPurpose::CardRequest, 600);
    assert_eq!(
        store.create_link(&acme, &impostor, &token_hash(10)).await,
        Err(LinkStoreError::AlreadyExists(id("lnk-1")))
    );
    assert_eq!(
        store.link(&acme, &payment.id).await.expect("read"),
        Some(payment.clone())
    );
    assert_eq!(
        store.link_by_token(&token_hash(10)).await.expect("read"),
        None
    );
    let same_hash = open_link("lnk-9", "cust-9", LinkPurpose::CardRequest, 600);
    for business in [&acme, &globex] {
        assert_eq!(
            store
                .create_link(business, &same_hash, &token_hash(1))
                .await,
            Err(LinkStoreError::AlreadyExists(id("lnk-9")))
        );
        assert_eq!(
            store.link(business, &same_hash.id).await.expect("read"),
            None
        );
    }
    assert_eq!(
        store
            .link_by_token(&token_hash(1))
            .await
            .expect("read")
            .map(|found| (found.business, found.link)),
        Some((acme.clone(), payment.clone()))
    );
    assert!(
        store
            .customer_links(&acme, &id("cust-9"), 10)
            .await
            .expect("links")
            .is_empty()
    );

    // Another business has its own id space.
    store
        .create_link(&globex, &impostor, &token_hash(11))
        .await
        .expect("globex's own lnk-1");
    assert_eq!(
        store.link(&globex, &impostor.id).await.expect("read"),
        Some(impostor.clone())
    );
    assert_eq!(
        store.link(&acme, &payment.id).await.expect("read"),
        Some(payment.clone())
    );
    assert_eq!(
        store
            .link_by_token(&token_hash(11))
            .await
            .expect("read")
            .map(|found| found.business),
        Some(globex.clone())
    );
}

/// A link is closed once: completed or canceled, the first close wins and every later one
/// (even of eight at once through two handles) changes nothing; another business cannot close
/// it.
pub async fn links_close_once<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let acme: BusinessId = id("acme");
    let globex: BusinessId = id("globex");
    let payment = |link: &str, seconds| {
        open_link(
            link,
            "cust-1",
            LinkPurpose::Payment {
                amount: usd(10_000),
                bookings: vec![linked("b-1", usd(10_000), usd(10_000))],
            },
            seconds,
        )
    };
    let paid = payment("lnk-1", 0);
    let card_request = open_link("lnk-2", "cust-1", LinkPurpose::CardRequest, 1);
    let canceled = payment("lnk-3", 2);
    let contested = payment("lnk-4", 3);
    for (link, seed) in [
        (&paid, 1),
        (&card_request, 2),
        (&canceled, 3),
        (&contested, 4),
    ] {
        store
            .create_link(&acme, link, &token_hash(seed))
            .await
            .expect("link created");
    }
    let completed = |seconds, payment: Option<&str>, card: Option<&str>| LinkState::Completed {
        at: at(seconds),
        payment: payment.map(id),
        card: card.map(str::to_owned),
    };
    let read = |link: &PaymentLink| {
        let store = store.clone();
        let (acme, link) = (acme.clone(), link.id.clone());
        async move {
            store
                .link(&acme, &link)
                .await
                .expect("read")
                .expect("present")
        }
    };

    // Completed with a payment and a card; a second close of either kind changes nothing.
    let paid_state = completed(300, Some("pay_1"), Some("pm_card_visa"));
    assert!(
        store
            .close_link(&acme, &paid.id, &paid_state)
            .await
            .expect("close")
    );
    for again in [
        completed(301, Some("pay_2"), None),
        LinkState::Canceled { at: at(302) },
    ] {
        assert!(
            !store
                .close_link(&acme, &paid.id, &again)
                .await
                .expect("close")
        );
    }
    let expected = PaymentLink {
        state: paid_state.clone(),
        ..paid.clone()
    };
    assert_eq!(read(&paid).await, expected);
    assert_eq!(
        store
            .link_by_token(&token_hash(1))
            .await
            .expect("read")
            .map(|found| found.link),
        Some(expected)
    );

    // A card saved, with no payment.
    let saved = completed(400, None, Some("pm_1Q2w3E"));
    assert!(
        store
            .close_link(&acme, &card_request.id, &saved)
            .await
            .expect("close")
    );
    assert_eq!(read(&card_request).await.state, saved);

    // Canceled; then neither completed nor canceled again.
    let canceled_state = LinkState::Canceled { at: at(500) };
    assert!(
        store
            .close_link(&acme, &canceled.id, &canceled_state)
            .await
            .expect("close")
    );
    for again in [
        completed(501, Some("pay_3"), None),
        LinkState::Canceled { at: at(502) },
    ] {
        assert!(
            !store
                .close_link(&acme, &canceled.id, &again)
                .await
                .expect("close")
        );
    }
    assert_eq!(read(&canceled).await.state, canceled_state);

    // Another business, or an unknown link: nothing to close, nothing changes.
    assert!(
        !store
            .close_link(&globex, &contested.id, &LinkState::Canceled { at: at(600) })
            .await
            .expect("close")
    );
    let unknown: LinkId = id("lnk-9");
    assert!(
        !store
            .close_link(&acme, &unknown, &LinkState::Canceled { at: at(600) })
            .await
            .expect("close")
    );
    assert_eq!(read(&contested).await, contested);

    // Eight closes at once through two handles: exactly one wins, and its state is the one
    // stored.
    let second = fixture.second_handle().await;
    let closes = (0..8_u8).map(|n| {
        let handle = if n % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        let (acme, link) = (acme.clone(), contested.id.clone());
        let state = completed(700 + i64::from(n), Some(&format!("pay_{n}")), None);
        async move {
            let closed = handle
                .close_link(&acme, &link, &state)
                .await
                .expect("close");
            (closed, state)
        }
    });
    let winners: Vec<LinkState> = futures_util::future::join_all(closes)
        .await
        .into_iter()
        .filter_map(|(closed, state)| closed.then_some(state))
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(read(&contested).await.state, winners[0]);
}
