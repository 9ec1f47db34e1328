//! What the console's in-process tests share: a router over an in-memory engine with two
//! businesses, and requests as a browser sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

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

pub const PASSWORD: &str = "correct horse battery";

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The session token the answer sets, if it sets one.
    pub fn session(&self) -> Option<String> {
        let cookie = self.header("set-cookie");
        let value = cookie.strip_prefix("console_session=")?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// A field's value in a form of this page.
    pub fn field(&self, form: &str, name: &str) -> String {
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
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.text.find(marker).expect("a CSRF field") + marker.len();
        self.text[at..at + 64].to_owned()
    }
}

pub struct Harness {
    pub app: Router,
    pub billing: Billing,
    /// The store the service runs on (clones share the data).
    pub store: Arc<MemoryStore>,
    pub gateway: ScriptedGateway,
    pub acme: Business,
    pub globex: Business,
}

pub fn business(id: &str, name: &str) -> Business {
    Business {
        id: BusinessId::new(id).unwrap(),
        name: name.into(),
        gateway_account: None,
        email: None,
    }
}

pub async fn booking(billing: &Billing, business: &Business, id: &str, price: i64) {
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
    pub async fn new() -> Harness {
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
            let key = billing_core::testkit::api_key_record("key_1");
            store
                .create_business(b, &key, &format!("hash-{}", b.id))
                .await
                .unwrap();
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
                stripe_dashboard: Some(billing_console::StripeDashboard { test_mode: true }),
            },
        );
        Harness {
            app: routes(console),
            billing,
            store,
            gateway,
            acme,
            globex,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
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

    pub async fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = Request::get(path);
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("console_session={token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &str, session: Option<&str>, origin: &str) -> Reply {
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
    pub async fn member(&self, business: &Business, email: &str) -> String {
        self.member_as(business, email, StaffRole::Staff).await
    }

    /// A member of `business` in `role`, signed in.
    pub async fn member_as(&self, business: &Business, email: &str, role: StaffRole) -> String {
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

pub const SAME_SITE: &str = "https://billing.example";

/// A customer of `business` named `name`, with one booking of `price` minor units of
/// `currency` that nothing has paid yet.
pub async fn owing_customer(
    billing: &Billing,
    business: &Business,
    customer: &str,
    name: &str,
    booking: &str,
    price: i64,
    currency: Currency,
) {
    let id = CustomerId::new(customer).unwrap();
    billing
        .put_customer(
            business,
            billing_core::customer::Customer {
                id: id.clone(),
                name: name.into(),
                email: None,
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    let account = BookingAccount::new(
        BookingId::new(booking).unwrap(),
        id,
        currency,
        vec![
            LineItem::new(
                LineItemKind::Service,
                "Lawn",
                Money::from_minor(price, currency),
            )
            .unwrap(),
        ],
    )
    .unwrap();
    billing.put_booking(business, account).await.unwrap();
}
