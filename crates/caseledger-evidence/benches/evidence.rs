//! Benchmarks of the evidence on a real ledger (release build, real sled folder):
//!
//! - `append`: durable append throughput with and without the tree observer, 64 concurrent
//!   submitters each waiting for its own acknowledgement, ~440-byte records (the shape of
//!   `caseledger bench`), alternated in rounds in one process; the tree's cost is the drop.
//! - `proofs`: a ledger of `EVIDENCE_BENCH_RECORDS` records (default 10,000,000) built
//!   through the writer with the tree attached, holding one case stream of 50 records spread
//!   over the whole log; then inclusion proof latency at random positions against the head,
//!   bundle export of the 50-record case, and the time to reopen (which re-hashes every
//!   record against the latest checkpoint).
//!
//! ```text
//! cargo bench -p caseledger-evidence --bench evidence -- append
//! EVIDENCE_BENCH_DIR=/big/disk/ledger cargo bench -p caseledger-evidence --bench evidence -- proofs
//! ```
//! `EVIDENCE_BENCH_DIR` keeps the built ledger for later runs (default: a temporary folder).

use std::path::Path;
use std::time::{Duration, Instant};

use caseledger_evidence::{Evidence, EvidenceOptions, OpenCheck};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use caseledger_log::{Actor, AppendRequest, Committed, Ledger, LedgerOptions, Observer};
use caseledger_proof::note::NoteSigner;

const ORIGIN: &str = "caseledger.bench/evidence";
const PAYLOAD_BYTES: usize = 400;
const SUBMITTERS: u64 = 64;
const BUNDLE_STREAM: &str = "case/bundle-bench";
const BUNDLE_RECORDS: u64 = 50;

fn request(stream: String, expected_version: u64, sequence: u64) -> AppendRequest {
    let mut payload = format!(
        "{{\"seq\":{sequence},\"compound\":\"compound/dongping/lanting-{}\",\"note\":\"",
        sequence % 900
    );
    while payload.len() < PAYLOAD_BYTES - 2 {
        payload.push_str("绿地");
        payload.push(char::from(b'a' + (sequence % 26) as u8));
    }
    payload.truncate(payload.floor_char_boundary_compat(PAYLOAD_BYTES - 2));
    payload.push_str("\"}");
    AppendRequest {
        stream,
        expected_version,
        event_id: uuid::Uuid::now_v7(),
        actor: Actor {
            role: "township".into(),
            unit: "township/dongping".into(),
            user: "bench".into(),
        },
        kind: "InspectionRecorded".into(),
        schema_version: 1,
        payload: payload.into_bytes(),
    }
}

/// `str::floor_char_boundary` is not stable on the 1.85 floor.
trait FloorBoundary {
    fn floor_char_boundary_compat(&self, index: usize) -> usize;
}

impl FloorBoundary for String {
    fn floor_char_boundary_compat(&self, index: usize) -> usize {
        let mut index = index.min(self.len());
        while !self.is_char_boundary(index) {
            index -= 1;
        }
        index
    }
}

fn key() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [7; 32]).expect("a valid key name")
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// Appends `records` from 64 submitters, one act per request; returns acts per second.
fn appends_per_second(ledger: &Ledger, records: u64) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for submitter in 0..SUBMITTERS {
            let ledger = ledger.clone();
            let count = records / SUBMITTERS;
            tasks.push(tokio::spawn(async move {
                for n in 0..count {
                    // A case of 8 acts, then the next case.
                    let stream = format!("case/{submitter}-{}", n / 8);
                    ledger
                        .append(request(stream, n % 8, n))
                        .await
                        .expect("append");
                }
            }));
        }
        for task in tasks {
            task.await.expect("submitter");
        }
        (records / SUBMITTERS * SUBMITTERS) as f64 / start.elapsed().as_secs_f64()
    })
}

/// The tree observer, timed: wall time spent inside `apply`, and records applied.
struct Timed {
    inner: Box<dyn Observer>,
    nanos: Arc<AtomicU64>,
    records: Arc<AtomicU64>,
}

