//! # billingd
//!
//! The billing service. `billingd serve` wires a store (SQLite by default, Postgres with a
//! `postgres://` URL) and a gateway (the in-process sandbox by default, Stripe with a secret
//! key) into the HTTP API of `billing-http` and the Ops Console of `billing-console`; `demo`,
//! `migrate`, `business create`, `staff add` and `reconcile` are the operator's tasks. See
//! `billingd --help`.
#![forbid(unsafe_code)]

mod chaos;
mod cli;
mod demo;
mod mail;
mod sweep;
mod texts;
mod wiring;
mod workers;

use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Arc;

use billing_console::{Argon2Passwords, Console, ConsoleConfig, StripeDashboard};
use billing_core::billing::{Billing, BulkPacing, HostedPages, NewBusiness, NewStaff, Policy};
use billing_core::ids::BusinessId;
use billing_core::notifier::Notifier;
use billing_core::ports::{Clock, NotificationLog};
use billing_core::staff::SessionLimits;
use billing_http::{AppState, CardForm, HttpConfig, PageUrls, router};
use billing_mail::MailTemplates;
use billing_sandbox::SandboxGateway;
use billing_stripe::StripeWebhooks;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{
    AddStaffArgs, BusinessCommand, Cli, Command, CreateBusinessArgs, LogArgs, LogFormat, ServeArgs,
    StaffCommand, SweepArgs,
};
use wiring::{AnyError, SandboxPlace};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(log_args(&cli.command));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("billingd: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "billingd failed");
            eprintln!("billingd: {error}");
            ExitCode::FAILURE
        }
    }
}

fn log_args(command: &Command) -> &LogArgs {
    match command {
        Command::Serve(args) => &args.log,
        Command::Demo(args) => &args.log,
        Command::Migrate(args) => &args.log,
        Command::Business(BusinessCommand::Create(args)) => &args.log,
        Command::Staff(StaffCommand::Add(args)) => &args.log,
        Command::Reconcile(args) => &args.log,
    }
}

/// Logs go to stderr: stdout carries what the commands print (the listening line, keys).
fn init_logs(args: &LogArgs) {
    // sqlx logs every statement at info; its warnings (slow statements) are what matter here.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal, never in files or collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let installed = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if let Err(error) = installed {
        eprintln!("billingd: logs not set up: {error}");
    }
}

