//! The command line: every setting is a flag, most also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use billing_http::TrustedProxy;
use billing_sandbox::MulticaptureAccounts;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// The billing service for booking businesses.
#[derive(Debug, Parser)]
#[command(name = "billingd", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the JSON API.
    // Boxed: the serve flags are many, the other commands' few.
    Serve(Box<ServeArgs>),
    /// Seed a demo business with customers, cards and bookings in every payment state, print
    /// its API key, and exit.
    Demo(DemoArgs),
    /// Apply the store's migrations and exit.
    Migrate(StoreOnlyArgs),
    /// Manage businesses (tenants).
    #[command(subcommand)]
    Business(BusinessCommand),
    /// Manage the people who sign in to the Ops Console.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Sweep every business once, as the service's background worker does, print what it did,
    /// and exit: payments left pending settled from the gateway's records, holds past their
    /// expiry brought in line, and the gateway's recent events read for what webhooks missed.
    Reconcile(ReconcileArgs),
}

/// `billingd business ...`
#[derive(Debug, Subcommand)]
pub enum BusinessCommand {
    /// Create a business and print its id and a new API key (only its SHA-256 hash is stored:
    /// the key is shown once).
    Create(CreateBusinessArgs),
}

/// `billingd staff ...`
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a member to a business's staff and print a one-time link (valid 7 days) where they
    /// set their password.
    Add(AddStaffArgs),
}

/// What a member may do in the console.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Everything, and refunds, settings, staff and API keys.
    Owner,
    /// Charges, collections, captures, holds and links.
    Staff,
}

impl From<RoleArg> for billing_core::staff::StaffRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Owner => billing_core::staff::StaffRole::Owner,
            RoleArg::Staff => billing_core::staff::StaffRole::Staff,
        }
    }
}

/// `billingd staff add`
#[derive(Debug, Clone, Args)]
pub struct AddStaffArgs {
    /// Their sign-in email address.
    pub email: String,
    /// The business (its id).
    #[arg(long, value_name = "ID")]
    pub business: String,
    /// What they may do.
    #[arg(long, value_enum, default_value = "staff")]
    pub role: RoleArg,
    /// Their name, as the payment history shows it; the email's local part when absent.
    #[arg(long)]
    pub name: Option<String>,
    /// The service's public address, for the link.
    #[arg(long, value_name = "URL", env = "BILLINGD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The folder for the default SQLite database, the outbox and the sandbox gateway's
    /// journal (its customers, cards and payments).
    #[arg(long, value_name = "DIR", default_value = "./.data")]
    pub data_dir: PathBuf,
    /// The database: `sqlite://path/file.db` (`sqlite:` URLs) or `postgres://...`; the default
    /// is `billing.db` in the data folder.
    // Hidden in --help: the URL may carry a password.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Which gateway moves the money.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Stripe's secret key (`sk_test_...`, `sk_live_...`): Stripe instead of the sandbox.
    #[arg(
        long,
        value_name = "KEY",
        env = "STRIPE_SECRET_KEY",
        hide_env_values = true
    )]
    pub stripe_secret_key: Option<String>,
    /// Another Stripe API base (a fake Stripe in tests), e.g. `http://127.0.0.1:12111/`.
    #[arg(long, value_name = "URL", env = "STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// Restrict Stripe payments to cards (`allowed_payment_method_types[]=card`); turn off for
    /// servers that refuse the parameter (localstripe).
    #[arg(
        long,
        value_name = "BOOL",
        env = "STRIPE_CARD_ONLY",
        default_value_t = true,
        action = ArgAction::Set
    )]
    pub stripe_card_only: bool,
    /// Sandbox only: how long every gateway call takes, to feel like a remote gateway.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub sandbox_latency_ms: u64,
    /// Sandbox only: at most this many gateway calls a second (calls past it are refused as
    /// rate limited); none when absent.
    #[arg(long, value_name = "PER_SECOND")]
    pub sandbox_rate_limit: Option<u32>,
    /// Sandbox only: which accounts can capture a hold in several parts (Stripe's
    /// multicapture, which Stripe decides per account): `all`, `none`, or connected accounts
    /// `acct_1,acct_2` (the platform's own holds then cannot). Without it, a capture that is
    /// not the last is refused (422 `multicapture_unavailable`).
    #[arg(
        long,
        value_name = "all|none|ACCOUNTS",
        env = "BILLINGD_SANDBOX_MULTICAPTURE",
        default_value = "all",
        value_parser = multicapture_accounts
    )]
    pub sandbox_multicapture: MulticaptureAccounts,
}

