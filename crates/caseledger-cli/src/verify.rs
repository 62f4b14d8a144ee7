//! `caseledger verify`: exit 0 when sound, 1 naming the first broken position, 2 on usage or
//! I/O errors.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use caseledger_log::{ErrorKind, Ledger, LedgerOptions};

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 账本目录 / The ledger folder.
    #[arg(long)]
    data: PathBuf,
    /// 输出 JSON / Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What `verify` prints with `--json`.
#[derive(serde::Serialize)]
struct Report {
    ok: bool,
    records: u64,
    head_hash: Option<String>,
    broken_at: Option<u64>,
    reason: Option<String>,
    records_per_second: Option<f64>,
}

fn print(report: &Report, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else if report.ok {
        println!(
            "账本完好 / ledger sound: {} records, head hash {}",
            report.records,
            report.head_hash.as_deref().unwrap_or("-")
        );
    } else {
        match report.broken_at {
            Some(position) => {
                println!("账本在位置 {position} 损坏 / ledger broken at position {position}")
            }
            None => println!("账本损坏 / ledger broken"),
        }
        if let Some(reason) = &report.reason {
            println!("{reason}");
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report of a ledger that did not open: nothing checked, and why.
fn unopened(broken_at: Option<u64>, reason: String) -> Report {
    Report {
        ok: false,
        records: 0,
        head_hash: None,
        broken_at,
        reason: Some(reason),
        records_per_second: None,
    }
}

/// sled's cache while verifying.
const VERIFY_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// What to do instead when the folder is being served.
const VERIFY_WHILE_SERVED: &str = "服务运行时可通过 GET /api/v1/audit/verify 校验 / while it is \
                                   served, verify it through GET /api/v1/audit/verify";

/// Runs `verify`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // One pass over the log gains nothing from a large cache; a small one keeps the process
    // small on a ledger of many millions of records.
    let mut options = LedgerOptions::new("");
    options.cache_bytes = VERIFY_CACHE_BYTES;
    let ledger = match Ledger::open_existing(&args.data, options) {
        Ok(ledger) => ledger,
        // Refusing to open is a verdict on the ledger, not an I/O failure.
        Err(error) => match error.kind() {
            ErrorKind::Corrupt { position, .. } => {
                return print(&unopened(Some(*position), error.to_string()), args.json);
            }
            ErrorKind::Head { .. } => {
                return print(&unopened(None, error.to_string()), args.json);
            }
            _ => {
                // Still one object on stdout for a script reading `--json`; the exit code (2)
                // says the ledger could not be read, the reason says why.
                let error = crate::opening_error(error, VERIFY_WHILE_SERVED);
                if args.json {
                    let report = unopened(None, format!("{error:#}"));
                    println!("{}", serde_json::to_string(&report)?);
                }
                return Err(error);
            }
        },
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(ledger.head().position);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let start = std::time::Instant::now();
    let result = ledger.verify(|done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = Report {
        ok: result.ok,
        records: result.records,
        head_hash: Some(result.head_hash.to_hex()),
        broken_at: result.broken_at,
        reason: result.reason,
        records_per_second: (seconds > 0.0).then(|| result.records as f64 / seconds),
    };
    print(&report, args.json)
}