async fn run(command: Command) -> Result<(), AnyError> {
    let clock = wiring::clock_from_env()?;
    match command {
        Command::Serve(args) => serve(*args, clock).await,
        Command::Demo(args) => {
            let (store, _) = wiring::store(&args.store, None).await?;
            let gateway = wiring::gateway(
                &args.gateway,
                SandboxPlace {
                    data_dir: Some(&args.store.data_dir),
                    challenge_base: None,
                },
                Arc::clone(&clock),
            )?;
            let billing = wiring::engine(store, Arc::clone(&gateway.port), clock);
            let made = demo::seed(&billing, false).await?;
            print!("{}", demo::instructions(&made, "http://127.0.0.1:8080"));
            Ok(())
        }
        Command::Migrate(args) => {
            wiring::store(&args.store, None).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Business(BusinessCommand::Create(args)) => create_business(args, clock).await,
        Command::Staff(StaffCommand::Add(args)) => add_staff(args, clock).await,
        Command::Reconcile(args) => {
            let (store, _) = wiring::store(&args.store, None).await?;
            let gateway = wiring::gateway(
                &args.gateway,
                SandboxPlace {
                    data_dir: Some(&args.store.data_dir),
                    challenge_base: None,
                },
                Arc::clone(&clock),
            )?;
            let policy = policy(args.older_than_secs, &args.sweep, BulkPacing::default());
            // Settling a link's payment completes the link and queues its receipt, which the
            // pages' templates write.
            let pages = HostedPages {
                addresses: Arc::new(PageUrls::new(public_url(
                    args.public_url.as_deref(),
                    "http://127.0.0.1:8080",
                )?)),
                link_lifetime: HostedPages::default_lifetime(),
                templates: Arc::new(MailTemplates),
            };
            let billing = wiring::engine(store, Arc::clone(&gateway.port), clock)
                .with_policy(policy)
                .with_hosted_pages(pages);
            reconcile(&billing).await
        }
    }
}

/// The engine's policy from the sweep's settings.
fn policy(reconcile_after_secs: u32, sweep: &SweepArgs, bulk: BulkPacing) -> Policy {
    Policy {
        bulk,
        reconcile_after: chrono::Duration::seconds(i64::from(reconcile_after_secs)),
        authentication_timeout: chrono::Duration::seconds(i64::from(
            sweep.authentication_timeout_secs,
        )),
        event_lookback: chrono::Duration::hours(i64::from(sweep.event_lookback_hours)),
        ..Policy::default()
    }
}

/// `billingd business create`.
async fn create_business(args: CreateBusinessArgs, clock: Arc<dyn Clock>) -> Result<(), AnyError> {
    let (store, _) = wiring::store(&args.store, None).await?;
    // Making a business moves no money: the sandbox stands in for the gateway.
    let gateway = Arc::new(SandboxGateway::new(Arc::clone(&clock)));
    let billing = wiring::engine(store, gateway, clock);
    let issued = billing
        .create_business(NewBusiness {
            name: args.name,
            id: args.id.map(BusinessId::new).transpose()?,
            gateway_account: args.gateway_account,
            email: args.email,
            live: args.live,
        })
        .await?;
    let business = issued.business;
    println!("business: {}", business.id);
    println!("name: {}", business.name);
    if let Some(account) = &business.gateway_account {
        println!("gateway account: {account}");
    }
    if let Some(email) = &business.email {
        println!("notices to: {email}");
    }
    println!("api key: {}", issued.key.expose());
    println!("(only the key's SHA-256 hash is stored: keep the key now, it is not shown again)");
    Ok(())
}

/// `billingd staff add`: a member added to a business, and the link to set their password.
async fn add_staff(args: AddStaffArgs, clock: Arc<dyn Clock>) -> Result<(), AnyError> {
    let (store, _) = wiring::store(&args.store, None).await?;
    let business_id = BusinessId::new(args.business.clone())?;
    let business = store
        .business(&business_id)
        .await?
        .ok_or_else(|| format!("no business {business_id}"))?;
    // Adding a member moves no money: the sandbox stands in for the gateway.
    let gateway = Arc::new(SandboxGateway::new(Arc::clone(&clock)));
    let billing = wiring::engine(store, gateway, clock);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| args.email.split('@').next().unwrap_or_default().to_owned());
    let invited = billing
        .add_staff(
            &business,
            NewStaff {
                email: args.email,
                name,
                role: args.role.into(),
            },
        )
        .await?;
    let base = public_url(args.public_url.as_deref(), "http://127.0.0.1:8080")?;
    println!(
        "staff member: {} ({})",
        invited.member.email, invited.member.id
    );
    println!("business: {}", business.id);
    println!("role: {}", invited.member.role.name());
    println!(
        "set a password within 7 days: {base}{}",
        billing_console::invitation_path(invited.token.expose())
    );
    println!("(the link works once; only its SHA-256 hash is stored)");
    Ok(())
}

/// `billingd reconcile`: one sweep of every business, each thing done printed; fails when
/// something was left for a later sweep.
async fn reconcile(billing: &Billing) -> Result<(), AnyError> {
    let swept = sweep::sweep_all(billing).await?;
    for line in &swept.lines {
        println!("{} {}", line.business, line.text);
    }
    println!("{}", swept.summary());
    match swept.failures() {
        0 => Ok(()),
        failed => Err(format!("{failed} item(s) could not be settled; run it again later").into()),
    }
}

