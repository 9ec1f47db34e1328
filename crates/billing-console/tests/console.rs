//! The console over HTTP (the router, in process): signing in and out, invitations, the
//! bookings of one's own business only, and the attacks a sign-in page meets — a fixed
//! session, a forged form, guessed passwords.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use billing_console::{Console, ConsoleConfig, routes};
use billing_core::billing::{Billing, ChargeBooking, HostedPages, NewStaff, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::Business;
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::money::{Amount, Currency, Money};
use billing_core::ports::Businesses;
use billing_core::staff::{SessionLimits, StaffRole};
use billing_core::testkit::{
    FixedClock, MemoryStore, PlainPages, PlainPasswords, PlainTemplates, ScriptedGateway,
    SequentialIds, SequentialSecrets, seed_customer_with_card,
};
use tower::ServiceExt as _;

const PASSWORD: &str = "correct horse battery";

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The session token the answer sets, if it sets one.
    fn session(&self) -> Option<String> {
        let cookie = self.header("set-cookie");
        let value = cookie.strip_prefix("console_session=")?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// A field's value in a form of this page.
    fn field(&self, form: &str, name: &str) -> String {
        let start = self
            .text
            .find(&format!("id=\"{form}\""))
            .unwrap_or_else(|| panic!("no #{form} in {}", self.text));
        let rest = &self.text[start..];
        let tag = rest.find(&format!("name=\"{name}\"")).expect("the field");
        let tag = &rest[tag..rest[tag..].find('>').expect("the tag's end") + tag];
        let at = tag.find("value=\"").expect("a value") + "value=\"".len();
        tag[at..at + tag[at..].find('"').expect("its end")].to_owned()
    }

    /// The form's CSRF token on this page.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.text.find(marker).expect("a CSRF field") + marker.len();
        self.text[at..at + 64].to_owned()
    }
}

struct Harness {
    app: Router,
    billing: Billing,
    gateway: ScriptedGateway,
    acme: Business,
    globex: Business,
}

fn business(id: &str, name: &str) -> Business {
    Business {
        id: BusinessId::new(id).unwrap(),
        name: name.into(),
        gateway_account: None,
        email: None,
    }
}

async fn booking(billing: &Billing, business: &Business, id: &str, price: i64) {
    let account = BookingAccount::new(
        BookingId::new(id).unwrap(),
        CustomerId::new("cust-1").unwrap(),
        Currency::USD,
        vec![
            LineItem::new(
                LineItemKind::Service,
                "Deep clean <b>",
                Money::from_minor(price, Currency::USD),
            )
            .unwrap(),
        ],
    )
    .unwrap();
    billing.put_booking(business, account).await.unwrap();
}

impl Harness {
    /// Acme with two bookings (one charged in part) and an invited member; Globex with one
    /// booking.
    async fn new() -> Harness {
        let store = Arc::new(MemoryStore::new());
        let gateway = ScriptedGateway::new();
        let billing = Billing::new(
            store.clone(),
            Arc::new(gateway.clone()),
            Arc::new(FixedClock::default()),
            Arc::new(SequentialIds::default()),
            Arc::new(SequentialSecrets::default()),
        )
        .with_hosted_pages(HostedPages {
            addresses: Arc::new(PlainPages("https://pay.example.com".into())),
            link_lifetime: HostedPages::default_lifetime(),
            templates: Arc::new(PlainTemplates),
        });
        let acme = business("acme", "Acme & Sons");
        let globex = business("globex", "Globex");
        for b in [&acme, &globex] {
            store.create_business(b, "hash").await.unwrap();
            seed_customer_with_card(&*store, &b.id, &CustomerId::new("cust-1").unwrap())
                .await
                .unwrap();
        }
        booking(&billing, &acme, "a-1", 20_000).await;
        booking(&billing, &acme, "a-2", 5_000).await;
        booking(&billing, &globex, "g-1", 9_900).await;
        billing
            .charge(
                &acme,
                ChargeBooking {
                    booking: BookingId::new("a-1").unwrap(),
                    amount: Some(Amount::parse("50.00").unwrap()),
                    source: PaymentSource::CardOnFile,
                    idempotency_key: None,
                    allow_duplicate: false,
                },
            )
            .await
            .unwrap();
        let console = Console::new(
            billing.clone(),
            Arc::new(PlainPasswords),
            ConsoleConfig {
                public_url: "https://billing.example".into(),
                sessions: SessionLimits::default(),
            },
        );
        Harness {
            app: routes(console),
            billing,
            gateway,
            acme,
            globex,
        }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = Request::get(path);
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("console_session={token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, form: &str, session: Option<&str>, origin: &str) -> Reply {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "billing.example")
            .header(header::ORIGIN, origin);
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("console_session={token}"));
        }
        self.send(request.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// A member of `business` (staff) with a password, signed in: their session token.
    async fn member(&self, business: &Business, email: &str) -> String {
        self.member_as(business, email, StaffRole::Staff).await
    }

    /// A member of `business` in `role`, signed in.
    async fn member_as(&self, business: &Business, email: &str, role: StaffRole) -> String {
        let invited = self
            .billing
            .add_staff(
                business,
                NewStaff {
                    email: email.into(),
                    name: "Grace <Hopper>".into(),
                    role,
                },
            )
            .await
            .unwrap();
        let set = self
            .post(
                &format!("/console/invitations/{}", invited.token.expose()),
                &format!("password={}", PASSWORD.replace(' ', "+")),
                None,
                "https://billing.example",
            )
            .await;
        assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text);
        assert_eq!(set.header("location"), "/console/bookings");
        set.session().expect("a session cookie")
    }
}

