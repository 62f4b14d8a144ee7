//! `caseledger bench`: appends realistic synthetic acts through the real writer from many
//! concurrent submitters, then verifies the whole ledger. With `--baseline sqlite` the same
//! records go through the same group-commit loop into SQLite (WAL, `synchronous=FULL`).
//!
//! While appending it prints `{"acked": P}` once a second: P is the highest position that
//! has been acknowledged (durable). The crash test relies on that line.

mod baseline;
mod synthetic;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use caseledger_log::{Ledger, LedgerOptions};

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 账本目录（可已存在）/ The ledger folder (created, or appended to).
    #[arg(long)]
    data: PathBuf,
    /// 追加条数 / Records to append.
    #[arg(long)]
    records: u64,
    /// 并发提交者 / Concurrent submitters, each waiting for its own acknowledgement.
    #[arg(long, default_value_t = 64)]
    submitters: u64,
    /// 输出 JSON / Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// 对照组 / Also run a baseline store with the same records and batching.
    #[arg(long, value_enum)]
    baseline: Option<Baseline>,
    /// 来源名称 / Origin name of a new ledger.
    #[arg(long, default_value = "caseledger.bench/local")]
    origin: String,
    /// 载荷字节数 / Payload size of each act, in bytes.
    #[arg(long, default_value_t = 400)]
    payload_bytes: usize,
    /// sled 缓存（MiB，16 至 65536）/ sled's page cache in MiB, 16 to 65,536 (default: the
    /// ledger's default, 256).
    #[arg(long, value_parser = clap::value_parser!(u64).range(16..=65_536))]
    cache_mib: Option<u64>,
}

/// Baseline stores.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Baseline {
    /// SQLite (bundled), WAL, synchronous=FULL, three tables as the log and its indexes.
    Sqlite,
}

/// The figures of one store.
#[derive(serde::Serialize, Debug, Clone)]
pub struct Figures {
    store: String,
    records: u64,
    submitters: u64,
    seconds: f64,
    acts_per_second: f64,
    latency_p50_us: u64,
    latency_p99_us: u64,
    latency_max_us: u64,
}

#[derive(serde::Serialize)]
struct Summary {
    ledger: Figures,
    verify_records: u64,
    verify_seconds: f64,
    verify_records_per_second: f64,
    verify_ok: bool,
    head_position: u64,
    head_hash: String,
    data_bytes: u64,
    /// The folder's size over the records it holds (the whole ledger, not only this run's).
    data_bytes_per_record: u64,
    baseline: Option<Figures>,
    ledger_over_baseline: Option<f64>,
}

/// Latencies in microseconds → figures.
pub fn figures(store: &str, submitters: u64, seconds: f64, mut latencies: Vec<u32>) -> Figures {
    latencies.sort_unstable();
    let at = |fraction: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        let index =
            ((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len()) - 1;
        u64::from(latencies[index])
    };
    Figures {
        store: store.into(),
        records: latencies.len() as u64,
        submitters,
        seconds,
        acts_per_second: latencies.len() as f64 / seconds.max(f64::MIN_POSITIVE),
        latency_p50_us: at(0.50),
        latency_p99_us: at(0.99),
        latency_max_us: latencies.last().copied().map_or(0, u64::from),
    }
}

