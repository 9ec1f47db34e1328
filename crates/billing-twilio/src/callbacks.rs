//! What Twilio posts to us: status callbacks about the texts we sent (`MessageSid`,
//! `MessageStatus`, `ErrorCode`) and the texts customers send to our number (`From`, `Body`),
//! both form-encoded and signed with `X-Twilio-Signature`.

use std::fmt;

use billing_core::phone::PhoneNumber;
use billing_core::ports::{
    InboundText, ReplyIntent, TextCallbackRejected, TextCallbacks, TextEvent, TextStatus,
    TextStatusReport,
};

use crate::signature::{SIGNATURE_HEADER, verify};

/// The replies Twilio itself acts on for a long code (its default opt-out handling): after one
/// of these Twilio refuses every text to the number (error 21610) until it opts in again.
const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
/// The replies that lift an opt-out.
const OPT_IN: &[&str] = &["START", "UNSTOP", "YES"];
/// The replies Twilio answers with the number's help text.
const HELP: &[&str] = &["HELP", "INFO"];

/// What a reply asks for, as Twilio reads it: the whole message, trimmed, is one keyword in any
/// case ("Stop" opts out; "please stop" is a message for the business, which Twilio lets
/// through too). A full stop or an exclamation mark after the word is forgiven, as people type
/// them.
pub fn reply_intent(body: &str) -> ReplyIntent {
    let word = body
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_ascii_uppercase();
    if OPT_OUT.contains(&word.as_str()) {
        ReplyIntent::OptOut
    } else if OPT_IN.contains(&word.as_str()) {
        ReplyIntent::OptIn
    } else if HELP.contains(&word.as_str()) {
        ReplyIntent::Help
    } else {
        ReplyIntent::Message
    }
}

/// A status Twilio gives a message (`queued`, `sent`, `delivered`…), as the port's
/// [`TextStatus`]; `None` for one that is not an outbound message's.
pub fn text_status(status: &str) -> Option<TextStatus> {
    Some(match status {
        // Accepted by a messaging service, scheduled, waiting or being handed over.
        "accepted" | "scheduled" | "queued" | "sending" => TextStatus::Queued,
        // `partially_delivered` (a message in several parts) is not final either.
        "sent" | "partially_delivered" => TextStatus::Sent,
        // `read`: WhatsApp and RCS report reading, after delivery.
        "delivered" | "read" => TextStatus::Delivered,
        "undelivered" => TextStatus::Undelivered,
        "failed" | "canceled" => TextStatus::Failed,
        _ => return None,
    })
}

/// Reads the parameters of a callback (already verified) into what it tells: a status
/// callback when it has a `MessageStatus` of a message we sent, else an inbound message
/// (`SmsStatus` `received`, with `From` and `Body`).
///
/// # Errors
/// [`TextCallbackRejected`] when a parameter Twilio always sends is missing or unreadable.
pub fn read_callback(params: &[(String, String)]) -> Result<TextEvent, TextCallbackRejected> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let missing = |name: &str| TextCallbackRejected(format!("the callback has no {name}"));
    let reference = get("MessageSid")
        .or_else(|| get("SmsSid"))
        .ok_or_else(|| missing("MessageSid"))?
        .to_owned();
    let status = get("MessageStatus").or_else(|| get("SmsStatus"));
    match status {
        Some("received" | "receiving") | None => {
            let from = get("From").ok_or_else(|| missing("From"))?;
            let from = PhoneNumber::from_e164(from)
                .map_err(|e| TextCallbackRejected(format!("unreadable From: {e}")))?;
            // A message of pictures only has an empty body: a message all the same.
            let body = get("Body").unwrap_or_default().to_owned();
            let intent = match get("OptOutType") {
                // With Advanced Opt-Out, Twilio says which of its (custom) keywords matched.
                Some("STOP") => ReplyIntent::OptOut,
                Some("START") => ReplyIntent::OptIn,
                Some("HELP") => ReplyIntent::Help,
                _ => reply_intent(&body),
            };
            Ok(TextEvent::Inbound(InboundText {
                reference,
                from,
                body,
                intent,
            }))
        }
        Some(status) => {
            let status = text_status(status)
                .ok_or_else(|| TextCallbackRejected(format!("unknown status {status:?}")))?;
            let error_code = get("ErrorCode")
                .filter(|code| !code.is_empty() && *code != "0")
                .map(str::to_owned);
            Ok(TextEvent::Status(TextStatusReport {
                reference,
                status,
                error_code,
            }))
        }
    }
}

/// The form parameters of a `application/x-www-form-urlencoded` body, in order.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Twilio's signed callbacks, verified with the account's auth token: the core's
/// [`TextCallbacks`].
#[derive(Clone)]
pub struct TwilioCallbacks {
    auth_token: String,
}

impl fmt::Debug for TwilioCallbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token: it signs and sends on the account's behalf.
        f.debug_struct("TwilioCallbacks").finish_non_exhaustive()
    }
}

