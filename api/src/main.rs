//! `swiftacare` — see `swiftacare --help` and README.md.

use clap::Parser;
use swiftacare_api::cli::{Cli, run};
use swiftacare_api::config::Config;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}\nSee docs/CONFIGURATION.md for every variable.");
            return std::process::ExitCode::from(2);
        }
    };
    swiftacare_api::telemetry::init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
