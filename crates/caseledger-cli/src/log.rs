//! `caseledger log`: prints records as JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use caseledger_log::{Ledger, LedgerOptions, StoredRecord};

/// Arguments of `log`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 账本目录 / The ledger folder.
    #[arg(long)]
    data: PathBuf,
    /// 起始位置 / First position (1-based).
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// 最多条数 / How many records at most.
    #[arg(long, default_value_t = 100)]
    limit: u64,
}

/// Records read from the ledger per step.
const PAGE_RECORDS: u64 = 1_000;

/// One record as a JSON object: every field, the payload as hex (and as JSON when it is).
pub fn record_json(stored: &StoredRecord) -> serde_json::Value {
    let record = &stored.record;
    let payload_json = serde_json::from_slice::<serde_json::Value>(&record.payload).ok();
    serde_json::json!({
        "position": stored.position,
        "hash": stored.hash.to_hex(),
        "prev_hash": record.prev_hash.to_hex(),
        "recorded_at": record.recorded_at().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "recorded_at_us": record.recorded_at_us,
        "stream": record.stream,
        "stream_version": record.stream_version,
        "event_id": record.event_uuid().to_string(),
        "actor": { "role": record.actor.role, "unit": record.actor.unit, "user": record.actor.user },
        "kind": record.kind,
        "schema_version": record.schema_version,
        "payload_hex": hex::encode(&record.payload),
        "payload": payload_json,
        "bytes_hex": hex::encode(&stored.bytes),
    })
}

/// Runs `log`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ledger =
        Ledger::open_existing(&args.data, LedgerOptions::new("")).context("opening the ledger")?;
    let head = ledger.head().position;
    if args.from > head {
        // Nothing to print is not an error, but a reader of an empty output should know why.
        eprintln!(
            "第 {} 条之后没有记录：账本最新位置为 {head} / no records from position {}: the ledger's head is {head}",
            args.from, args.from
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut position = args.from.max(1);
    let mut left = args.limit;
    let written = (|| -> anyhow::Result<()> {
        while left > 0 {
            let records = ledger.read_range(position, left.min(PAGE_RECORDS) as usize)?;
            if records.is_empty() {
                break;
            }
            for stored in &records {
                writeln!(out, "{}", record_json(stored))?;
            }
            position += records.len() as u64;
            left -= records.len() as u64;
        }
        out.flush()?;
        Ok(())
    })();
    match written {
        // The reader stopped reading (`caseledger log … | head`): it has what it wanted.
        Err(error) if is_broken_pipe(&error) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// Whether `error` is a write to a pipe whose reader has gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
