//! The outbox: every message an `.eml` file in a folder.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use billing_core::notification::OutboundMessage;
use billing_core::ports::{MailError, MailReceipt, Mailer};
use lettre::message::Mailbox;

use crate::MailConfigError;
use crate::message::{email, sender};

/// The embedded default mailer: writes each message as an RFC 5322 `.eml` file into a folder,
/// for a relay or pickup service to send, or a person to read.
///
/// A file appears whole or not at all: it is written under a hidden temporary name (`.` first,
/// so pickup services skip it), synced to disk, then renamed to `<time-ordered uuid>.eml`. The
/// "server reply" of a send is the file's path.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// An outbox in `dir` (created when missing), sending as `from` (`billing@example.com` or
    /// `Billing <billing@example.com>`).
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailConfigError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| MailConfigError::Outbox {
            path: dir.clone(),
            source,
        })?;
        Ok(OutboxMailer {
            dir,
            from: sender(from)?,
        })
    }

    /// The outbox folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: &OutboundMessage) -> Result<MailReceipt, MailError> {
        let bytes = email(&self.from, message)?.formatted();
        let dir = self.dir.clone();
        // File writes and fsync block: off the async workers.
        let path = tokio::task::spawn_blocking(move || write_whole(&dir, &bytes))
            .await
            .map_err(|e| MailError::Temporary(format!("outbox writer stopped: {e}")))??;
        Ok(MailReceipt {
            server_reply: path.display().to_string(),
        })
    }
}

/// Writes `bytes` to a new `.eml` file in `dir` so that no reader ever sees part of it.
/// Failures are temporary: a full disk or a missing permission can be put right.
fn write_whole(dir: &Path, bytes: &[u8]) -> Result<PathBuf, MailError> {
    let failed = |what: &str, e: std::io::Error| {
        MailError::Temporary(format!("outbox {}: {what}: {e}", dir.display()))
    };
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .suffix(".eml.tmp")
        .tempfile_in(dir)
        .map_err(|e| failed("cannot create a file", e))?;
    file.write_all(bytes)
        .map_err(|e| failed("cannot write", e))?;
    file.as_file()
        .sync_all()
        .map_err(|e| failed("cannot sync", e))?;
    // Time-ordered, so that a listing shows the messages in the order they were sent.
    let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7().simple()));
    file.persist(&path)
        .map_err(|e| failed("cannot rename", e.error))?;
    // The rename is durable only once the folder itself is synced.
    File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(|e| failed("cannot sync the folder", e))?;
    Ok(path)
}