const SAME_SITE: &str = "https://billing.example";

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_pages_are_locked_down() {
    let h = Harness::new().await;
    for path in ["/console", "/console/bookings", "/console/bookings/a-1"] {
        let reply = h.get(path, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.header("location"), "/console/sign-in", "{path}");
    }
    let page = h.get("/console/sign-in", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("id=\"sign-in-form\""));
    let policy = page.header("content-security-policy");
    assert!(
        policy.contains("default-src 'none'") && !policy.contains("script-src"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(!page.text.contains("<script"), "no script at all");
    let css = h.get("/console/assets/console.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    let unknown = h.get("/console/nothing-here", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("content-type").starts_with("text/html"));
}

#[tokio::test]
async fn an_invited_member_sees_their_business_bookings_only() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/bookings", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("id=\"booking-a-1\""));
    assert!(list.text.contains("id=\"booking-a-2\""));
    assert!(!list.text.contains("g-1"), "another business's booking");
    assert!(list.text.contains("Partially charged"));
    assert!(list.text.contains("Not charged"));
    assert!(list.text.contains("Acme &#38; Sons"), "{}", list.text);
    assert!(list.text.contains("Grace &#60;Hopper&#62;"), "escaped");
    let filtered = h
        .get("/console/bookings?status=partially_charged", Some(&session))
        .await;
    assert!(filtered.text.contains("booking-a-1") && !filtered.text.contains("booking-a-2"));

    let one = h.get("/console/bookings/a-1", Some(&session)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(one.text.contains("Deep clean &#60;b&#62;"), "escaped");
    assert!(one.text.contains("id=\"paid\">50.00 USD"), "{}", one.text);
    assert!(
        one.text.contains("id=\"balance\">150.00 USD"),
        "{}",
        one.text
    );
    assert!(one.text.contains("Card charge"));
    // Another business's booking is as good as unknown.
    let theirs = h.get("/console/bookings/g-1", Some(&session)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let none = h.get("/console/bookings/zz", Some(&session)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.text, none.text, "the same page for both");
    // Globex's member sees Globex's.
    let other = h.member(&h.globex, "boss@globex.example").await;
    let theirs = h.get("/console/bookings", Some(&other)).await;
    assert!(theirs.text.contains("booking-g-1") && !theirs.text.contains("booking-a-1"));
}

#[tokio::test]
async fn sessions_are_http_only_lax_secure_and_new_at_each_sign_in() {
    let h = Harness::new().await;
    let first = h.member(&h.acme, "grace@acme.example").await;
    // An attacker's planted cookie: signing in never keeps it.
    let signed = h
        .post(
            "/console/sign-in",
            &format!(
                "email=grace%40acme.example&password={}",
                PASSWORD.replace(' ', "+")
            ),
            Some(&first),
            SAME_SITE,
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let cookie = signed.header("set-cookie").to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/console"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let second = signed.session().expect("a new session");
    assert_ne!(second, first);
    assert_eq!(
        h.get("/console/bookings", Some(&first)).await.status,
        StatusCode::SEE_OTHER,
        "the session the form came with was ended"
    );
    assert_eq!(
        h.get("/console/bookings", Some(&second)).await.status,
        StatusCode::OK
    );
    // A made-up token is no session.
    assert_eq!(
        h.get("/console/bookings", Some(&"A".repeat(43)))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forged_forms_are_refused_and_sign_out_needs_the_token() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings", Some(&session)).await;
    let csrf = page.csrf();
    // Another site's form, even with the right token: refused before the handler.
    let forged = h
        .post(
            "/console/sign-out",
            &format!("csrf={csrf}"),
            Some(&session),
            "https://evil.example",
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The right site, the wrong token.
    let wrong = h
        .post(
            "/console/sign-out",
            &format!("csrf={}", "0".repeat(64)),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get("/console/bookings", Some(&session)).await.status,
        StatusCode::OK,
        "still signed in"
    );
    // A sign-in form posted from elsewhere (signing the victim in as the attacker).
    let login_csrf = h
        .post(
            "/console/sign-in",
            "email=grace%40acme.example&password=whatever",
            None,
            "https://evil.example",
        )
        .await;
    assert_eq!(login_csrf.status, StatusCode::FORBIDDEN);
    let out = h
        .post(
            "/console/sign-out",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.header("set-cookie").contains("console_session=;"),
        "{}",
        out.header("set-cookie")
    );
    assert_eq!(
        h.get("/console/bookings", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn guessing_passwords_is_slowed_to_a_stop() {
    let h = Harness::new().await;
    h.member(&h.acme, "grace@acme.example").await;
    for _ in 0..5 {
        let wrong = h
            .post(
                "/console/sign-in",
                "email=grace%40acme.example&password=not+the+password",
                None,
                SAME_SITE,
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.text.contains("do not match"));
        assert_eq!(wrong.session(), None);
    }
    // The right password now waits too.
    let right = h
        .post(
            "/console/sign-in",
            &format!(
                "email=grace%40acme.example&password={}",
                PASSWORD.replace(' ', "+")
            ),
            None,
            SAME_SITE,
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.session(), None);
    // An unknown address is refused with the same words.
    let unknown = h
        .post(
            "/console/sign-in",
            "email=nobody%40acme.example&password=not+the+password",
            None,
            SAME_SITE,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.text.contains("do not match"));
}

#[tokio::test]
async fn an_invitation_works_once_and_wants_a_long_password() {
    let h = Harness::new().await;
    let invited = h
        .billing
        .add_staff(
            &h.acme,
            NewStaff {
                email: "new@acme.example".into(),
                name: "New".into(),
                role: StaffRole::Owner,
            },
        )
        .await
        .unwrap();
    let path = format!("/console/invitations/{}", invited.token.expose());
    assert_eq!(h.get(&path, None).await.status, StatusCode::OK);
    let short = h.post(&path, "password=short", None, SAME_SITE).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text.contains("12 to 200"), "{}", short.text);
    let set = h
        .post(&path, "password=a+long+enough+password", None, SAME_SITE)
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let again = h
        .post(&path, "password=a+long+enough+password", None, SAME_SITE)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.text.contains("no longer works"));
}

#[tokio::test]
async fn staff_charge_a_card_once_however_often_the_form_is_sent() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-2", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("id=\"recent-charge\""), "never charged");
    assert!(
        page.text.contains("Visa ending 4242 (default)"),
        "{}",
        page.text
    );
    assert_eq!(
        page.field("charge-form", "amount"),
        "50.00",
        "the balance, filled in"
    );
    let form = format!(
        "csrf={}&key={}&source=card%3Apm_card_visa&amount=50.00",
        page.field("charge-form", "csrf"),
        page.field("charge-form", "key")
    );
    // A double click: the same form twice. One charge.
    for _ in 0..2 {
        let sent = h
            .post(
                "/console/bookings/a-2/charges",
                &form,
                Some(&session),
                SAME_SITE,
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
        assert_eq!(
            sent.header("location"),
            "/console/bookings/a-2?result=charged"
        );
    }
    assert_eq!(h.gateway.count("charge"), 2, "a-1's advance and this one");
    let after = h
        .get("/console/bookings/a-2?result=charged", Some(&session))
        .await;
    assert!(
        after.text.contains("The charge was successful."),
        "{}",
        after.text
    );
    assert!(
        after
            .text
            .contains("id=\"status-badge\" class=\"badge paid\">Charged in full")
    );
    assert!(
        after.text.contains("id=\"recent-charge\""),
        "a warning before another"
    );
    assert_ne!(
        after.field("charge-form", "key"),
        page.field("charge-form", "key"),
        "a new form, a new key"
    );
    // A text of the attacker's choosing never reaches the page through the address.
    let crafted = h
        .get("/console/bookings/a-2?result=%3Cscript%3E", Some(&session))
        .await;
    assert!(!crafted.text.contains("id=\"flash\""));
}

#[tokio::test]
async fn staff_record_cash_and_checks_and_forged_or_foreign_charges_do_nothing() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings/a-1", Some(&session)).await;
    assert_eq!(page.field("collect-form", "amount"), "150.00");
    let csrf = page.field("collect-form", "csrf");
    let key = page.field("collect-form", "key");
    // The wrong CSRF token, then another business's booking: nothing recorded.
    let forged = h
        .post(
            "/console/bookings/a-1/charges",
            &format!(
                "csrf={}&key={key}&source=cash&amount=150.00",
                "f".repeat(64)
            ),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let foreign = h
        .post(
            "/console/bookings/g-1/charges",
            &format!("csrf={csrf}&key=other-{key}&source=cash&amount=10.00"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let too_much = h
        .post(
            "/console/bookings/a-1/charges",
            &format!("csrf={csrf}&key=big-{key}&source=cash&amount=900.00"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        too_much.header("location"),
        "/console/bookings/a-1?result=amount"
    );
    let check = h
        .post(
            "/console/bookings/a-1/charges",
            &format!("csrf={csrf}&key={key}&source=check&reference=1234&amount=150.00"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        check.header("location"),
        "/console/bookings/a-1?result=collected"
    );
    let after = h
        .get("/console/bookings/a-1?result=collected", Some(&session))
        .await;
    assert!(after.text.contains("The collection was recorded."));
    assert!(after.text.contains(">Charged in full<"), "{}", after.text);
    assert!(after.text.contains("<td>Collection</td>"));
    let globex = h
        .billing
        .booking(&h.globex, &BookingId::new("g-1").unwrap())
        .await
        .unwrap();
    assert!(
        globex.payments.is_empty(),
        "the other business's booking was not touched"
    );
}

async fn hold(h: &Harness, booking: &str, amount: &str) -> String {
    h.billing
        .authorize(
            &h.acme,
            billing_core::billing::AuthorizeBooking {
                booking: BookingId::new(booking).unwrap(),
                amount: Some(Amount::parse(amount).unwrap()),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .unwrap()
        .payment
        .id
        .to_string()
}

#[tokio::test]
async fn holds_are_captured_or_released_and_only_owners_refund() {
    let h = Harness::new().await;
    let staff = h.member(&h.acme, "grace@acme.example").await;
    let held = hold(&h, "a-2", "50.00").await;
    let page = h.get("/console/bookings/a-2", Some(&staff)).await;
    assert!(page.text.contains(">Authorized<"), "{}", page.text);
    let row = format!("payment-{held}");
    assert_eq!(
        page.field(&row, "amount"),
        "50.00",
        "what the hold can capture"
    );
    let csrf = page.field(&row, "csrf");
    let key = page.field(&row, "key");
    // Part of it captured (the rest released with it).
    let captured = h
        .post(
            &format!("/console/payments/{held}/capture"),
            &format!("csrf={csrf}&key={key}&booking=a-2&amount=30.00"),
            Some(&staff),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        captured.header("location"),
        "/console/bookings/a-2?result=captured"
    );
    let after = h.get("/console/bookings/a-2", Some(&staff)).await;
    assert!(
        after.text.contains("id=\"paid\">30.00 USD"),
        "{}",
        after.text
    );
    assert!(after.text.contains("id=\"held\">0.00 USD"));
    assert!(
        !after.text.contains("/refund\""),
        "staff see no refund form"
    );
    // Staff cannot refund, even by posting the form themselves.
    let capture_id = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap()
        .payments
        .iter()
        .find(|p| p.kind.name() == billing_core::payment::KindName::Capture)
        .map(|p| p.id.to_string())
        .expect("the capture");
    let not_owner = h
        .post(
            &format!("/console/payments/{capture_id}/refund"),
            &format!("csrf={csrf}&key=r-{key}&booking=a-2&amount=10.00"),
            Some(&staff),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        not_owner.header("location"),
        "/console/bookings/a-2?result=not-owner"
    );
    // An owner refunds part of it.
    let owner = h
        .member_as(&h.acme, "owner@acme.example", StaffRole::Owner)
        .await;
    let page = h.get("/console/bookings/a-2", Some(&owner)).await;
    let row = format!("payment-{capture_id}");
    assert_eq!(page.field(&row, "amount"), "30.00", "what can be refunded");
    let refunded = h
        .post(
            &format!("/console/payments/{capture_id}/refund"),
            &format!(
                "csrf={}&key={}&booking=a-2&amount=10.00",
                page.field(&row, "csrf"),
                page.field(&row, "key")
            ),
            Some(&owner),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        refunded.header("location"),
        "/console/bookings/a-2?result=refunded"
    );
    let after = h.get("/console/bookings/a-2", Some(&owner)).await;
    assert!(
        after.text.contains("id=\"refunded\">10.00 USD"),
        "{}",
        after.text
    );

    // A hold released.
    let other = hold(&h, "a-1", "100.00").await;
    let page = h.get("/console/bookings/a-1", Some(&staff)).await;
    let released = h
        .post(
            &format!("/console/payments/{other}/release"),
            &format!("csrf={}&booking=a-1", page.csrf()),
            Some(&staff),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        released.header("location"),
        "/console/bookings/a-1?result=released"
    );
    let after = h.get("/console/bookings/a-1", Some(&staff)).await;
    assert!(
        after.text.contains("id=\"held\">0.00 USD"),
        "{}",
        after.text
    );
    // Another business's member cannot touch Acme's payments.
    let globex = h
        .member_as(&h.globex, "boss@globex.example", StaffRole::Owner)
        .await;
    let theirs = h.get("/console/bookings", Some(&globex)).await;
    let foreign = h
        .post(
            &format!("/console/payments/{capture_id}/refund"),
            &format!("csrf={}&key=x&booking=g-1&amount=1.00", theirs.csrf()),
            Some(&globex),
            SAME_SITE,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "as good as unknown");
    let still = h
        .billing
        .booking(&h.acme, &BookingId::new("a-2").unwrap())
        .await
        .unwrap();
    assert_eq!(still.summary.balance.refunded.to_string(), "10.00 USD");
}

#[tokio::test]
async fn a_customers_profile_shows_cards_what_they_owe_and_the_emails_sent() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/customers", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("id=\"customer-cust-1\""));
    let profile = h.get("/console/customers/cust-1", Some(&session)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text);
    assert!(profile.text.contains("id=\"customer-name\">Ada Lovelace"));
    assert!(
        profile
            .text
            .contains("Visa ending 4242 · expires 12/2034 · <strong>default</strong>")
    );
    assert!(
        profile.text.contains("id=\"owes\">200.00 USD"),
        "{}",
        profile.text
    );
    assert!(profile.text.contains("id=\"no-notifications\""));
    // "Send Email": a card request, in the notifications section.
    let forged = h
        .post(
            "/console/customers/cust-1/card-request",
            &format!("csrf={}", "0".repeat(64)),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let sent = h
        .post(
            "/console/customers/cust-1/card-request",
            &format!("csrf={}", profile.field("card-request-form", "csrf")),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(
        sent.header("location"),
        "/console/customers/cust-1?result=card-request-sent"
    );
    let after = h
        .get(
            "/console/customers/cust-1?result=card-request-sent",
            Some(&session),
        )
        .await;
    assert!(after.text.contains("The card request was emailed."));
    assert!(
        after.text.contains("<td>Card request</td>"),
        "{}",
        after.text
    );
    assert!(after.text.contains("<td>Queued</td>"));
    // Their bookings, from the profile's link.
    let bookings = h
        .get("/console/bookings?customer=cust-1", Some(&session))
        .await;
    assert!(bookings.text.contains("booking-a-1") && bookings.text.contains("booking-a-2"));
    let unknown = h.get("/console/customers/nobody", Some(&session)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
