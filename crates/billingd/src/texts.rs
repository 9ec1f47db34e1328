//! The text outbox: the embedded default text sender, as the mail outbox is for email. Each
//! text is a file in a folder, for a gateway script or a person to pick up.
//!
//! It lives here rather than in an adapter crate: it is a few lines of file writing with no
//! technology of its own, and the only adapter about texts (`billing-twilio`) is Twilio's,
//! which adapters' independence keeps from holding the default. Not wired into the command
//! line yet: that comes with texts in the notifications.
#![cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "wired into `serve` with texts in the notifications"
    )
)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use billing_core::ports::{OutboundText, TextError, TextReceipt, TextSender, TextStatus};

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
}