/// Reads `--sandbox-multicapture`.
fn multicapture_accounts(text: &str) -> Result<MulticaptureAccounts, String> {
    match text.trim() {
        "all" => Ok(MulticaptureAccounts::All),
        "none" => Ok(MulticaptureAccounts::None),
        list => {
            let accounts: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            let valid = |a: &String| {
                a.len() > 5
                    && a.starts_with("acct_")
                    && a[5..].bytes().all(|b| b.is_ascii_alphanumeric())
            };
            if accounts.is_empty() || !accounts.iter().all(valid) {
                return Err(format!(
                    "{text:?}: give `all`, `none`, or connected accounts such as acct_1A2b,acct_3C4d"
                ));
            }
            Ok(MulticaptureAccounts::Only(accounts))
        }
    }
}

/// The customer-facing pages: payment links and card requests.
#[derive(Debug, Clone, Args)]
pub struct PagesArgs {
    /// The public address of this service as customers reach it (`https://pay.example.com`):
    /// links in emails are built from it, never from a request's Host header. The default is
    /// the listening address.
    #[arg(long, value_name = "URL", env = "BILLINGD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long a payment link or card request works.
    #[arg(long, value_name = "HOURS", default_value_t = 168)]
    pub link_lifetime_hours: u32,
    /// Stripe's publishable key (`pk_test_...`) for the card form of the pages in Stripe mode
    /// (Stripe Elements). Without it, Stripe mode serves no card form.
    #[arg(long, value_name = "KEY", env = "STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,
    /// A proxy (load balancer) in front of the service whose `X-Forwarded-For` is believed, as
    /// an address (`10.0.0.7`) or a CIDR range (`10.0.0.0/8`); repeat it for several, or give a
    /// comma-separated list in the environment. The pages' rate limit then counts each customer
    /// by the address the proxy forwards. Without it the header, which anyone can write, is
    /// ignored, and the limit counts connections' addresses.
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR_OR_CIDR",
        env = "BILLINGD_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<TrustedProxy>,
}

/// Where email goes: an SMTP server, or the outbox folder (the default).
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// The SMTP server; without it, emails are written as `.eml` files to the outbox folder.
    #[arg(long, value_name = "HOST", env = "SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// The SMTP port; the usual one for the TLS mode when absent (25, 587 or 465).
    #[arg(long, value_name = "PORT", env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `none` (a local relay or a test server only), `starttls` or `tls`.
    #[arg(
        long,
        value_name = "MODE",
        env = "SMTP_TLS",
        default_value = "starttls"
    )]
    pub smtp_tls: String,
    /// The SMTP user name.
    #[arg(long, value_name = "USER", env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// The SMTP password.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "SMTP_PASSWORD",
        hide_env_values = true
    )]
    pub smtp_password: Option<String>,
    /// The sender of every email.
    #[arg(
        long,
        value_name = "ADDRESS",
        env = "BILLINGD_MAIL_FROM",
        default_value = "Billing <billing@localhost.localdomain>"
    )]
    pub mail_from: String,
    /// The outbox folder; `outbox` in the data folder when absent.
    #[arg(long, value_name = "DIR")]
    pub outbox_dir: Option<PathBuf>,
    /// How often the delivery worker looks for emails to send.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub mail_poll_ms: u64,
    /// How many times an email is tried before it is given up.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub mail_max_attempts: u32,
}

/// Where texts go: Twilio, or the text outbox folder (the default).
#[derive(Debug, Clone, Args)]
pub struct TextArgs {
    /// The Twilio account (`AC…`); without it, texts are written as `.txt` files to the
    /// text outbox folder.
    #[arg(long, value_name = "SID", env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// The account's auth token: it signs requests to Twilio and Twilio's callbacks to us.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TWILIO_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub twilio_auth_token: Option<String>,
    /// The number texts are sent from (E.164); or give a messaging service instead.
    #[arg(long, value_name = "NUMBER", env = "TWILIO_FROM")]
    pub twilio_from: Option<String>,
    /// The messaging service (`MG…`) texts are sent through, instead of one number.
    #[arg(long, value_name = "SID", env = "TWILIO_MESSAGING_SERVICE_SID")]
    pub twilio_messaging_service: Option<String>,
    /// Twilio's API address (a test server's, in tests).
    #[arg(long, value_name = "URL", env = "TWILIO_API_BASE")]
    pub twilio_api_base: Option<String>,
    /// The text outbox folder; `texts` in the data folder when absent.
    #[arg(long, value_name = "DIR")]
    pub text_outbox_dir: Option<PathBuf>,
}

