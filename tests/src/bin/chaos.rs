//! The crash campaign and the webhook campaign against the real binaries: run by
//! `cargo xtask chaos [--runs N] [--seed S] [--jobs J]`, which builds `billingd` and
//! `billing-stripe-fake` first and names them in `BILLINGD_BINARY` and
//! `BILLING_STRIPE_FAKE_BINARY`. See docs/reliability.md.
#![forbid(unsafe_code)]

#[path = "../chaos/mod.rs"]
mod chaos;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", chaos::USAGE);
        return ExitCode::SUCCESS;
    }
    let options = match chaos::Options::parse(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("chaos: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chaos: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(chaos::main(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chaos: {error}");
            ExitCode::FAILURE
        }
    }
}
