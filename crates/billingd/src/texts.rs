//! The text outbox: the embedded default text sender, as the mail outbox is for email. Each
//! text is a file in a folder, for a gateway script or a person to pick up.
//!
//! It lives here rather than in an adapter crate: it is a few lines of file writing with no
//! technology of its own, and the only adapter about texts (`billing-twilio`) is Twilio's,
//! which adapters' independence keeps from holding the default. [`texts`] picks the sender
//! from the command line.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use async_trait::async_trait;
use billing_core::ports::{
    OutboundText, TextCallbacks, TextError, TextReceipt, TextSender, TextStatus,
};
use billing_twilio::{TwilioCallbacks, TwilioTexts};

use crate::cli::TextArgs;
use crate::wiring::AnyError;

/// Texts as configured: the sender, and with Twilio, the verifier of its callbacks.
pub struct Texts {
    /// Sends the texts.
    pub sender: Arc<dyn TextSender>,
    /// Checks the provider's signed callbacks; none for the outbox, which has none.
    pub callbacks: Option<Arc<dyn TextCallbacks>>,
}

/// The configured texts: Twilio when an account is given, else the outbox folder
/// (`texts` in `data_dir`). Twilio's status callbacks are asked to go to `callback_url`.
pub fn texts(args: &TextArgs, data_dir: &Path, callback_url: &str) -> Result<Texts, AnyError> {
    let Some(account) = &args.twilio_account_sid else {
        if args.twilio_auth_token.is_some()
            || args.twilio_from.is_some()
            || args.twilio_messaging_service.is_some()
        {
            return Err("the Twilio options need --twilio-account-sid".into());
        }
        let dir = args
            .text_outbox_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("texts"));
        let outbox = TextOutbox::new(&dir)
            .map_err(|e| format!("cannot use the text outbox {}: {e}", dir.display()))?;
        tracing::info!(outbox = %outbox.dir().display(), "texts: written to the text outbox folder");
        return Ok(Texts {
            sender: Arc::new(outbox),
            callbacks: None,
        });
    };
    let token = args
        .twilio_auth_token
        .clone()
        .ok_or("--twilio-account-sid needs --twilio-auth-token")?;
    let mut builder =
        TwilioTexts::builder(account.clone(), token.clone()).status_callback(callback_url);
    builder = match (&args.twilio_from, &args.twilio_messaging_service) {
        (Some(from), None) => builder.from(from.clone()),
        (None, Some(service)) => builder.messaging_service(service.clone()),
        _ => return Err("give one of --twilio-from and --twilio-messaging-service".into()),
    };
    if let Some(base) = &args.twilio_api_base {
        builder = builder.api_base(base.clone());
    }
    let sender = builder.build()?;
    tracing::info!(account = %account, callbacks = %callback_url, "texts: Twilio");
    Ok(Texts {
        sender: Arc::new(sender),
        callbacks: Some(Arc::new(TwilioCallbacks::new(token))),
    })
}

/// Writes each text as `<time-ordered uuid>.txt` into a folder: a `To:` line with the number
/// in E.164, a blank line, then the text as sent.
///
/// A file appears whole or not at all: it is written under a hidden temporary name (`.` first,
/// so pickup scripts skip it), synced, then renamed. The receipt's reference is the file's
/// path, and its status `Queued`: the outbox cannot know more.
#[derive(Debug, Clone)]
pub struct TextOutbox {
    dir: PathBuf,
}

impl TextOutbox {
    /// An outbox in `dir`, created when missing.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(TextOutbox { dir })
    }

    /// The outbox folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl TextSender for TextOutbox {
    async fn send(&self, message: &OutboundText) -> Result<TextReceipt, TextError> {
        let contents = format!("To: {}\n\n{}", message.to, message.body);
        let dir = self.dir.clone();
        // File writes and fsync block: off the async workers.
        let path = tokio::task::spawn_blocking(move || write_whole(&dir, contents.as_bytes()))
            .await
            .map_err(|e| TextError::Temporary(format!("text outbox writer stopped: {e}")))??;
        Ok(TextReceipt {
            reference: path.display().to_string(),
            status: TextStatus::Queued,
        })
    }
}

