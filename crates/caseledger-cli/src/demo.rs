//! `caseledger demo`: create (or reopen) ./demo-data with a synthetic year of the sample
//! county, write one token per sample principal, and serve it on 127.0.0.1:8080.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use caseledger_server::demo::{run_demo, DemoOptions, DEMO_CASES_DEFAULT, DEMO_CASES_MAX};

/// Arguments of `demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 演示目录 / The demo folder.
    #[arg(long, default_value = "demo-data")]
    data: PathBuf,
    /// 首次运行时模拟的投诉件数（1 至 100000）/ Complaints to simulate on first run (1 to
    /// 100,000).
    #[arg(long, default_value_t = DEMO_CASES_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..=DEMO_CASES_MAX))]
    cases: u64,
    /// 监听地址（可写主机名如 localhost:8080） / Address to listen on (a host name such as
    /// localhost:8080 works too).
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::serve::parse_listen)]
    listen: SocketAddr,
}

/// Runs `demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::serve::init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let options = DemoOptions {
        dir: args.data,
        cases: args.cases,
        listen: args.listen,
    };
    // The signal handlers must be installed inside the runtime.
    let result = runtime.block_on(async {
        run_demo(
            options,
            caseledger_server::serve::termination_signal(),
            |line| println!("{line}"),
        )
        .await
    });
    // Stopped while generating, the year's thread is still appending: leave it, as a
    // signal would, rather than wait for the whole year.
    runtime.shutdown_background();
    result?;
    Ok(ExitCode::SUCCESS)
}
