//! Refunds, and what Stripe keeps of a payment: its refunds and disputes (`payment_record`),
//! and the events of an account (`events_since`), for what was done at Stripe and what
//! webhooks missed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use stripe::StripeRequest;
use stripe_core::dispute::ListDispute;
use stripe_core::event::ListEvent;
use stripe_core::refund::{CreateRefund, ListRefund};
use stripe_shared::Event;

use billing_core::ports::{
    GatewayDispute, GatewayError, GatewayEvent, GatewayRecord, GatewayRefund, RefundRequest,
};

use crate::amounts;
use crate::convert;
use crate::gateway::{REFUND_ID_KEY, StripeGateway, invalid, mutating, read, truncate};
use crate::webhooks::{self, EventInfo};

/// Stripe caps metadata values at 500 characters.
const METADATA_VALUE_MAX: usize = 500;

/// Stripe's largest page.
const PAGE: i64 = 100;

impl StripeGateway {
    /// Refunds part or all of a payment.
    pub(crate) async fn make_refund(
        &self,
        request: &RefundRequest,
    ) -> Result<GatewayRefund, GatewayError> {
        let (amount, _) =
            amounts::to_stripe(&request.amount).map_err(|e| invalid(e.to_string()))?;
        let mut metadata = HashMap::from([(REFUND_ID_KEY.to_owned(), request.refund.to_string())]);
        // Stripe's `reason` is an enum (and localstripe refuses it): our free-text reason goes
        // to the metadata instead, where the dashboard shows it.
        if let Some(reason) = &request.reason {
            metadata.insert("reason".to_owned(), truncate(reason, METADATA_VALUE_MAX));
        }
        let create = CreateRefund::new()
            .payment_intent(request.payment_reference.as_str())
            .amount(amount)
            .metadata(metadata);
        let refund = self
            .call(
                mutating("create a Refund"),
                request.account.as_deref(),
                Some(&request.idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        let answer = convert::refund_of(&refund)?;
        if answer.amount != request.amount {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered a refund of {} for refund {}, {} was asked; it must be checked by hand",
                answer.amount, request.refund, request.amount
            )));
        }
        Ok(answer)
    }

    /// Every refund of a payment, ours and the Dashboard's, every page.
    pub(crate) async fn refunds_of(
        &self,
        account: Option<&str>,
        payment_reference: &str,
    ) -> Result<Vec<GatewayRefund>, GatewayError> {
        let mut refunds = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListRefund::new()
                .payment_intent(payment_reference)
                .limit(PAGE);
            if let Some(after) = &after {
                list = list.starting_after(after.as_str());
            }
            let page = self
                .call(read("list Refunds"), account, None, |t| {
                    t.apply(list.customize()).send(&self.client)
                })
                .await?;
            for refund in &page.data {
                refunds.push(convert::refund_of(refund)?);
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => return Ok(refunds),
            }
        }
    }

    /// Every dispute of a payment, every page.
    async fn disputes_of(
        &self,
        account: Option<&str>,
        payment_reference: &str,
    ) -> Result<Vec<GatewayDispute>, GatewayError> {
        let mut disputes = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListDispute::new()
                .payment_intent(payment_reference)
                .limit(PAGE);
            if let Some(after) = &after {
                list = list.starting_after(after.as_str());
            }
            let page = self
                .call(read("list Disputes"), account, None, |t| {
                    t.apply(list.customize()).send(&self.client)
                })
                .await?;
            for dispute in &page.data {
                disputes.push(convert::dispute_of(dispute)?);
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => return Ok(disputes),
            }
        }
    }

    /// Everything Stripe did with a payment: the intent (its captures in `amount_received`),
    /// its refunds and its disputes.
    pub(crate) async fn record_of(
        &self,
        account: Option<&str>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        let intent = self.retrieve_intent(account, reference).await?;
        let payment = self.view(account, &intent, None).await?;
        let refunds = self.refunds_of(account, reference).await?;
        let disputes = self.disputes_of(account, reference).await?;
        Ok(GatewayRecord {
            payment,
            refunds,
            disputes,
        })
    }

    /// The account's events since `since`, oldest first, each read as its webhook delivery
    /// would be. Stripe lists newest first: every page is read, then the order turned.
    pub(crate) async fn list_events(
        &self,
        account: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError> {
        let mut events = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListEvent::new()
                .created(stripe_types::RangeQueryTs::gte(since.timestamp()))
                .limit(PAGE);
            if let Some(after) = &after {
                list = list.starting_after(after.as_str());
            }
            let page = self
                .call(read("list Events"), account, None, |t| {
                    t.apply(list.customize()).send(&self.client)
                })
                .await?;
            events.extend(page.data.iter().map(|event| core_event(event, account)));
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => break,
            }
        }
        events.reverse();
        Ok(events)
    }
}

/// A listed event in the core's terms, read as its webhook delivery would be. One that cannot
/// be read is kept as nothing of ours, with a warning: the others must still be seen.
fn core_event(event: &Event, account: Option<&str>) -> GatewayEvent {
    let info = EventInfo {
        id: event.id.to_string(),
        event_type: event.type_.as_str().to_owned(),
        // Listed on a connected account, an event may not repeat the account it is from.
        account: event.account.clone().or_else(|| account.map(str::to_owned)),
        created: DateTime::from_timestamp(event.created, 0).unwrap_or_default(),
        livemode: event.livemode,
    };
    let object =
        stripe_types::with_serde_json::serialize(&event.data.object, serde_json::value::Serializer);
    let read = object
        .map_err(|e| webhooks::WebhookError::BadPayload(e.to_string()))
        .and_then(|object| webhooks::read_event(info.clone(), &object));
    match read {
        Ok(event) => event.to_core(),
        Err(error) => {
            tracing::warn!(
                event = %info.id,
                event_type = %info.event_type,
                "a Stripe event could not be read, and is skipped: {error}"
            );
            webhooks::GatewayEvent::Ignored {
                event_type: info.event_type.clone(),
                event: info,
            }
            .to_core()
        }
    }
}
