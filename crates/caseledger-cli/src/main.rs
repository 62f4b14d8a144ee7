//! `caseledger`: the ledger's command line. One module per subcommand; a new subcommand adds
//! its module, one variant to [`Command`] and one arm to `main`.
//!
//! Exit codes: 0 success, 1 the ledger is broken (verify), 2 usage or I/O errors.

mod bench;
mod demo;
mod keygen;
mod log;
mod rebuild;
mod serve;
mod token;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the C library's allocator: the writer, the projections and the
/// request handlers make many small, short-lived allocations on few cores.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 监管案件账本命令行 / The caseledger command line.
#[derive(Parser, Debug)]
#[command(name = "caseledger", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// 校验账本 / Verify every record, link, stream version and index of a ledger.
    Verify(verify::Args),
    /// 输出记录 / Print records as JSON lines.
    Log(log::Args),
    /// 性能测试 / Append synthetic records through the real writer, then verify them.
    Bench(bench::Args),
    /// 提供 HTTP 接口 / Serve the HTTP API over a ledger folder.
    Serve(serve::Args),
    /// 访问令牌 / Issue, revoke or list bearer tokens.
    Token(token::Args),
    /// 演示 / Create (or reopen) ./demo-data with a synthetic county year and serve it.
    Demo(demo::Args),
    /// 生成检查点签名密钥 / Generate the checkpoint signing key (0600) and its verifier key.
    Keygen(keygen::Args),
    /// 重建投影 / Rebuild projections from the log into new generations and swap them in.
    Rebuild(rebuild::Args),
}

/// Exit status for usage and I/O errors.
pub const EXIT_USAGE_OR_IO: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => verify::run(args),
        Command::Log(args) => log::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Token(args) => token::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Rebuild(args) => rebuild::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("错误 / error: {error:#}");
            ExitCode::from(EXIT_USAGE_OR_IO)
        }
    }
}

/// An error from opening a ledger folder, with `in_use` added when the folder was open in
/// another process (a running service): what to do then depends on the command.
fn opening_error(error: caseledger_log::Error, in_use: &str) -> anyhow::Error {
    let error = match error.kind() {
        caseledger_log::ErrorKind::InUse { .. } => anyhow::anyhow!("{error}; {in_use}"),
        _ => anyhow::Error::new(error),
    };
    error.context("opening the ledger")
}