/// How logs are written (to stderr; stdout is for what the commands print).
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// `text` for people, `json` for log collectors. The level comes from `RUST_LOG`
    /// (default `info`).
    #[arg(long, value_enum, value_name = "FORMAT", env = "BILLINGD_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `billingd serve`
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free port (the line `billingd listening on
    /// http://ADDR` says which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Postgres only: how many connections the store keeps (32 by default). A commit waits for
    /// the WAL flush; concurrent commits share one, so the pool should allow as many as the
    /// requests that commit at once.
    #[arg(long, value_name = "N", env = "DATABASE_POOL_SIZE")]
    pub database_pool_size: Option<u32>,
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// The secret of Stripe's webhook endpoint (`whsec_...`): `POST /v1/webhooks/stripe` is
    /// served only with it.
    #[arg(
        long,
        value_name = "SECRET",
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub stripe_webhook_secret: Option<String>,
    /// The secret of Stripe's Connect webhook endpoint (`whsec_...`), which sends the events
    /// of the businesses' own (connected) accounts: their payments and `account.updated`.
    /// Point it at the same URL; a delivery signed under either secret is taken.
    #[arg(
        long,
        value_name = "SECRET",
        env = "STRIPE_CONNECT_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub stripe_connect_webhook_secret: Option<String>,
    /// How many bookings of a bulk charge are charged at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub bulk_concurrency: usize,
    /// At most this many gateway charges a second from bulk charges.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 25)]
    pub bulk_rate_limit: u32,
    /// Payment links and card requests.
    #[command(flatten)]
    pub pages: PagesArgs,
    /// Email.
    #[command(flatten)]
    pub mail: MailArgs,
    /// Texts.
    #[command(flatten)]
    pub texts: TextArgs,
    /// How often every business is swept: payments left pending settled from the gateway's
    /// records, holds past their expiry brought in line, the gateway's recent events read for
    /// what webhooks missed. 0 turns the background sweep off.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub reconcile_every_secs: u64,
    /// A payment is reconciled by the sweep once pending this long, so that a command still
    /// waiting on the gateway finishes on its own first.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub reconcile_after_secs: u32,
    /// What else the sweep takes up.
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// Payment automation.
    #[command(flatten)]
    pub automation: AutomationArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
    /// Seed a new demo business first (see `billingd demo`) and print its API key and a few
    /// curl lines.
    #[arg(long)]
    pub demo: bool,
}

/// Payment automation's scheduler.
#[derive(Debug, Clone, Args)]
pub struct AutomationArgs {
    /// How often due bookings are looked for (charges, holds, captures, retries, notices by
    /// each business's payment policy). 0 turns automation off in this process.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub automation_tick_ms: u64,
    /// At most this many due bookings are taken at once.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub automation_batch: u32,
    /// How long a taken booking is this process's: past it (the process died), another takes
    /// it again. Longer than a gateway call can take.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub automation_lease_secs: u32,
    /// How long after a booking is stored automation waits before charging or holding it, so
    /// that the business's booking page can start its checkout first (a returning customer's
    /// saved card is not charged under the checkout). 0: at once.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub checkout_grace_secs: u32,
}

/// What a sweep takes up (the engine's policy).
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// How long a payment from a link page may wait for its customer to authenticate (3-D
    /// Secure) before the sweep gives it up, so that the link can be paid again.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub authentication_timeout_secs: u32,
    /// How far back each sweep reads the gateway's events, for changes whose webhook never
    /// arrived (Stripe keeps events 30 days).
    #[arg(long, value_name = "HOURS", default_value_t = 72)]
    pub event_lookback_hours: u32,
}

