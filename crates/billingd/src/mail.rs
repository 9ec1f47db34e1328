//! The mailer from configuration: SMTP when a host is given, else the outbox folder.

use std::path::Path;
use std::sync::Arc;

use billing_core::ports::Mailer;
use billing_mail::{OutboxMailer, SmtpMailer, TlsMode};

use crate::cli::MailArgs;
use crate::wiring::AnyError;

/// The configured mailer.
pub fn mailer(args: &MailArgs, data_dir: &Path) -> Result<Arc<dyn Mailer>, AnyError> {
    let Some(host) = &args.smtp_host else {
        let dir = args
            .outbox_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("outbox"));
        let outbox = OutboxMailer::new(&dir, &args.mail_from)?;
        tracing::info!(outbox = %dir.display(), "mail: written to the outbox folder");
        return Ok(Arc::new(outbox));
    };
    let tls: TlsMode = args.smtp_tls.parse()?;
    let mut builder = SmtpMailer::builder(host.clone())
        .tls(tls)
        .from(args.mail_from.clone());
    if let Some(port) = args.smtp_port {
        builder = builder.port(port);
    }
    match (&args.smtp_username, &args.smtp_password) {
        (Some(user), Some(password)) => {
            builder = builder.credentials(user.clone(), password.clone());
        }
        (None, None) => {}
        _ => return Err("--smtp-username and --smtp-password go together".into()),
    }
    let smtp = builder.build()?;
    tracing::info!(%host, port = ?args.smtp_port, tls = %args.smtp_tls, "mail: SMTP");
    Ok(Arc::new(smtp))
}