/// Writes `bytes` to a new `.txt` file in `dir` so that no reader ever sees part of it.
/// Failures are temporary: a full disk or a missing permission can be put right.
fn write_whole(dir: &Path, bytes: &[u8]) -> Result<PathBuf, TextError> {
    let failed = |what: &str, e: std::io::Error| {
        TextError::Temporary(format!("text outbox {}: {what}: {e}", dir.display()))
    };
    // Time-ordered, so that a listing shows the texts in the order they were sent.
    let name = uuid::Uuid::now_v7().simple().to_string();
    let hidden = dir.join(format!(".{name}.txt.tmp"));
    let path = dir.join(format!("{name}.txt"));
    let written = File::create_new(&hidden)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|e| failed("cannot write", e));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&hidden);
        return Err(error);
    }
    std::fs::rename(&hidden, &path).map_err(|e| failed("cannot rename", e))?;
    // The rename is durable only once the folder itself is synced.
    File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(|e| failed("cannot sync the folder", e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use billing_core::phone::PhoneNumber;

    use super::*;

    fn text(to: &str, body: &str) -> OutboundText {
        OutboundText {
            to: PhoneNumber::from_e164(to).unwrap(),
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn each_text_is_a_whole_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = TextOutbox::new(dir.path().join("texts")).unwrap();
        let first = outbox
            .send(&text(
                "+14155552671",
                "Acme: pay 20.00 USD at https://pay.example/l/1",
            ))
            .await
            .unwrap();
        let second = outbox
            .send(&text("+447400123456", "Two lines\n\nand a gap"))
            .await
            .unwrap();
        assert_eq!(first.status, TextStatus::Queued);
        let mut names: Vec<String> = std::fs::read_dir(outbox.dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
        assert!(
            names
                .iter()
                .all(|name| name.ends_with(".txt") && !name.starts_with('.'))
        );
        assert_eq!(
            std::fs::read_to_string(&first.reference).unwrap(),
            "To: +14155552671\n\nAcme: pay 20.00 USD at https://pay.example/l/1"
        );
        assert_eq!(
            std::fs::read_to_string(&second.reference).unwrap(),
            "To: +447400123456\n\nTwo lines\n\nand a gap"
        );
        assert!(first.reference.ends_with(&names[0]), "time-ordered names");
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_a_temporary_failure() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = TextOutbox::new(dir.path().join("texts")).unwrap();
        std::fs::remove_dir(outbox.dir()).unwrap();
        let error = outbox.send(&text("+14155552671", "hi")).await.unwrap_err();
        assert!(error.is_temporary(), "{error}");
    }

    fn args(flags: &[&str]) -> TextArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            texts: TextArgs,
        }
        let mut all = vec!["billingd"];
        all.extend_from_slice(flags);
        Cli::try_parse_from(all).unwrap().texts
    }

    #[test]
    fn texts_go_to_the_outbox_unless_twilio_is_set_up_whole() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://billing.example.com/v1/webhooks/texts";
        let outbox = texts(&args(&[]), dir.path(), url).unwrap();
        assert!(outbox.callbacks.is_none());
        assert!(dir.path().join("texts").is_dir());
        let twilio = texts(
            &args(&[
                "--twilio-account-sid",
                "AC0123456789abcdef0123456789abcdef",
                "--twilio-auth-token",
                "token",
                "--twilio-from",
                "+15005550006",
            ]),
            dir.path(),
            url,
        )
        .unwrap();
        assert!(twilio.callbacks.is_some());
        for (flags, says) in [
            (
                &["--twilio-from", "+15005550006"][..],
                "need --twilio-account-sid",
            ),
            (
                &["--twilio-account-sid", "AC1"][..],
                "needs --twilio-auth-token",
            ),
            (
                &["--twilio-account-sid", "AC1", "--twilio-auth-token", "t"][..],
                "give one of",
            ),
            (
                &[
                    "--twilio-account-sid",
                    "AC1",
                    "--twilio-auth-token",
                    "t",
                    "--twilio-from",
                    "+15005550006",
                    "--twilio-messaging-service",
                    "MG1",
                ][..],
                "give one of",
            ),
        ] {
            let error = texts(&args(flags), dir.path(), url).err().unwrap();
            assert!(error.to_string().contains(says), "{flags:?}: {error}");
        }
    }
}
