//! A scripted mailer: accepts every message unless a test scripted another outcome for the next
//! sends, and keeps every message it was given.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::notification::OutboundMessage;
use crate::ports::{MailError, MailReceipt, Mailer};

#[derive(Debug, Default)]
struct State {
    script: VecDeque<Result<MailReceipt, MailError>>,
    attempts: Vec<OutboundMessage>,
    delivered: Vec<OutboundMessage>,
}

/// The scripted mailer. Clones share state, so a test keeps one to script and inspect.
#[derive(Debug, Clone, Default)]
pub struct ScriptedMailer {
    state: Arc<Mutex<State>>,
}

impl ScriptedMailer {
    /// A mailer that accepts everything (`250 OK #<n>`, counting accepted messages).
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread cannot leave the queues half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next send fails with `error` (outcomes queue up in order).
    pub fn fail_next(&self, error: MailError) {
        self.state().script.push_back(Err(error));
    }

    /// The next send succeeds with this server reply.
    pub fn reply_next(&self, server_reply: &str) {
        self.state().script.push_back(Ok(MailReceipt {
            server_reply: server_reply.to_owned(),
        }));
    }

    /// Every message it was asked to send, in order, failed ones included.
    pub fn attempts(&self) -> Vec<OutboundMessage> {
        self.state().attempts.clone()
    }

    /// The messages it accepted, in order.
    pub fn delivered(&self) -> Vec<OutboundMessage> {
        self.state().delivered.clone()
    }
}

#[async_trait]
impl Mailer for ScriptedMailer {
    async fn send(&self, message: &OutboundMessage) -> Result<MailReceipt, MailError> {
        let mut state = self.state();
        state.attempts.push(message.clone());
        let outcome = state.script.pop_front().unwrap_or_else(|| {
            Ok(MailReceipt {
                server_reply: format!("250 OK #{}", state.delivered.len() + 1),
            })
        });
        if outcome.is_ok() {
            state.delivered.push(message.clone());
        }
        outcome
    }
}

/// Email templates for tests: the subject names the kind, the body lists the content's fields
/// (its `Debug` form), so a test can look for an amount or a URL in it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainTemplates;

impl crate::ports::EmailTemplates for PlainTemplates {
    fn render(
        &self,
        to: &str,
        content: &crate::email::EmailContent,
    ) -> Result<OutboundMessage, crate::ports::TemplateError> {
        Ok(OutboundMessage {
            to: to.to_owned(),
            subject: content.kind().as_str().to_owned(),
            text_body: format!("{content:#?}"),
            html_body: None,
        })
    }
}