fn folder_bytes(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => folder_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Splits `records` among submitters as evenly as possible.
fn share(records: u64, submitters: u64, index: u64) -> u64 {
    records / submitters + u64::from(index < records % submitters)
}

async fn run_ledger(ledger: &Ledger, args: &Args) -> anyhow::Result<Figures> {
    let acked = Arc::new(AtomicU64::new(0));
    let reporter = {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                println!("{{\"acked\": {}}}", ledger.head().position);
            }
        })
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for submitter in 0..args.submitters {
        let ledger = ledger.clone();
        let count = share(args.records, args.submitters, submitter);
        let mut generator = synthetic::Generator::new(submitter, args.payload_bytes);
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let request = generator.next_request();
                let begun = Instant::now();
                let appended = ledger.append(request).await?;
                latencies.push(begun.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                generator.acknowledged(appended.stream_version);
                acked.fetch_max(appended.position, Ordering::Relaxed);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(args.records as usize);
    for task in tasks {
        latencies.extend(task.await.context("a submitter panicked")??);
    }
    let seconds = start.elapsed().as_secs_f64();
    reporter.abort();
    println!("{{\"acked\": {}}}", ledger.head().position);
    Ok(figures(
        "caseledger (sled)",
        args.submitters,
        seconds,
        latencies,
    ))
}

/// Runs `bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.submitters == 0 || args.records == 0 {
        anyhow::bail!("--records and --submitters must be at least 1 / 数量必须大于零");
    }
    // A payload the writer would refuse is refused here, before the folder is made.
    let sample = synthetic::Generator::new(0, args.payload_bytes).next_request();
    if sample.payload.len() > caseledger_log::PAYLOAD_BYTES_MAX {
        anyhow::bail!(
            "--payload-bytes {} makes payloads of {} bytes, over the {} a record allows / \
             载荷过大",
            args.payload_bytes,
            sample.payload.len(),
            caseledger_log::PAYLOAD_BYTES_MAX
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut options = LedgerOptions::new(args.origin.clone());
    if let Some(mib) = args.cache_mib {
        options.cache_bytes = mib * 1024 * 1024;
    }
    let ledger = Ledger::open(&args.data, options)
        .with_context(|| format!("opening the ledger in {}", args.data.display()))?;
    let ledger_figures = runtime.block_on(run_ledger(&ledger, &args))?;
    let verify_start = Instant::now();
    let report = ledger.verify(|_, _| {})?;
    let verify_seconds = verify_start.elapsed().as_secs_f64();
    let head = ledger.head();
    drop(ledger);
    let baseline_figures = match args.baseline {
        None => None,
        Some(Baseline::Sqlite) => {
            let mut name = args.data.file_name().unwrap_or_default().to_os_string();
            name.push("-sqlite-baseline");
            let folder = args.data.with_file_name(name);
            let figures = baseline::run_sqlite(&folder, &args, &runtime);
            let _ = std::fs::remove_dir_all(&folder);
            Some(figures?)
        }
    };
    let data_bytes = folder_bytes(&args.data);
    let summary = Summary {
        verify_records: report.records,
        verify_seconds,
        verify_records_per_second: report.records as f64 / verify_seconds.max(f64::MIN_POSITIVE),
        verify_ok: report.ok,
        head_position: head.position,
        head_hash: head.hash.to_hex(),
        data_bytes,
        data_bytes_per_record: data_bytes / head.position.max(1),
        ledger_over_baseline: baseline_figures
            .as_ref()
            .map(|baseline| ledger_figures.acts_per_second / baseline.acts_per_second),
        ledger: ledger_figures,
        baseline: baseline_figures,
    };
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_text(&summary);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(summary: &Summary) {
    let line = |figures: &Figures| {
        println!(
            "{:<20} {:>10.0} acts/s  p50 {:>6} µs  p99 {:>6} µs  max {:>7} µs  ({} records, {} submitters, {:.2} s)",
            figures.store,
            figures.acts_per_second,
            figures.latency_p50_us,
            figures.latency_p99_us,
            figures.latency_max_us,
            figures.records,
            figures.submitters,
            figures.seconds
        );
    };
    line(&summary.ledger);
    if let Some(baseline) = &summary.baseline {
        line(baseline);
    }
    if let Some(ratio) = summary.ledger_over_baseline {
        println!("caseledger / baseline: {ratio:.2}x");
    }
    println!(
        "verify: {} records in {:.2} s = {:.0} records/s, {}",
        summary.verify_records,
        summary.verify_seconds,
        summary.verify_records_per_second,
        if summary.verify_ok {
            "sound / 完好"
        } else {
            "BROKEN / 损坏"
        }
    );
    println!(
        "head: position {} hash {}; ledger folder {:.1} MiB, {} bytes a record on average \
         (to size a disk, run 200,000 records or more and multiply: a small ledger carries \
         sled's fixed overhead)",
        summary.head_position,
        summary.head_hash,
        summary.data_bytes as f64 / (1024.0 * 1024.0),
        summary.data_bytes_per_record
    );
}
