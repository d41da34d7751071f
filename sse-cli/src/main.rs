//! The `sse` command: `sse serve` runs a hub with a live dashboard and a
//! publish endpoint; `sse cat` is a spec-conformant client; `sse token`
//! mints the tokens `sse serve` verifies.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

mod cat;
mod serve;
mod token;

/// Server-Sent Events from the command line.
#[derive(Debug, Parser)]
#[command(name = "sse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve an event stream at /events, a publish endpoint at /publish and
    /// a live dashboard at /.
    Serve(Box<serve::Args>),
    /// Connect to an event stream (or read one from stdin) and print its
    /// events, as a browser's EventSource sees them.
    Cat(cat::Args),
    /// Mint a JWT for `sse serve --publish-key` or `--subscribe-key`
    /// (signed with an HMAC secret file or a PEM private key).
    Token(token::Args),
    /// Print a completion script for a shell (bash, zsh, fish, elvish,
    /// powershell): `sse completions bash > /etc/bash_completion.d/sse`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `sse man > /usr/local/share/man/man1/sse.1`.
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Cat(args) => cat::run(args),
        Command::Token(args) => token::run(&args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "sse", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sse: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
