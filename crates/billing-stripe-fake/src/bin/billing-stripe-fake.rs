//! The fake Stripe as a process of its own, for tests where it must outlive the service under
//! test (a crash campaign). It serves the Stripe API under `/v1/` and the control API under
//! `/_fake/` (see the crate docs), on 127.0.0.1.
//!
//! The first line it prints is `listening on http://127.0.0.1:PORT`; then the API key and the
//! webhook signing secret. It stops on Ctrl-C, SIGTERM or `POST /_fake/shutdown`.

use std::io::Write;
use std::process::ExitCode;

use billing_stripe_fake::{FakeStripe, FakeStripeConfig};

const USAGE: &str = "\
usage: billing-stripe-fake [--port PORT] [--secret-key KEY] [--webhook-secret SECRET]
                           [--webhook-url URL] [--seed N]

  --port PORT              port on 127.0.0.1 (default 0: any free port)
  --secret-key KEY         the API key to accept (default: a random sk_test_fake...)
  --webhook-secret SECRET  the webhook signing secret (default: a random whsec_...)
  --webhook-url URL        deliver every event there, signed, by HTTP POST (http:// only)
  --seed N                 seed of the webhook delivery's random choices (default 0)";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve(FakeStripeConfig),
    Help,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = FakeStripeConfig::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--port" => {
                let port = value()?;
                config.port = port
                    .parse()
                    .map_err(|_| format!("--port: not a port: {port}"))?;
            }
            "--secret-key" => config.secret_key = Some(value()?),
            "--webhook-secret" => config.webhook_secret = Some(value()?),
            "--webhook-url" => config.webhook_url = Some(value()?),
            "--seed" => {
                let seed = value()?;
                config.seed = seed
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {seed}"))?;
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Command::Serve(config))
}

/// Resolves on SIGTERM (never elsewhere than on Unix).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1)) {
        Ok(Command::Serve(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("billing-stripe-fake: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fake = match FakeStripe::start_with(config).await {
        Ok(fake) => fake,
        Err(err) => {
            eprintln!("billing-stripe-fake: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    // One write, so that a reader that stops after the first line does not cut the rest;
    // and a reader gone early is no reason to stop serving.
    let banner = format!(
        "listening on http://{}\nsecret key: {}\nwebhook secret: {}\n",
        fake.addr(),
        fake.secret_key(),
        fake.webhook_secret()
    );
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_all(banner.as_bytes()).and_then(|()| out.flush()) {
        eprintln!("billing-stripe-fake: cannot print the address: {err}");
    }
    drop(out);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated() => {}
        () = fake.stopped() => {}
    }
    fake.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn command_line() {
        let parsed = parse(args(
            "--port 4242 --secret-key sk_test_x --webhook-secret=whsec_y --webhook-url http://127.0.0.1:9/hook --seed 7",
        ));
        assert_eq!(
            parsed,
            Ok(Command::Serve(FakeStripeConfig {
                port: 4242,
                secret_key: Some("sk_test_x".into()),
                webhook_secret: Some("whsec_y".into()),
                webhook_url: Some("http://127.0.0.1:9/hook".into()),
                seed: 7,
            }))
        );
        assert_eq!(
            parse(args("")),
            Ok(Command::Serve(FakeStripeConfig::default()))
        );
        assert_eq!(parse(args("--help")), Ok(Command::Help));
        assert!(parse(args("--port")).is_err());
        assert!(parse(args("--port http")).is_err());
        assert!(parse(args("--colour")).is_err());
    }
}
