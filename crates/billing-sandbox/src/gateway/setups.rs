//! Card set-ups (Stripe's SetupIntents): started for a customer, confirmed with the card the
//! customer's page made, with the customer there; a card that asks for 3-D Secure waits for
//! the challenge page.

use billing_core::ports::{CardSetup, GatewayError, SetupState};

use crate::cards;
use crate::config::Operation;
use crate::state::{Reply, Setup, SetupStage};

use super::customers::{attach_set_up, usable_method};
use super::{SandboxGateway, invalid, key_reused, random_secret};

pub(super) async fn start_card_setup(
    gateway: &SandboxGateway,
    account: Option<String>,
    gateway_customer: &str,
    idempotency_key: &str,
) -> Result<CardSetup, GatewayError> {
    let fingerprint = format!("setup|{gateway_customer}");
    gateway
        .serve(
            Operation::StartCardSetup,
            &account,
            Some(idempotency_key),
            |state, now| {
                match state
                    .account(&account)
                    .replay(idempotency_key, &fingerprint, now)?
                {
                    Some(Reply::Setup(answer)) => {
                        state.replayed = true;
                        return Ok(answer);
                    }
                    Some(_) => {
                        return Err(key_reused(
                            "This idempotency key was used for another kind of request.",
                        ));
                    }
                    None => {}
                }
                state.account(&account).customer(gateway_customer)?;
                let id = state.new_id("seti");
                let answer = CardSetup {
                    client_secret: format!("{id}_secret_{}", random_secret()),
                    reference: id.clone(),
                };
                let acct = state.account(&account);
                acct.insert_setup(Setup {
                    id,
                    customer: gateway_customer.to_owned(),
                    client_secret: answer.client_secret.clone(),
                    challenge: random_secret(),
                    stage: SetupStage::AwaitingCard,
                    payment_method: None,
                    return_url: None,
                });
                acct.save(
                    idempotency_key,
                    fingerprint.clone(),
                    Reply::Setup(answer.clone()),
                    now,
                );
                Ok(answer)
            },
        )
        .await
}

pub(super) async fn confirm_card_setup(
    gateway: &SandboxGateway,
    account: Option<String>,
    setup_reference: &str,
    payment_method: &str,
    return_url: &str,
) -> Result<SetupState, GatewayError> {
    let base = gateway.challenge_base();
    gateway
        .serve(Operation::ConfirmCardSetup, &account, None, |state, now| {
            let setup = state
                .account(&account)
                .setups
                .get(setup_reference)
                .cloned()
                .ok_or_else(|| {
                    GatewayError::NotFound(format!("No such setupintent: '{setup_reference}'"))
                })?;
            if matches!(setup.stage, SetupStage::Saved(_)) {
                return Err(invalid(
                    "You cannot confirm this SetupIntent because it has already succeeded.",
                ));
            }
            let method = usable_method(state, &account, &setup.customer, payment_method)?;
            let stage = if !method.attachable() {
                let failure = match method.behavior() {
                    cards::Behavior::Decline { code, decline_code } => {
                        cards::failure(code, Some(decline_code))
                    }
                    _ => cards::failure("card_declined", Some("generic_decline")),
                };
                SetupStage::Refused(failure)
            } else if method.behavior().authenticates() {
                SetupStage::AwaitingAuthentication
            } else {
                let saved = attach_set_up(state, &account, &setup.customer, payment_method, now)?;
                SetupStage::Saved(saved)
            };
            let found = state.account(&account).setup_mut(setup_reference)?;
            found.stage = stage;
            found.payment_method = Some(payment_method.to_owned());
            found.return_url = Some(return_url.to_owned());
            Ok(found.view(base))
        })
        .await
}

pub(super) async fn card_setup(
    gateway: &SandboxGateway,
    account: Option<String>,
    setup_reference: &str,
) -> Result<SetupState, GatewayError> {
    let base = gateway.challenge_base();
    gateway
        .serve(Operation::CardSetup, &account, None, |state, _| {
            state
                .account(&account)
                .setups
                .get(setup_reference)
                .map(|setup| setup.view(base))
                .ok_or_else(|| {
                    GatewayError::NotFound(format!("No such setupintent: '{setup_reference}'"))
                })
        })
        .await
}
