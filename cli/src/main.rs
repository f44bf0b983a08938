//! `soku`: the one binary. It parses the command line and hands each command to the library that does it.

mod admin;

use clap::{Parser, Subcommand};
use soku_shared::config::Settings;

#[derive(Parser)]
#[command(name = "soku", version, about = "Soku: a self-hostable publishing API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API and every worker in one process.
    Serve,
    /// The API only.
    Api,
    /// Workers only; run as many as you like.
    Worker {
        /// Comma-separated queues to serve (default: all).
        #[arg(long, value_delimiter = ',')]
        queues: Option<Vec<String>>,
    },
    /// Apply database migrations.
    Migrate,
    /// Operator commands; each prints one JSON object.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // One line, as every failure of the CLI: the parser's message without its usage block.
            let text = e.render().to_string();
            let first = text
                .split("\n\n")
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("{first} (see `soku --help`)");
            std::process::exit(2);
        }
    };
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = init_logging(&settings.log) {
        eprintln!("error: invalid configuration: SOKU_LOG: {e}");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(run_command(cli.command, settings));
    if let Err(e) = result {
        eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
        std::process::exit(1);
    }
}

async fn run_command(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            settings.require_master_key()?;
            let workers = soku_worker::run(settings.clone(), all_queues(), shutdown_signal());
            let api = soku_api::run(settings, shutdown_signal());
            let (a, w) = tokio::join!(api, workers);
            a.and(w)
        }
        Command::Api => {
            settings.require_master_key()?;
            soku_api::run(settings, shutdown_signal()).await
        }
        Command::Worker { queues } => {
            let queues = queues.unwrap_or_else(all_queues);
            soku_worker::run_process(settings, queues, shutdown_signal()).await
        }
        Command::Migrate => {
            let db = soku_shared::store::connect(settings.database_url(), 2).await?;
            soku_shared::store::MIGRATOR.run(&db).await?;
            println!("{}", serde_json::json!({ "migrated": true }));
            Ok(())
        }
        Command::Admin(cmd) => admin::run(cmd, &settings).await,
    }
}

fn all_queues() -> Vec<String> {
    soku_worker::QUEUES.iter().map(|q| q.to_string()).collect()
}

fn init_logging(filter: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| {
        format!("`{filter}` is not a log filter such as `info` or `warn,soku_api=debug` ({e})")
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
