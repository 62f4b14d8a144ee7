//! `caseledger serve`: the HTTP API over a ledger folder, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 账本目录（不存在则创建） / The ledger folder (created when absent).
    #[arg(long)]
    data: PathBuf,
    /// 监听地址（默认 127.0.0.1:8080） / Address to listen on (default 127.0.0.1:8080, loopback).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// 配置文件（TOML，见 ops/server.toml） / Configuration file (TOML, see ops/server.toml).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Structured logs as JSON lines on stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs `serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_tracing();
    let config = caseledger_server::run::load_config(args.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(caseledger_server::run::serve_folder(
        &args.data,
        args.listen,
        &config,
        |address| println!("正在服务 / serving on http://{address}  (Ctrl-C 停止 / to stop)"),
    ))?;
    Ok(ExitCode::SUCCESS)
}