impl Observer for Timed {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn apply(&mut self, batch: &[Committed]) -> Result<(), caseledger_log::Error> {
        let begun = Instant::now();
        let result = self.inner.apply(batch);
        self.nanos
            .fetch_add(begun.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.records
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        result
    }
}

fn bench_append() {
    let records: u64 = std::env::var("EVIDENCE_BENCH_APPEND_RECORDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(200_000);
    let mut plain = Vec::new();
    let mut with_tree = Vec::new();
    let mut tree_nanos = Vec::new();
    for round in 0..5 {
        for tree in [false, true] {
            let dir = tempfile::tempdir().expect("temp dir");
            let rate = if tree {
                let (pending, observer) = caseledger_evidence::observer();
                let (nanos, applied) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
                let timed = Timed {
                    inner: observer,
                    nanos: nanos.clone(),
                    records: applied.clone(),
                };
                let ledger = Ledger::open_with_observers(
                    dir.path(),
                    LedgerOptions::new(ORIGIN),
                    vec![Box::new(timed)],
                )
                .expect("open");
                let evidence = pending
                    .attach(&ledger, EvidenceOptions::new(key()))
                    .expect("attach");
                let rate = appends_per_second(&ledger, records);
                let per_record = nanos.load(Ordering::Relaxed) as f64
                    / applied.load(Ordering::Relaxed).max(1) as f64;
                tree_nanos.push(per_record);
                drop(evidence);
                rate
            } else {
                let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).expect("open");
                appends_per_second(&ledger, records)
            };
            println!(
                "round {round} {:<12} {rate:>10.0} acts/s",
                if tree { "with tree" } else { "log only" }
            );
            if tree {
                with_tree.push(rate);
            } else {
                plain.push(rate);
            }
        }
    }
    let median = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let (plain, with_tree) = (median(&mut plain), median(&mut with_tree));
    let tree_nanos = median(&mut tree_nanos);
    // The writer is the bottleneck (one thread, 64 waiting submitters): each record costs it
    // 1/plain seconds without the tree, and tree_nanos more with it.
    let writer_share = tree_nanos / (1e9 / plain + tree_nanos);
    println!(
        "tree observer inside the writer: {tree_nanos:.0} ns a record (median); at the log-only rate that is {:.1}% of the writer's time per record",
        writer_share * 100.0
    );
    println!(
        "append, {records} records, {SUBMITTERS} submitters: log only {plain:.0} acts/s, with tree {with_tree:.0} acts/s, tree cost {:.1}% (median of 5 rounds)",
        (1.0 - with_tree / plain) * 100.0
    );
}

/// Builds (or extends) the big ledger; the bundle stream gets one record every
/// `records / 50` records.
fn build(dir: &Path, records: u64) -> (Ledger, Evidence) {
    let mut options = EvidenceOptions::new(key());
    options.checkpoint_every_records = 1 << 20;
    let (ledger, evidence) =
        Evidence::open(dir, LedgerOptions::new(ORIGIN), options).expect("open");
    let head = ledger.head().position;
    if head >= records {
        println!("reusing the ledger in {} ({head} records)", dir.display());
        return (ledger, evidence);
    }
    let start = Instant::now();
    // Large batches build the ledger fast; each becomes one value in the log, which makes
    // reading single records dearer (see the "log read" line).
    let batch: u64 = std::env::var("EVIDENCE_BENCH_BATCH")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(2048);
    let spacing = records / BUNDLE_RECORDS;
    let mut next = head;
    let mut version = ledger.stream_version(BUNDLE_STREAM).expect("version");
    let mut last_report = Instant::now();
    while next < records {
        let take = batch.min(records - next);
        let mut requests = Vec::with_capacity(take as usize);
        for n in next..next + take {
            if n % spacing == spacing / 2 && version < BUNDLE_RECORDS {
                requests.push(request(BUNDLE_STREAM.into(), version, n));
                version += 1;
            } else {
                // The other records form cases of 8 acts, numbered apart from the bundle's.
                let case_record = n - version;
                requests.push(request(
                    format!("case/{}", case_record / 8),
                    case_record % 8,
                    n,
                ));
            }
        }
        ledger.append_many_blocking(requests).expect("append");
        next += take;
        if last_report.elapsed() > Duration::from_secs(10) {
            println!(
                "built {next} records, {:.0} records/s",
                (next - head) as f64 / start.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    println!(
        "built {} records in {:.1} s ({:.0} records/s, batches of {batch}, tree attached)",
        records - head,
        start.elapsed().as_secs_f64(),
        (records - head) as f64 / start.elapsed().as_secs_f64()
    );
    (ledger, evidence)
}

fn bench_proofs() {
    let records: u64 = std::env::var("EVIDENCE_BENCH_RECORDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000_000);
    let temp;
    let dir = match std::env::var_os("EVIDENCE_BENCH_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            temp = tempfile::tempdir().expect("temp dir");
            temp.path().to_path_buf()
        }
    };
    let begun = Instant::now();
    let (ledger, evidence) = build(&dir, records);
    // A reused ledger is checked in the background; wait, so it does not compete below.
    let status = evidence.wait_open_check();
    println!(
        "open (and build, if any) until the open check finished: {:.1} s, {status:?}",
        begun.elapsed().as_secs_f64()
    );
    let head = ledger.head().position;
    let checkpoint = evidence.force_checkpoint().expect("checkpoint");
    assert_eq!(checkpoint.tree_size, head);

    // What one block of leaf hashes costs: 16 records read from the log.
    let mut latencies = Vec::new();
    for n in 0..2000u64 {
        let position = 1 + (n * 7919 * 16) % (head - 16);
        let begun = Instant::now();
        std::hint::black_box(ledger.read_range(position, 16).expect("read"));
        latencies.push(begun.elapsed());
    }
    latencies.sort();
    println!(
        "log read of 16 records at spread positions: p50 {:?}, p99 {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );

    // Inclusion proofs at random positions against the head (xorshift, fixed seed).
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let samples = 20_000;
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let position = 1 + random() % head;
        let begun = Instant::now();
        let proof = evidence.inclusion_proof(position, head).expect("proof");
        latencies.push(begun.elapsed());
        debug_assert_eq!(proof.root, checkpoint.root);
    }
    latencies.sort();
    println!(
        "inclusion proof, tree of {head} records, {samples} random positions: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    // And against random earlier tree sizes.
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let tree_size = 1 + random() % head;
        let position = 1 + random() % tree_size;
        let begun = Instant::now();
        evidence
            .inclusion_proof(position, tree_size)
            .expect("proof");
        latencies.push(begun.elapsed());
    }
    latencies.sort();
    println!(
        "inclusion proof, random tree sizes up to {head}: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );

    // Bundle export of the 50-record case against the checkpoint just signed.
    let stream_records = ledger.stream_version(BUNDLE_STREAM).expect("version");
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let begun = Instant::now();
        std::hint::black_box(ledger.read_stream(BUNDLE_STREAM, 1, 100).expect("read"));
        latencies.push(begun.elapsed());
    }
    latencies.sort();
    println!(
        "of which reading the case's {stream_records} records from the log: p50 {:?}, p99 {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let begun = Instant::now();
        let bundle = evidence
            .bundle(BUNDLE_STREAM, "2026-11-26T00:00:00Z", |_| None)
            .expect("bundle");
        let json = serde_json::to_vec(&bundle).expect("json");
        latencies.push(begun.elapsed());
        assert_eq!(bundle.records.len() as u64, stream_records);
        std::hint::black_box(json);
    }
    latencies.sort();
    println!(
        "bundle export of a {stream_records}-record case (proofs + JSON), 200 runs: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    let one_more = request(BUNDLE_STREAM.into(), stream_records, 0);
    ledger.append_blocking(one_more).expect("append");
    let begun = Instant::now();
    evidence
        .bundle(BUNDLE_STREAM, "2026-11-26T00:00:00Z", |_| None)
        .expect("bundle");
    println!(
        "bundle export that first signs a checkpoint (sled flush + file fsync): {:?}",
        begun.elapsed()
    );

    drop(evidence);
    drop(ledger);
    reopen(&dir);
}

/// Bundle export alone on an existing ledger (`EVIDENCE_BENCH_DIR`), opened with the quick
/// check only: the first export after opening, then 200 more.
fn bench_bundle() {
    let dir =
        std::env::var_os("EVIDENCE_BENCH_DIR").expect("EVIDENCE_BENCH_DIR names a built ledger");
    let mut options = EvidenceOptions::new(key());
    options.open_check = OpenCheck::Quick;
    let (_ledger, evidence) =
        Evidence::open(Path::new(&dir), LedgerOptions::new(ORIGIN), options).expect("open");
    let mut latencies = Vec::new();
    for run in 0..201 {
        let begun = Instant::now();
        let bundle = evidence
            .bundle(BUNDLE_STREAM, "2026-11-26T00:00:00Z", |_| None)
            .expect("bundle");
        std::hint::black_box(serde_json::to_vec(&bundle).expect("json"));
        if run == 0 {
            println!(
                "first bundle export after opening ({} records): {:?}",
                bundle.records.len(),
                begun.elapsed()
            );
        } else {
            latencies.push(begun.elapsed());
        }
    }
    latencies.sort();
    println!(
        "bundle export, 200 runs: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
}

/// Reopens the ledger with the default open check (quick, then full in the background) and
/// with the full check before serving; first, where the quick open's time goes.
fn reopen(dir: &Path) {
    for tail in [0, caseledger_evidence::OPEN_TAIL_RECORDS_DEFAULT] {
        let begun = Instant::now();
        let (pending, observer) = caseledger_evidence::observer();
        let ledger = Ledger::open_with_observers(dir, LedgerOptions::new(ORIGIN), vec![observer])
            .expect("open");
        let log_opened = begun.elapsed();
        let mut options = EvidenceOptions::new(key());
        options.open_check = OpenCheck::Quick;
        options.open_tail_records = tail;
        let evidence = pending.attach(&ledger, options).expect("attach");
        println!(
            "quick open, tail of {tail} records: log {:.2} s, then the tree attached and checked {:.2} s",
            log_opened.as_secs_f64(),
            (begun.elapsed() - log_opened).as_secs_f64()
        );
        drop(evidence);
        drop(ledger);
    }
    let begun = Instant::now();
    let (_ledger, reopened) =
        Evidence::open(dir, LedgerOptions::new(ORIGIN), EvidenceOptions::new(key()))
            .expect("reopen");
    let opened = begun.elapsed();
    let records = _ledger.head().position;
    let status = reopened.wait_open_check();
    println!(
        "reopen, default check ({records} records): serving after {:.2} s; background full check done after {:.1} s ({status:?})",
        opened.as_secs_f64(),
        begun.elapsed().as_secs_f64()
    );
    drop(reopened);
    drop(_ledger);
    let mut options = EvidenceOptions::new(key());
    options.open_check = OpenCheck::Full;
    let begun = Instant::now();
    let (_ledger, reopened) =
        Evidence::open(dir, LedgerOptions::new(ORIGIN), options).expect("reopen");
    println!(
        "reopen, full check before serving ({records} records re-hashed): {:.1} s ({:?})",
        begun.elapsed().as_secs_f64(),
        reopened.open_check()
    );
}

/// Reading the bundle case's records from an existing ledger (`EVIDENCE_BENCH_DIR`), the log
/// alone (no tree attached, so no open check): the first read after opening, when sled has
/// none of the case's batches in its cache, then 200 repeated reads.
fn bench_read() {
    let dir =
        std::env::var_os("EVIDENCE_BENCH_DIR").expect("EVIDENCE_BENCH_DIR names a built ledger");
    let begun = Instant::now();
    let mut options = LedgerOptions::new(ORIGIN);
    // sled's cache size, to see whether the batch pages stay cached (see the README).
    if let Some(mib) = std::env::var("EVIDENCE_BENCH_CACHE_MIB")
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
    {
        options.cache_bytes = mib * 1024 * 1024;
    }
    println!("sled cache: {} MiB", options.cache_bytes >> 20);
    let ledger = Ledger::open_existing(Path::new(&dir), options).expect("open");
    println!(
        "log opened in {:?} ({} records)",
        begun.elapsed(),
        ledger.head().position
    );
    let begun = Instant::now();
    let records = ledger.read_stream(BUNDLE_STREAM, 1, 100).expect("read");
    println!(
        "first read of the case's {} records after opening: {:?}",
        records.len(),
        begun.elapsed()
    );
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let begun = Instant::now();
        std::hint::black_box(ledger.read_stream(BUNDLE_STREAM, 1, 100).expect("read"));
        latencies.push(begun.elapsed());
    }
    latencies.sort();
    println!(
        "reading the case's {} records, 200 runs: p50 {:?}, p99 {:?}",
        records.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "read") {
        bench_read();
        return;
    }
    if args.iter().any(|arg| arg == "bundle") {
        bench_bundle();
        return;
    }
    if args.iter().any(|arg| arg == "reopen") {
        let dir = std::env::var_os("EVIDENCE_BENCH_DIR")
            .expect("EVIDENCE_BENCH_DIR names a built ledger");
        reopen(Path::new(&dir));
        return;
    }
    let run_all = !args.iter().any(|arg| arg == "append" || arg == "proofs");
    if run_all || args.iter().any(|arg| arg == "append") {
        bench_append();
    }
    if run_all || args.iter().any(|arg| arg == "proofs") {
        bench_proofs();
    }
}
