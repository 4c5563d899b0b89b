//! `cargo run -p migration -- <command>`: the app-db command line.

mod cli;
mod commands;
mod exit;
mod journal_json;
mod output;
mod snapshot;
mod target;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, so println! to a closed pipe (`migration status | head`) would
    // panic. Die of the signal like other command-line tools; a migration interrupted that way
    // loses its connection, so its transaction rolls back.
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" to clap; print them as it would.
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE.into()
            } else {
                exit::OK.into()
            };
        }
    };
    init_logging(cli.global.verbose);
    // One thread: a command is one sequence of round trips to the server, so worker threads
    // would only hand every reply from the thread that reads the socket to the one that waits
    // for it (about three context switches per round trip instead of one), and cost memory.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return exit::ERROR.into();
        }
    };
    let code = runtime.block_on(commands::run(cli));
    code.into()
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,app_db=info,migration=info",
        1 => "info,sqlx=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("APP_DB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}
