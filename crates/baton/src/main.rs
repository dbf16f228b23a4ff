//! `baton`: serve, demo, bench. Parsing and wiring only; the work is in the library crates.

mod bench;
mod cli;
mod demo;

use clap::Parser;

fn main() -> std::process::ExitCode {
    return_big_blocks_to_the_os();
    let cli = cli::Cli::parse();
    init_tracing(cli.log_filter(), cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to standard error: colour only on a terminal (a file or pipe gets plain text),
/// or one JSON object per line with `--log-format json`.
fn init_tracing(filter: Option<&str>, format: cli::LogFormat) {
    use std::io::IsTerminal;
    let filter = filter
        .map(str::to_owned)
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Json => builder.json().flatten_event(true).init(),
        cli::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// glibc keeps freed large blocks in its heap, so every argon2 login (19 MiB of scratch)
/// would leave the process looking a gigabyte large after a few hundred logins. Serving
/// blocks of 128 KiB and more with mmap gives them back when freed (BENCHMARKS.md).
fn return_big_blocks_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