impl TwilioCallbacks {
    /// Callbacks signed with `auth_token` (the account's primary auth token).
    pub fn new(auth_token: impl Into<String>) -> Self {
        TwilioCallbacks {
            auth_token: auth_token.into(),
        }
    }
}

impl TextCallbacks for TwilioCallbacks {
    fn signature_header(&self) -> &'static str {
        SIGNATURE_HEADER
    }

    fn verify(
        &self,
        url: &str,
        body: &[u8],
        signature: &str,
    ) -> Result<TextEvent, TextCallbackRejected> {
        let params = form_params(body);
        if !verify(&self.auth_token, url, &params, signature) {
            return Err(TextCallbackRejected(
                "the X-Twilio-Signature does not match the request".into(),
            ));
        }
        read_callback(&params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn opt_out_keywords_are_whole_replies_in_any_case() {
        for body in [
            "STOP",
            "stop",
            " Stop. ",
            "STOPALL",
            "unsubscribe",
            "Cancel",
            "END",
            "quit!",
            "REVOKE",
            "optout",
        ] {
            assert_eq!(reply_intent(body), ReplyIntent::OptOut, "{body}");
        }
        for body in ["START", "unstop", "Yes", "yes!"] {
            assert_eq!(reply_intent(body), ReplyIntent::OptIn, "{body}");
        }
        for body in ["HELP", "info"] {
            assert_eq!(reply_intent(body), ReplyIntent::Help, "{body}");
        }
        for body in [
            "",
            "please stop",
            "STOP IT",
            "stopp",
            "Yes please",
            "No",
            "ST OP",
        ] {
            assert_eq!(reply_intent(body), ReplyIntent::Message, "{body}");
        }
    }

    #[test]
    fn reads_a_status_callback() {
        let event = read_callback(&params(&[
            ("AccountSid", "AC00000000000000000000000000000001"),
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("SmsSid", "SM0123456789abcdef0123456789abcdef"),
            ("MessageStatus", "undelivered"),
            ("SmsStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("To", "+14155552671"),
            ("From", "+14155550100"),
            ("ApiVersion", "2010-04-01"),
        ]))
        .unwrap();
        assert_eq!(
            event,
            TextEvent::Status(TextStatusReport {
                reference: "SM0123456789abcdef0123456789abcdef".into(),
                status: TextStatus::Undelivered,
                error_code: Some("30003".into()),
            })
        );
        let delivered = read_callback(&params(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "delivered"),
        ]))
        .unwrap();
        assert!(matches!(
            delivered,
            TextEvent::Status(TextStatusReport {
                status: TextStatus::Delivered,
                error_code: None,
                ..
            })
        ));
    }

    #[test]
    fn reads_an_inbound_stop() {
        let event = read_callback(&params(&[
            ("MessageSid", "SM2"),
            ("SmsStatus", "received"),
            ("From", "+14155552671"),
            ("To", "+14155550100"),
            ("Body", "Stop"),
            ("NumMedia", "0"),
        ]))
        .unwrap();
        let TextEvent::Inbound(text) = event else {
            panic!("not inbound: {event:?}");
        };
        assert_eq!(text.from.as_str(), "+14155552671");
        assert_eq!(text.intent, ReplyIntent::OptOut);
        assert_eq!(text.body, "Stop");
    }

    #[test]
    fn advanced_opt_out_says_which_keyword_matched() {
        let event = read_callback(&params(&[
            ("MessageSid", "SM3"),
            ("From", "+14155552671"),
            ("Body", "ARRET"),
            ("OptOutType", "STOP"),
        ]))
        .unwrap();
        assert!(matches!(
            event,
            TextEvent::Inbound(InboundText {
                intent: ReplyIntent::OptOut,
                ..
            })
        ));
    }

    #[test]
    fn unreadable_callbacks_are_refused() {
        for bad in [
            params(&[("MessageStatus", "sent")]),
            params(&[("MessageSid", "SM4"), ("MessageStatus", "exploded")]),
            params(&[("MessageSid", "SM5"), ("Body", "hi")]),
            params(&[
                ("MessageSid", "SM6"),
                ("From", "not a number"),
                ("Body", "hi"),
            ]),
        ] {
            assert!(read_callback(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn verifies_the_body_as_posted() {
        let callbacks = TwilioCallbacks::new("token");
        let url = "https://billing.example.com/texts/status?b=1";
        let body = b"MessageSid=SM7&MessageStatus=sent&To=%2B14155552671";
        let signature = sign("token", url, &form_params(body));
        let event = callbacks.verify(url, body, &signature).unwrap();
        assert!(matches!(
            event,
            TextEvent::Status(TextStatusReport {
                status: TextStatus::Sent,
                ..
            })
        ));
        let tampered = b"MessageSid=SM7&MessageStatus=delivered&To=%2B14155552671";
        assert!(callbacks.verify(url, tampered, &signature).is_err());
        assert!(callbacks.verify(url, body, "").is_err());
        assert_eq!(callbacks.signature_header(), "X-Twilio-Signature");
    }
}
