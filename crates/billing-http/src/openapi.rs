//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::pages::{card_request, pay, portal};
use crate::problem::ProblemDetails;
use crate::routes::{
    automation, bookings, bulk, connect, customers, links, notifications, ops, payments, reports,
    webhooks,
};
use crate::wire::*;

/// The API's OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "billing",
        description = "A billing engine for booking businesses: charge a booking in full or in part, adjust its price, hold and capture, record cash or check collections, refund, charge many bookings at once, send payment links and card requests — exact to the cent, and never twice.\n\nEvery `/v1` route but the webhook needs `Authorization: Bearer <api key>`. Amounts are decimal strings in the booking's currency. Errors are `application/problem+json` with a stable `code`. Money-moving POSTs take an `Idempotency-Key`.",
    ),
    paths(
        customers::put_customer,
        customers::get_customer,
        customers::list_cards,
        customers::attach_card,
        customers::remove_card,
        customers::set_default_card,
        customers::balance,
        bookings::put_booking,
        bookings::get_booking,
        bookings::list_bookings,
        bookings::add_line_item,
        bookings::charge,
        bookings::collect,
        bookings::authorize,
        bulk::bulk_charge,
        payments::get_payment,
        payments::capture,
        payments::cancel,
        payments::refund,
        payments::reconcile,
        payments::mark_failed,
        payments::sync,
        reports::outstanding,
        links::create_payment_link,
        links::create_card_request,
        links::send_portal_link,
        links::start_checkout,
        links::get_link,
        links::customer_links,
        links::cancel_link,
        notifications::customer_notifications,
        notifications::get_notification,
        pay::pay_page,
        pay::pay,
        pay::payment_returned,
        card_request::card_page,
        card_request::save_card,
        card_request::card_returned,
        portal::open_link,
        portal::overview,
        webhooks::stripe,
        webhooks::texts,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        automation::get_settings,
        automation::put_settings,
        automation::get_booking_automation,
        automation::put_booking_automation,
        automation::cancel_booking,
        automation::mark_no_show,
        automation::put_customer_automation,
        automation::list_runs,
        connect::start_onboarding,
        connect::onboarding_returned,
        connect::get_account,
    ),
    components(schemas(
        ProblemDetails, MoneyJson, CardJson, CardList, CustomerJson, CustomerBalanceJson, LineItemJson,
        LineItemKindJson, StatusJson, BookingSummaryJson, BookingJson, BookingList,
        PaymentKindJson, PaymentStateJson, CollectionMethodJson, FailureJson, AllocationJson,
        OriginJson, SuggestedActionJson,
        PaymentJson, ReceiptJson, PaymentViewJson, BulkResultJson, BulkResponse,
        OutstandingRowJson, OutstandingJson, WebhookAck, HealthJson, NewCustomer, AttachCard,
        LineItemInput, PutBooking, ChargeRequest, CollectionRequest, AuthorizationRequest,
        CaptureRequest, RefundRequest, BulkRequest, LinkTypeJson, LinkStatusJson,
        LinkedBookingJson, LinkJson, IssuedLinkJson, LinkList, CheckoutJson, CheckoutStepJson,
        CheckoutRequest, CheckoutStartedJson, NotificationKindJson, DeliveryJson,
        NotificationJson, NotificationList, PaymentLinkRequest, CardRequestRequest, ChannelJson,
        CarrierJson, CarrierStatusJson,
        PaymentSettingsJson, PolicyJson, PolicyNameJson, ShareJson, HoldRenewalJson,
        CancellationFeeJson, ActionJson, ReasonJson, DeclineKindJson, PlannedJson, FailuresJson,
        RunJson, RunList, BookingAutomationJson, PutBookingAutomation, CustomerAutomationJson,
        CancelRequest, CancellationJson, NoShowJson,
        AccountStandingJson, ConnectedAccountJson, OnboardingJson, OnboardingRequest,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "customers", description = "Customers and their saved cards"),
        (name = "bookings", description = "Bookings' billing views and prices"),
        (name = "payments", description = "Charges, collections, holds, captures, refunds"),
        (name = "reports", description = "What customers owe"),
        (name = "links", description = "Payment links and card requests: hosted pages where a customer pays or saves a card, sent by email"),
        (name = "notifications", description = "The emails queued about a customer, and their delivery"),
        (name = "hosted pages", description = "The HTML pages a customer reaches from a link (no API key: the token in the URL is the key). Payments and cards are confirmed on the server with the customer present; a bank's 3-D Secure challenge brings them back to a `/return` route. Rate limited per client address (behind a trusted proxy, the address it forwards); strict Content-Security-Policy"),
        (name = "automation", description = "Payment automation: when each booking's money is taken (the business's payment policy, a booking's own), deposits, holds renewed before they run out, failed charges retried by decline type, cancellations and their fee, the runs and their outcomes"),
        (name = "connect", description = "The business's own Stripe account: Stripe's onboarding (Account Links), and whether the account can take card payments yet"),
        (name = "webhooks", description = "Gateway events"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// The `api_key` bearer scheme every `/v1` route but the webhook uses.
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `bk_live_...` or `bk_test_...`"))
                    .build(),
            ),
        );
    }
}