/// `billingd serve`.
async fn serve(args: ServeArgs, clock: Arc<dyn Clock>) -> Result<(), AnyError> {
    // Refused before anything starts: a webhook endpoint without its secret would take
    // anyone's events.
    let webhooks = webhook_verifier(
        args.stripe_webhook_secret.as_deref(),
        args.stripe_connect_webhook_secret.as_deref(),
    )?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    let public_url = public_url(args.pages.public_url.as_deref(), &base)?;
    let (store, readiness) = wiring::store(&args.store, args.database_pool_size).await?;
    let gateway = wiring::gateway(
        &args.gateway,
        SandboxPlace {
            data_dir: Some(&args.store.data_dir),
            challenge_base: Some(format!("{public_url}/sandbox")),
        },
        Arc::clone(&clock),
    )?;
    let pages = HostedPages {
        addresses: Arc::new(PageUrls::new(public_url.clone())),
        link_lifetime: chrono::Duration::hours(i64::from(args.pages.link_lifetime_hours.max(1))),
        templates: Arc::new(MailTemplates),
    };
    let bulk = BulkPacing {
        concurrency: args.bulk_concurrency.max(1),
        rate_per_second: NonZeroU32::new(args.bulk_rate_limit)
            .ok_or("--bulk-rate-limit must be at least 1")?,
        ..BulkPacing::default()
    };
    let policy = Policy {
        automation_lease: chrono::Duration::seconds(i64::from(
            args.automation.automation_lease_secs.max(1),
        )),
        checkout_grace: chrono::Duration::seconds(i64::from(args.automation.checkout_grace_secs)),
        ..policy(args.reconcile_after_secs, &args.sweep, bulk)
    };
    let log: Arc<dyn NotificationLog> = store.clone();
    let billing = wiring::engine(store, Arc::clone(&gateway.port), Arc::clone(&clock))
        .with_policy(policy)
        .with_hosted_pages(pages)
        .with_onboarding(Arc::clone(&gateway.onboarding));
    let mailer = mail::mailer(&args.mail, &args.store.data_dir)?;
    let text_callback_url = format!("{public_url}/v1/webhooks/texts");
    let texts = texts::texts(&args.texts, &args.store.data_dir, &text_callback_url)?;
    let notifier = Notifier::new(log, mailer, Arc::clone(&clock), Arc::new(wiring::UuidIds))
        .with_texts(texts.sender);
    let passwords = Arc::new(Argon2Passwords);
    if args.demo {
        let mut made = demo::seed(&billing, false).await?;
        demo::payment_link(&billing, &mut made).await?;
        demo::staff_login(&billing, &*passwords, &mut made).await?;
        print!("{}", demo::instructions(&made, &base));
    }
    let console = Console::new(
        billing.clone(),
        passwords,
        ConsoleConfig {
            public_url: public_url.clone(),
            sessions: SessionLimits::default(),
            // "See in Stripe" when the gateway is Stripe, in the key's mode.
            stripe_dashboard: args.gateway.stripe_secret_key.as_deref().map(|key| {
                StripeDashboard {
                    test_mode: !key.starts_with("sk_live_") && !key.starts_with("rk_live_"),
                }
            }),
        },
    );
    let config = HttpConfig {
        trusted_proxies: args.pages.trusted_proxies.clone(),
        secure_cookies: public_url.starts_with("https://"),
        ..HttpConfig::default()
    };
    if !config.trusted_proxies.is_empty() {
        tracing::info!(proxies = ?config.trusted_proxies, "X-Forwarded-For believed from these proxies");
    }
    let mut state = AppState::new(billing.clone())
        .with_config(config)
        .with_readiness(readiness);
    if let Some(webhooks) = webhooks {
        state = state.with_webhooks(Arc::new(webhooks));
    }
    if let Some(callbacks) = texts.callbacks {
        state = state.with_text_callbacks(callbacks, text_callback_url);
    }
    let card_form = match (gateway.sandbox_cards(), &args.pages.stripe_publishable_key) {
        (Some(sandbox), _) => Some(CardForm::Sandbox(sandbox)),
        (None, Some(key)) => Some(CardForm::Stripe {
            publishable_key: key.clone(),
        }),
        (None, None) => {
            tracing::warn!(
                "no --stripe-publishable-key: the payment and card pages have no card form"
            );
            None
        }
    };
    if let Some(form) = card_form {
        state = state.with_card_form(form);
    }
    let mut app = router(state).merge(billing_console::routes(console));
    if let Some(sandbox) = &gateway.sandbox {
        // Where the sandbox's next actions send a customer, in place of their bank's page.
        app = app.nest("/sandbox", sandbox.challenge_pages());
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = [
        tokio::spawn(workers::deliver_emails(
            notifier,
            Arc::clone(&clock),
            std::time::Duration::from_millis(args.mail.mail_poll_ms.max(10)),
            args.mail.mail_max_attempts,
            stopped.clone(),
        )),
        tokio::spawn(workers::automation(
            billing.clone(),
            std::time::Duration::from_millis(args.automation.automation_tick_ms),
            args.automation.automation_batch.max(1),
            stopped.clone(),
        )),
        tokio::spawn(workers::sweep(
            billing,
            std::time::Duration::from_secs(args.reconcile_every_secs),
            stopped,
        )),
    ];
    // The one line tests and scripts read to find the service.
    println!("billingd listening on {base}");
    tracing::info!(%address, %public_url, "listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // Requests are done; let the workers finish what they are sending.
    let _ = stop.send(true);
    for worker in workers {
        if let Err(error) = worker.await {
            tracing::warn!(%error, "a background worker ended badly");
        }
    }
    // The sandbox's data folder is released only now, with its last write done.
    drop(gateway);
    tracing::info!("stopped");
    Ok(())
}

/// The webhook endpoint's verifier: none without a secret; with the platform's endpoint's
/// secret, the Connect endpoint's, or both. A secret given but blank (on the command line or
/// in its environment variable) is a mistake, refused.
fn webhook_verifier(
    platform: Option<&str>,
    connect: Option<&str>,
) -> Result<Option<StripeWebhooks>, AnyError> {
    let platform = given(platform, "STRIPE_WEBHOOK_SECRET");
    let connect = given(connect, "STRIPE_CONNECT_WEBHOOK_SECRET");
    let refused = |flag: &str, error| -> AnyError { format!("{flag}: {error}").into() };
    let verifier = match (platform, connect) {
        (None, None) => return Ok(None),
        (Some(platform), connect) => {
            let verifier = StripeWebhooks::new(platform)
                .map_err(|e| refused("--stripe-webhook-secret (STRIPE_WEBHOOK_SECRET)", e))?;
            match connect {
                Some(connect) => verifier.with_connect_secret(connect).map_err(|e| {
                    refused(
                        "--stripe-connect-webhook-secret (STRIPE_CONNECT_WEBHOOK_SECRET)",
                        e,
                    )
                })?,
                None => verifier,
            }
        }
        (None, Some(connect)) => StripeWebhooks::new(connect).map_err(|e| {
            refused(
                "--stripe-connect-webhook-secret (STRIPE_CONNECT_WEBHOOK_SECRET)",
                e,
            )
        })?,
    };
    Ok(Some(verifier))
}

/// A secret from its flag, else its environment variable even when empty (clap takes an empty
/// variable for an absent one: it is looked at here, so that a blank one is refused).
fn given(flag: Option<&str>, variable: &str) -> Option<String> {
    match (flag, std::env::var_os(variable)) {
        (Some(secret), _) => Some(secret.to_owned()),
        (None, Some(value)) => Some(value.to_string_lossy().into_owned()),
        (None, None) => None,
    }
}

/// The public address of the pages: the configured one (an absolute http(s) URL, no query or
/// fragment), or the listening address.
fn public_url(configured: Option<&str>, listening: &str) -> Result<String, AnyError> {
    let Some(url) = configured else {
        return Ok(listening.to_owned());
    };
    let url = url.trim().trim_end_matches('/');
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let host = url.split_once("://").map_or("", |(_, rest)| rest);
    if !scheme_ok || host.is_empty() || url.contains(['?', '#', ' ', '"', '<', '>']) {
        return Err(format!(
            "--public-url {url:?} must be an absolute http(s) URL such as https://pay.example.com"
        )
        .into());
    }
    Ok(url.to_owned())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM: requests in flight finish, new ones are refused.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
