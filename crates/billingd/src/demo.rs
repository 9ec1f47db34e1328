//! The demo: a cleaning business with customers, saved cards, and bookings in every payment
//! state, made through the core's use cases (so the demo data is exactly what real use makes).
//!
//! Every run makes a new business (a new id and key): running it twice never touches the first
//! demo's data, and never fails on what the first run left behind.

use billing_core::billing::{CreatePaymentLink, NewBusiness, Sending};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::phone::PhoneNumber;
use billing_core::prelude::*;
use chrono::{Duration, Utc};

use crate::wiring::AnyError;

/// The demo business's name.
pub const DEMO_NAME: &str = "Sparkle Home Cleaning";

/// Where the demo business's notices go (the outbox folder, by default).
pub const DEMO_EMAIL: &str = "office@sparkle-cleaning.example";

/// What the demo made.
#[derive(Debug)]
pub struct Demo {
    /// The business.
    pub business: Business,
    /// Its API key (shown once).
    pub api_key: String,
    /// Each booking and its status.
    pub bookings: Vec<(String, &'static str)>,
    /// A payment link for the unpaid booking, when the service serves the hosted pages.
    pub payment_link: Option<String>,
    /// A console sign-in (email address and password), when the service serves the console.
    pub staff_login: Option<(String, String)>,
}

/// Adds the demo's owner to its business with a fresh random password, for the console.
pub async fn staff_login(
    billing: &Billing,
    passwords: &dyn billing_core::ports::PasswordHasher,
    demo: &mut Demo,
) -> Result<(), AnyError> {
    use rand::Rng as _;
    use rand::distr::Alphanumeric;
    let email = format!("owner@{}.example", demo.business.id);
    let invited = billing
        .add_staff(
            &demo.business,
            billing_core::billing::NewStaff {
                email,
                name: "Demo Owner".into(),
                role: billing_core::staff::StaffRole::Owner,
            },
        )
        .await?;
    let password: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    billing
        .accept_invitation(passwords, invited.token.expose(), &password)
        .await?;
    demo.staff_login = Some((invited.member.email, password));
    Ok(())
}

/// Makes a payment link for the demo's unpaid booking (b-1001) without emailing it, so that
/// whoever runs the demo can pay as the customer would.
pub async fn payment_link(billing: &Billing, demo: &mut Demo) -> Result<(), AnyError> {
    let issued = billing
        .create_payment_link(
            &demo.business,
            CreatePaymentLink {
                customer: CustomerId::new("c-ada")?,
                bookings: vec![BookingId::new("b-1001")?],
                amount: None,
                send: Sending::NOT,
            },
        )
        .await?;
    demo.payment_link = Some(issued.url);
    Ok(())
}

/// The customers: id, name, email, the test card saved for them.
const CUSTOMERS: &[(&str, &str, &str, &str)] = &[
    ("c-ada", "Ada Lovelace", "ada@example.com", "pm_card_visa"),
    (
        "c-grace",
        "Grace Hopper",
        "grace@example.com",
        "pm_card_mastercard",
    ),
    (
        "c-katherine",
        "Katherine Johnson",
        "katherine@example.com",
        "pm_card_visa",
    ),
    // Saves fine, declines every charge: Stripe's test card for "the card on file stopped
    // working".
    (
        "c-alan",
        "Alan Turing",
        "alan@example.com",
        "pm_card_chargeCustomerFail",
    ),
    // Her bank asks her to authenticate (3-D Secure) every payment, which she cannot do for a
    // charge made while she is away: Stripe's test card for Europe's everyday decline.
    (
        "c-marie",
        "Marie Curie",
        "marie@example.com",
        "pm_card_authenticationRequired",
    ),
];

fn usd(amount: &str) -> Result<Money, AnyError> {
    Ok(Money::parse(amount, Currency::USD)?)
}

fn booking(
    id: &str,
    customer: &str,
    items: &[(LineItemKind, &str, &str)],
    days_ago: i64,
) -> Result<BookingAccount, AnyError> {
    let lines = items
        .iter()
        .map(|(kind, label, amount)| Ok(LineItem::new(*kind, *label, usd(amount)?)?))
        .collect::<Result<Vec<_>, AnyError>>()?;
    let mut account = BookingAccount::new(
        BookingId::new(id)?,
        CustomerId::new(customer)?,
        Currency::USD,
        lines,
    )?;
    let at = Utc::now() - Duration::days(days_ago);
    account.service_at = Some(at);
    if days_ago > 0 {
        account.completed_at = Some(at + Duration::hours(3));
    }
    Ok(account)
}

fn charge(booking: &str, amount: Option<&str>) -> Result<ChargeBooking, AnyError> {
    Ok(ChargeBooking {
        booking: BookingId::new(booking)?,
        amount: amount.map(Amount::parse).transpose()?,
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: false,
    })
}

/// Makes the demo business and its data.
pub async fn seed(billing: &Billing, live: bool) -> Result<Demo, AnyError> {
    use LineItemKind::{Discount, Extra, Service};
    let issued = billing
        .create_business(NewBusiness {
            name: DEMO_NAME.to_owned(),
            id: None,
            gateway_account: None,
            email: Some(DEMO_EMAIL.to_owned()),
            live,
        })
        .await?;
    let business = issued.business;
    let api_key = issued.key.expose().to_owned();
    let b = &business;

    for (id, name, email, card) in CUSTOMERS {
        let customer = Customer {
            id: CustomerId::new(*id)?,
            name: (*name).to_owned(),
            email: Some((*email).to_owned()),
            // Ada takes texts too (a number reserved for fiction), to show them off.
            phone: match *id {
                "c-ada" => Some(PhoneNumber::from_e164("+14155550123")?),
                _ => None,
            },
            gateway_customer: None,
        };
        billing.put_customer(b, customer).await?;
        billing.attach_card(b, &CustomerId::new(*id)?, card).await?;
    }

    let mut bookings = Vec::new();
    let mut made = |id: &str, status: &'static str| bookings.push((id.to_owned(), status));

    // Not charged: booked for next week.
    billing
        .put_booking(
            b,
            booking(
                "b-1001",
                "c-ada",
                &[(Service, "Standard clean, 2 bedrooms", "120.00")],
                -7,
            )?,
        )
        .await?;
    made("b-1001", "not_charged");

    // Pre-authorized: a hold for a move-out clean.
    billing
        .put_booking(
            b,
            booking(
                "b-1002",
                "c-grace",
                &[(Service, "Move-out clean", "240.00")],
                -2,
            )?,
        )
        .await?;
    billing
        .authorize(
            b,
            AuthorizeBooking {
                booking: BookingId::new("b-1002")?,
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await?;
    made("b-1002", "pre_authorized");

    // Partially charged: an advance of 30.00 on a deep clean.
    billing
        .put_booking(
            b,
            booking(
                "b-1003",
                "c-ada",
                &[
                    (Service, "Deep clean", "200.00"),
                    (Extra, "Inside the oven", "30.50"),
                    (Discount, "Loyalty", "15.00"),
                ],
                1,
            )?,
        )
        .await?;
    billing.charge(b, charge("b-1003", Some("30.00"))?).await?;
    made("b-1003", "partially_charged");

    // Charged in full.
    billing
        .put_booking(
            b,
            booking(
                "b-1004",
                "c-katherine",
                &[(Service, "Standard clean", "95.00")],
                3,
            )?,
        )
        .await?;
    billing.charge(b, charge("b-1004", None)?).await?;
    made("b-1004", "charged_in_full");

    // Overpaid: charged in full, then a discount was granted; a refund is due.
    billing
        .put_booking(
            b,
            booking(
                "b-1005",
                "c-grace",
                &[(Service, "Window cleaning", "180.00")],
                5,
            )?,
        )
        .await?;
    billing.charge(b, charge("b-1005", None)?).await?;
    billing
        .adjust_price(
            b,
            &BookingId::new("b-1005")?,
            LineItem::new(Discount, "Two windows skipped", usd("20.00")?)?.into(),
        )
        .await?;
    made("b-1005", "overpaid");

    // Refunded: charged, then the visit was canceled and the money given back.
    billing
        .put_booking(
            b,
            booking(
                "b-1006",
                "c-katherine",
                &[(Service, "Carpet shampoo", "75.00")],
                6,
            )?,
        )
        .await?;
    let paid = billing.charge(b, charge("b-1006", None)?).await?;
    billing
        .refund(
            b,
            RefundPayment {
                payment: paid.payment.id,
                amount: None,
                reason: Some("Visit canceled by the customer".into()),
                idempotency_key: None,
            },
        )
        .await?;
    // Nothing is owed for a canceled visit.
    billing
        .adjust_price(
            b,
            &BookingId::new("b-1006")?,
            LineItem::new(Discount, "Visit canceled", usd("75.00")?)?.into(),
        )
        .await?;
    made("b-1006", "refunded");

    // Declined last attempt: the card on file stopped working.
    billing
        .put_booking(
            b,
            booking(
                "b-1007",
                "c-alan",
                &[(Service, "Office clean", "110.00")],
                2,
            )?,
        )
        .await?;
    let declined = billing.charge(b, charge("b-1007", None)?).await?;
    if !matches!(declined.outcome(), Outcome::Declined(_)) {
        return Err("the demo's declining card was charged".into());
    }
    made("b-1007", "not_charged, last attempt declined");

    // Paid by check, collected on site.
    billing
        .put_booking(
            b,
            booking(
                "b-1008",
                "c-alan",
                &[(Service, "Post-party clean", "160.00")],
                4,
            )?,
        )
        .await?;
    billing
        .record_collection(
            b,
            RecordCollection {
                booking: BookingId::new("b-1008")?,
                amount: None,
                method: billing_core::payment::CollectionMethod::Check,
                reference: Some("check 1042".into()),
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await?;
    made("b-1008", "charged_in_full (by check)");

    // Declined because the customer must authenticate: the answer suggests a payment link,
    // where she pays on the page and her bank's challenge is shown.
    billing
        .put_booking(
            b,
            booking(
                "b-1009",
                "c-marie",
                &[(Service, "Spring clean", "150.00")],
                1,
            )?,
        )
        .await?;
    let asked = billing.charge(b, charge("b-1009", None)?).await?;
    if !matches!(asked.outcome(), Outcome::Declined(f) if f.suggests_payment_link()) {
        return Err("the demo's 3-D Secure card was not declined for authentication".into());
    }
    made(
        "b-1009",
        "not_charged, last attempt needs the customer to authenticate: send a payment link",
    );

    Ok(Demo {
        business,
        api_key,
        bookings,
        payment_link: None,
        staff_login: None,
    })
}

/// What the demo prints: the key and ready-to-paste curl lines against `base`.
pub fn instructions(demo: &Demo, base: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "demo business: {} ({})\n",
        demo.business.name, demo.business.id
    ));
    out.push_str(&format!("demo API key:  {}\n", demo.api_key));
    out.push_str("demo bookings:\n");
    for (id, status) in &demo.bookings {
        out.push_str(&format!("  {id}  {status}\n"));
    }
    let auth = "-H \"Authorization: Bearer $BILLING_KEY\"";
    out.push_str("try:\n");
    out.push_str(&format!("  export BILLING_KEY={}\n", demo.api_key));
    out.push_str(&format!("  curl -s {base}/v1/bookings {auth}\n"));
    out.push_str(&format!("  curl -s {base}/v1/bookings/b-1003 {auth}\n"));
    out.push_str(&format!(
        "  curl -s -X POST {base}/v1/bookings/b-1003/charges {auth} -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-advance-2' -d '{{\"amount\": \"50.00\"}}'\n"
    ));
    out.push_str(&format!(
        "  curl -s -X POST {base}/v1/charges/bulk {auth} -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-batch-1' -d '{{\"bookings\": [\"b-1001\", \"b-1007\"]}}'\n"
    ));
    out.push_str(&format!(
        "  curl -s \"{base}/v1/reports/outstanding?format=csv\" {auth}\n"
    ));
    out.push_str(&format!("  open {base}/docs\n"));
    if let Some((email, password)) = &demo.staff_login {
        out.push_str(&format!(
            "the Ops Console: open {base}/console and sign in as {email} with password {password}\n"
        ));
    }
    if let Some(link) = &demo.payment_link {
        out.push_str(&format!(
            "pay b-1001 as its customer would (test card 4242 4242 4242 4242, any future expiry, any CVC; 4000 0000 0000 0002 declines; 4000 0025 0000 3155 shows the sandbox's 3-D Secure challenge):\n  open {link}\n"
        ));
    }
    out
}
