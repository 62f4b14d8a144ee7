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
    /// 监听地址（默认 127.0.0.1:8080，可写主机名如 localhost:8080） / Address to listen on
    /// (default 127.0.0.1:8080, loopback; a host name such as localhost:8080 works too).
    #[arg(long, value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// 配置文件（TOML，见 ops/server.toml） / Configuration file (TOML, see ops/server.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// 核对后重建默克尔树：日志仍与最新签名检查点一致时，从日志重建存储的树（树损坏而拒绝启动时使用）/
    /// Rebuild the stored Merkle tree from the log, only if the log still reproduces the
    /// latest signed checkpoint (for a start refused because the stored tree is damaged).
    #[arg(long)]
    repair_evidence_tree: bool,
}

/// Structured logs as JSON lines on stderr; `RUST_LOG` filters (default `info`).
/// A `--listen` address: `IP:PORT`, or `HOST:PORT` resolved to its first address
/// (`localhost:8080` is 127.0.0.1:8080 or [::1]:8080, as the system resolves it).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    use std::net::ToSocketAddrs as _;
    match text.to_socket_addrs() {
        Ok(mut addresses) => addresses
            .next()
            .ok_or_else(|| format!("{text} resolves to no address / 无法解析")),
        Err(error) => Err(format!(
            "not an address such as 127.0.0.1:8080 or localhost:8080 / 不是有效地址: {error}"
        )),
    }
}

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
    let mut config = caseledger_server::run::load_config(args.config.as_deref())?;
    config.repair_evidence_tree = args.repair_evidence_tree;
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
