//! `caseledger rebuild`: rebuilds projections from the log into new generations and swaps
//! them in, with a progress bar (records/s) and a summary. Until a swap, the old generation
//! stays in service; an interrupted rebuild resumes the next time the ledger is opened.
//!
//! Exit codes: 0 rebuilt, 2 usage or I/O errors (an unknown projection name is a usage error).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::{all, KvStore, Options, Progress, Projections, NAMES};

/// Arguments of `rebuild`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 账本目录（需先停止对其提供服务的 caseledger serve）/ The ledger folder (stop a
    /// `caseledger serve` of it first: a rebuild needs the folder to itself).
    #[arg(long)]
    data: PathBuf,
    /// 只重建该投影（可重复）/ Rebuild only this projection (repeatable): case_status,
    /// workload, firm_history or measures; all by default.
    #[arg(long = "projection", value_name = "NAME")]
    projections: Vec<String>,
    /// 输出 JSON / Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What `rebuild` prints with `--json`.
#[derive(serde::Serialize)]
struct Report {
    projections: Vec<ProjectionReport>,
    records: u64,
    seconds: f64,
    records_per_second: f64,
    /// Records folded while opening (catch-up, or rebuilds the version change required).
    opened_records: u64,
}

#[derive(serde::Serialize)]
struct ProjectionReport {
    name: String,
    generation: u64,
    version: u32,
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} {bar:40} {pos}/{len} 条 records, {rate}/s, {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        // Whole records a second with thousands separators (`{per_sec}` prints four decimals).
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{}", indicatif::HumanCount(state.per_sec() as u64));
            },
        ),
    );
    Some(bar)
}

fn show(bar: &Option<indicatif::ProgressBar>, progress: &Progress) {
    if let Some(bar) = bar {
        let names = progress.names.join(",");
        if progress.writing {
            bar.set_message(format!("{names} 写入 / writing"));
        } else {
            bar.set_message(names);
        }
        bar.set_length(progress.records_to_fold());
        bar.set_position(progress.records_folded());
    }
}

/// What to do instead when the folder is being served.
const REBUILD_WHILE_SERVED: &str =
    "重建需要独占账本目录：请先停止服务（服务启动时会自动重建版本已变更的投影） \
                                    / a rebuild needs the folder to itself: stop the service \
                                    first (a service rebuilds, as it starts, every projection \
                                    whose version changed)";

/// Runs `rebuild`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    for name in &args.projections {
        if !NAMES.contains(&name.as_str()) {
            eprintln!(
                "没有名为 {name} 的投影；可选：{names} / no projection is called {name}; choose from {names}",
                names = NAMES.join(", ")
            );
            return Ok(ExitCode::from(crate::EXIT_USAGE_OR_IO));
        }
    }
    let ledger = Ledger::open_existing(&args.data, LedgerOptions::new(""))
        .map_err(|error| crate::opening_error(error, REBUILD_WHILE_SERVED))?;
    let store: Arc<dyn KvStore> = Arc::new(ledger.store());
    let bar = progress_bar();
    // Opening first brings every projection to the head (and rebuilds any whose version
    // changed), so the rebuild below starts from a consistent state.
    let (mut projections, opened) =
        Projections::open(store, all(), &ledger, Options::default(), &mut |progress| {
            show(&bar, progress)
        })?;
    let names: Vec<&str> = args.projections.iter().map(String::as_str).collect();
    let started = Instant::now();
    let summary = projections.rebuild(&names, &ledger, &mut |progress| show(&bar, progress))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = Report {
        projections: summary
            .projections
            .iter()
            .map(|(name, generation)| ProjectionReport {
                name: name.clone(),
                generation: generation.number,
                version: generation.version,
            })
            .collect(),
        records: summary.records,
        seconds,
        records_per_second: summary.records as f64 / seconds.max(1e-9),
        opened_records: opened.records,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "重建完成 / rebuilt {} projection(s) over {} records in {:.2} s ({:.0} records/s)",
            report.projections.len(),
            report.records,
            report.seconds,
            report.records_per_second
        );
        for projection in &report.projections {
            println!(
                "  {:<14} 第 {} 代 / generation {}, version {}",
                projection.name, projection.generation, projection.generation, projection.version
            );
        }
        if report.opened_records > 0 {
            println!(
                "打开时已追平 {} 条记录 / caught up {} records on open",
                report.opened_records, report.opened_records
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