/// `billingd demo`
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Commands that need only the store.
#[derive(Debug, Clone, Args)]
pub struct StoreOnlyArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `billingd business create`
#[derive(Debug, Clone, Args)]
pub struct CreateBusinessArgs {
    /// The business's name, as customers see it.
    pub name: String,
    /// Its Stripe Connect account (`acct_...`), when the platform acts on its behalf.
    #[arg(long, value_name = "ACCOUNT")]
    pub gateway_account: Option<String>,
    /// Where notices to the business go (a customer paid, a customer saved a card).
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// Its id; made from the name and a random suffix when absent.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Make a live key (`bk_live_...`) rather than a test key (`bk_test_...`).
    #[arg(long)]
    pub live: bool,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `billingd reconcile`
#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Only payments pending for longer than this, so that commands still at the gateway are
    /// left to finish.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        alias = "reconcile-after-secs"
    )]
    pub older_than_secs: u32,
    /// What else the sweep takes up.
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// The public address of the service's pages, as `serve --public-url` gives it; the
    /// default listening address when absent. A sweep that settles a link's payment completes
    /// the link and queues its receipt.
    #[arg(long, value_name = "URL", env = "BILLINGD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Logs.
    #[command(flatten)]
    pub log: LogArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["billingd", "serve"]).expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("serve");
        };
        assert_eq!(args.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(args.bulk_concurrency, 8);
        assert_eq!(args.bulk_rate_limit, 25);
        assert!(args.gateway.stripe_card_only);
        assert!(!args.demo);
        assert_eq!(args.pages.link_lifetime_hours, 168);
        assert_eq!(args.pages.public_url, None);
        assert_eq!(args.mail.smtp_host, None);
        assert_eq!(args.mail.smtp_tls, "starttls");
        assert_eq!(args.reconcile_every_secs, 60);
        assert_eq!(args.reconcile_after_secs, 300);
        assert_eq!(args.sweep.authentication_timeout_secs, 3600);
        assert_eq!(args.sweep.event_lookback_hours, 72);
        assert_eq!(args.gateway.sandbox_multicapture, MulticaptureAccounts::All);
        assert!(args.pages.trusted_proxies.is_empty());
    }

    fn serve_args(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["billingd", "serve"].iter().chain(flags))?;
        match cli.command {
            Command::Serve(args) => Ok(*args),
            other => panic!("serve, not {other:?}"),
        }
    }

    #[test]
    fn sandbox_multicapture_takes_all_none_or_accounts() {
        let multicapture = |value: &str| {
            serve_args(&["--sandbox-multicapture", value]).map(|a| a.gateway.sandbox_multicapture)
        };
        assert_eq!(multicapture("none").ok(), Some(MulticaptureAccounts::None));
        assert_eq!(multicapture("all").ok(), Some(MulticaptureAccounts::All));
        assert_eq!(
            multicapture("acct_1A, acct_2B").ok(),
            Some(MulticaptureAccounts::Only(vec![
                "acct_1A".to_owned(),
                "acct_2B".to_owned()
            ]))
        );
        for refused in ["", "some", "acct_", "acct_1,cus_2", "acct_1;drop"] {
            let error = multicapture(refused).err().map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains("--sandbox-multicapture")),
                "{refused:?}: {error:?}"
            );
        }
    }

    #[test]
    fn trusted_proxies_repeat_and_refuse_what_is_no_address() {
        let args = serve_args(&[
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "192.0.2.7",
        ])
        .expect("parses");
        let proxies: Vec<String> = args
            .pages
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.7"]);
        let refused = serve_args(&["--trusted-proxy", "10.0.0.0/33"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("--trusted-proxy"), "{refused}");
    }

    #[test]
    fn reconcile_takes_the_sweep_settings() {
        let cli = Cli::try_parse_from([
            "billingd",
            "reconcile",
            "--reconcile-after-secs",
            "0",
            "--event-lookback-hours",
            "1",
        ])
        .expect("parses");
        let Command::Reconcile(args) = cli.command else {
            panic!("reconcile");
        };
        assert_eq!(args.older_than_secs, 0);
        assert_eq!(args.sweep.event_lookback_hours, 1);
    }

    #[test]
    fn business_create_takes_store_flags_after_the_name() {
        let cli = Cli::try_parse_from([
            "billingd",
            "business",
            "create",
            "Sparkle Home Cleaning",
            "--database-url",
            "sqlite://x.db",
            "--data-dir",
            "/tmp/d",
            "--gateway-account",
            "acct_123",
        ])
        .expect("parses");
        let Command::Business(BusinessCommand::Create(args)) = cli.command else {
            panic!("business create");
        };
        assert_eq!(args.name, "Sparkle Home Cleaning");
        assert_eq!(args.store.database_url.as_deref(), Some("sqlite://x.db"));
        assert_eq!(args.gateway_account.as_deref(), Some("acct_123"));
    }
}
