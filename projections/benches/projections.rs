//! Projection benchmarks on a realistic ledger: a simulated county history (valid acts from
//! the domain's `decide`) appended through the real writer, then
//! - a rebuild of all projections from the log (records/s; budget ≥ 250,000), with its CPU
//!   time, the pages the machine allocated meanwhile and the bytes the process wrote,
//! - case-status lookups (p99; budget ≤ 50 µs),
//! - workload queries over the whole history (p99; budget ≤ 5 ms),
//! - the first page (50 lines) of a unit's case list (p99; no budget of its own),
//!
//! - the writer's per-batch apply: batches of 32 records applied one at a time to
//!   projections already holding a few hundred thousand records (µs per record),
//!
//! `cargo bench -p caseledger-projections --bench projections` builds a 1,000,000-record
//! ledger in a temporary folder. `CASELEDGER_BENCH_RECORDS` changes the size and
//! `CASELEDGER_BENCH_DIR` keeps the ledger in (and reuses it from) a folder.
//! `CASELEDGER_BENCH_COMMIT_RECORDS` sets the records a rebuild folds between two commits
//! (`Options::commit_records`; what bounds its memory on a longer ledger).
//! `CASELEDGER_BENCH_ONLY_REBUILD` stops after the rebuild; `CASELEDGER_BENCH_ONLY_BATCHES`
//! runs only the per-batch apply; `CASELEDGER_BENCH_SKIP_WRITER` skips the per-batch and the
//! incremental apply (the rebuild and the queries only). After caseledger's rebuild, the same
//! rebuild runs with the projections' trees in SQLite (WAL, `synchronous=FULL`; the baseline
//! of DESIGN.md's budgets) unless `CASELEDGER_BENCH_SKIP_BASELINE` is set.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::case_status::{CaseIndex, CaseQueries};
use caseledger_projections::workload::WorkloadQueries;
use caseledger_projections::{
    all, KvStore, KvTree, Options, PageRequest, Projections, Reader, RecordSource, Scan,
    StoreError, Writes,
};
use chrono::NaiveDate;

const ORIGIN: &str = "caseledger.bench/anhua";

/// The allocator of the `caseledger` binary, which runs the projections in production (the
/// writer's per-batch apply and rebuilds): the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn build_ledger(dir: &Path, records: usize) {
    let rules = support::rules();
    let started = Instant::now();
    let mut sim = support::Sim::new(
        &rules,
        2026,
        support::SimOptions {
            step_seconds_max: 100,
            open_cases: 2_000,
            ..support::SimOptions::default()
        },
    );
    sim.run(records);
    let steps = std::mem::take(&mut sim.steps);
    drop(sim);
    println!(
        "simulated {} acts in {:.1} s (last at {})",
        steps.len(),
        started.elapsed().as_secs_f64(),
        steps
            .last()
            .map(|step| step.at.to_rfc3339())
            .unwrap_or_default()
    );
    let started = Instant::now();
    let ledger = Ledger::open(dir, LedgerOptions::new(ORIGIN)).expect("ledger opens");
    support::append_all(&ledger, &steps, 1_000);
    println!(
        "appended {} records in {:.1} s",
        ledger.head().position,
        started.elapsed().as_secs_f64()
    );
}

/// CPU seconds (user, system) this process has used so far, from `/proc/self/stat` (Linux;
/// zero elsewhere). The machine is shared, so CPU time says more than wall time about cost.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counting from the state
    // (field 3) as 0. Both in ticks of 1/100 s.
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (ticks(11), ticks(12))
}

/// The process's peak resident memory so far in MiB, from `/proc/self/status` (Linux; zero
/// elsewhere).
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib / 1024)
}

/// The machine's counts of page allocations so far, in MiB: (all pages, of which in
/// transparent huge pages), from `/proc/vmstat` (Linux; zeros elsewhere). Machine-wide, so a
/// difference over a span counts what everything did in it; on an idle machine, that is this
/// process and the kernel's work for it (page cache included). On a virtual machine whose
/// host takes back free memory, every fresh page costs a fault in the host too, which makes
/// these a rebuild's largest cost there (see the benchmark section of the README).
fn pages_allocated_mib() -> (u64, u64) {
    let vmstat = std::fs::read_to_string("/proc/vmstat").unwrap_or_default();
    let count = |name: &str| {
        vmstat
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let pages = count("pgalloc_dma") + count("pgalloc_dma32") + count("pgalloc_normal");
    let huge = count("thp_fault_alloc");
    (pages * 4 / 1024, huge * 2)
}

/// The bytes this process has written to files so far, in MiB (`wchar` of `/proc/self/io`:
/// what sled handed the kernel, cached or not; Linux, zero elsewhere).
fn bytes_written_mib() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(0, |bytes| bytes >> 20)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name}: n={} p50={:?} p90={:?} p99={:?} max={:?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        p99,
        samples.last().copied().unwrap_or_default()
    );
    p99
}

/// What the writer's observer does per committed batch: the ledger's first `batches` batches
/// of 1,000 records applied one at a time to projections in a ledger folder of their own.
fn incremental(ledger: &Ledger, batches: u64) {
    let folder = tempfile::tempdir().expect("temp dir");
    let own = Ledger::open(folder.path(), LedgerOptions::new(ORIGIN)).expect("ledger opens");
    let store: Arc<dyn KvStore> = Arc::new(own.store());
    let (mut projections, _) = Projections::open(
        store,
        all(),
        &Vec::<caseledger_record::Record>::new(),
        Options::default(),
        &mut |_| {},
    )
    .expect("projections open");
    let mut samples = Vec::new();
    let started = Instant::now();
    for batch in 0..batches.min(ledger.head().position / 1_000) {
        let records: Vec<_> = ledger
            .read_range(batch * 1_000 + 1, 1_000)
            .expect("reads")
            .into_iter()
            .map(|stored| stored.record)
            .collect();
        let applied = Instant::now();
        projections.apply(&records).expect("applies");
        samples.push(applied.elapsed());
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = samples.len();
    report(
        &format!(
            "incremental apply of {count} batches of 1,000 records ({:.0} records/s with reading)",
            count as f64 * 1_000.0 / seconds
        ),
        samples,
    );
}

/// A store that counts what is written through it: storage keys and bytes (keys and
/// values) per batch applied. Unlike time, the count does not depend on the machine's load.
struct Counting {
    inner: Arc<dyn KvStore>,
    written: Arc<[AtomicU64; 2]>,
}

struct CountingTree {
    inner: Arc<dyn KvTree>,
    written: Arc<[AtomicU64; 2]>,
}

impl KvStore for Counting {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn KvTree>, StoreError> {
        Ok(Arc::new(CountingTree {
            inner: self.inner.open_tree(name)?,
            written: self.written.clone(),
        }))
    }

    fn drop_tree(&self, name: &str) -> Result<bool, StoreError> {
        self.inner.drop_tree(name)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
}

impl CountingTree {
    fn count(&self, writes: &Writes) {
        let bytes: usize = writes
            .entries
            .iter()
            .map(|(key, value)| key.len() + value.as_ref().map_or(0, Vec::len))
            .sum();
        self.written[0].fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.written[1].fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

impl KvTree for CountingTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Scan,
    ) -> Result<(), StoreError> {
        self.inner.scan(start, end, visit)
    }

    fn apply_batch(&self, writes: Writes) -> Result<(), StoreError> {
        self.count(&writes);
        self.inner.apply_batch(writes)
    }

    fn write_each(&self, writes: Writes) -> Result<(), StoreError> {
        self.count(&writes);
        self.inner.write_each(writes)
    }
}

/// Times a rebuild of every projection and prints its rate, phases, CPU time, peak memory,
/// the pages the machine allocated meanwhile and the bytes written; returns records/s.
fn timed_rebuild(projections: &mut Projections, ledger: &Ledger, what: &str) -> f64 {
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let pages_before = pages_allocated_mib();
    let written_before = bytes_written_mib();
    let verbose = std::env::var_os("CASELEDGER_BENCH_VERBOSE").is_some();
    let summary = projections
        .rebuild(&[], ledger, &mut |progress| {
            if verbose {
                println!(
                    "  {:.2} s: {} of {}",
                    started.elapsed().as_secs_f64(),
                    progress.done,
                    progress.head
                );
            }
        })
        .expect("rebuilds");
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds();
    let pages_after = pages_allocated_mib();
    let written_after = bytes_written_mib();
    let rate = summary.records as f64 / seconds;
    println!(
        "{what}: {} records in {:.2} s = {:.0} records/s (budget 250000); fold (the log read beside it) {:.2} s, commit {:.2} s, flush and swap {:.2} s",
        summary.records,
        seconds,
        rate,
        summary.fold_seconds,
        summary.commit_seconds,
        summary.finish_seconds
    );
    println!(
        "  CPU time of the rebuild: {:.1} s user, {:.1} s system; peak resident memory of the process so far {} MiB",
        cpu_after.0 - cpu_before.0,
        cpu_after.1 - cpu_before.1,
        peak_rss_mib()
    );
    println!(
        "  pages the machine allocated during the rebuild: {} MiB, of which {} MiB in huge pages; the process wrote {} MiB to files",
        pages_after.0 - pages_before.0,
        pages_after.1 - pages_before.1,
        written_after - written_before
    );
    rate
}

/// The same rebuild with the projections' trees in SQLite (the baseline DESIGN.md measures
/// every budget against): the same log, the same folds and pages, another store. The trees
/// are first built by opening (as caseledger's were before its timed rebuild), then rebuilt
/// on demand and timed; returns records/s.
fn sqlite_rebuild(ledger: &Ledger) -> f64 {
    let folder = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn KvStore> = Arc::new(
        support::sqlite_store::SqliteStore::open(&folder.path().join("baseline.sqlite"))
            .expect("sqlite opens"),
    );
    let (mut projections, opened) =
        Projections::open(store, all(), ledger, Options::default(), &mut |_| {})
            .expect("projections open over sqlite");
    println!(
        "SQLite baseline: opened projections: {} records folded in {:.2} s",
        opened.records, opened.seconds
    );
    timed_rebuild(
        &mut projections,
        ledger,
        "SQLite baseline: rebuild all projections",
    )
}

/// The first `head` records of a ledger: what catch-up reads to warm the per-batch bench.
struct Prefix<'a> {
    ledger: &'a Ledger,
    head: u64,
}

impl RecordSource for Prefix<'_> {
    fn head(&self) -> Result<u64, caseledger_projections::Error> {
        Ok(self.head.min(self.ledger.head().position))
    }

    fn read_range(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<caseledger_record::Record>, caseledger_projections::Error> {
        let limit = limit.min(usize::try_from(self.head + 1 - from).unwrap_or(usize::MAX));
        RecordSource::read_range(self.ledger, from, limit)
    }
}

/// What the writer's observer does in production: batches of `batch_records` (about what
/// group commit gathers under load) applied one at a time, each committed with its
/// checkpoint, to projections that already hold the ledger's first `warm` records (so the
/// trees and pages are of a realistic size). Reports µs per record and per batch.
fn small_batches(ledger: &Ledger, warm: u64, batch_records: usize, batches: usize) {
    let folder = tempfile::tempdir().expect("temp dir");
    let own = Ledger::open(folder.path(), LedgerOptions::new(ORIGIN)).expect("ledger opens");
    let written: Arc<[AtomicU64; 2]> = Arc::default();
    let store: Arc<dyn KvStore> = Arc::new(Counting {
        inner: Arc::new(own.store()),
        written: written.clone(),
    });
    let warm = warm.min(ledger.head().position.saturating_sub(1));
    let started = Instant::now();
    let (mut projections, _) = Projections::open(
        store,
        all(),
        &Prefix { ledger, head: warm },
        Options::default(),
        &mut |_| {},
    )
    .expect("projections open");
    println!(
        "per-batch bench: folded the first {warm} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let wanted = (batch_records * batches) as u64;
    let records: Vec<_> = ledger
        .read_range(warm + 1, usize::try_from(wanted).unwrap_or(usize::MAX))
        .expect("reads")
        .into_iter()
        .map(|stored| stored.record)
        .collect();
    let mut samples = Vec::with_capacity(batches);
    let written_before = [0, 1].map(|index| written[index].load(Ordering::Relaxed));
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    for batch in records.chunks(batch_records) {
        let applied = Instant::now();
        projections.apply(batch).expect("applies");
        samples.push(applied.elapsed());
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds();
    let [keys, bytes] =
        [0, 1].map(|index| written[index].load(Ordering::Relaxed) - written_before[index]);
    println!(
        "per-batch apply writes per record: {:.1} storage keys, {:.0} bytes",
        keys as f64 / records.len().max(1) as f64,
        bytes as f64 / records.len().max(1) as f64
    );
    let count = samples.len();
    report(
        &format!(
            "per-batch apply: {count} batches of {batch_records} records after {warm}: {:.1} µs/record wall, {:.1} µs/record CPU",
            seconds * 1e6 / records.len().max(1) as f64,
            (cpu_after.0 + cpu_after.1 - cpu_before.0 - cpu_before.1) * 1e6
                / records.len().max(1) as f64
        ),
        samples,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects a
    // quick run, so the size shrinks then.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let records: usize = std::env::var("CASELEDGER_BENCH_RECORDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 5_000 });
    let temp = tempfile::tempdir().expect("temp dir");
    let dir: PathBuf = std::env::var_os("CASELEDGER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().join("ledger"));
    let existing = Ledger::open_existing(&dir, LedgerOptions::new(""))
        .map(|ledger| ledger.head().position)
        .unwrap_or(0);
    if existing < records as u64 {
        if existing > 0 {
            std::fs::remove_dir_all(&dir).expect("clears the old bench ledger");
        }
        build_ledger(&dir, records);
    }
    let ledger = Ledger::open_existing(&dir, LedgerOptions::new("")).expect("ledger opens");
    let head = ledger.head().position;
    let store: Arc<dyn KvStore> = Arc::new(ledger.store());

    // The floor: reading and decoding every record, with nothing folded.
    let started = Instant::now();
    let mut position = 1;
    let mut payload_bytes = 0usize;
    while position <= head {
        let batch = ledger.read_range(position, 16_384).expect("reads");
        position += batch.len() as u64;
        payload_bytes += batch
            .iter()
            .map(|stored| stored.record.payload.len())
            .sum::<usize>();
    }
    let read_seconds = started.elapsed().as_secs_f64();
    println!(
        "read the log alone: {head} records ({} MiB of payload) in {read_seconds:.2} s = {:.0} records/s",
        payload_bytes >> 20,
        head as f64 / read_seconds
    );

    let batches_only = std::env::var_os("CASELEDGER_BENCH_ONLY_BATCHES").is_some();
    let skip_writer = std::env::var_os("CASELEDGER_BENCH_SKIP_WRITER").is_some();
    if batches_only || (std::env::var_os("CASELEDGER_BENCH_ONLY_REBUILD").is_none() && !skip_writer)
    {
        let warm = if benching { 300_000 } else { 2_000 };
        small_batches(&ledger, warm, 32, if benching { 2_000 } else { 20 });
    }
    if batches_only {
        return;
    }

    if std::env::var_os("CASELEDGER_BENCH_ONLY_INCREMENTAL").is_some() {
        incremental(&ledger, if benching { 200 } else { 5 });
        return;
    }

    // Build (or catch up) once, then time a full rebuild of all four projections.
    let mut options = Options::default();
    if let Some(commit_records) = std::env::var("CASELEDGER_BENCH_COMMIT_RECORDS")
        .ok()
        .and_then(|text| text.parse().ok())
    {
        options.commit_records = commit_records;
    }
    let (mut projections, opened) =
        Projections::open(store.clone(), all(), &ledger, options, &mut |_| {})
            .expect("projections open");
    println!(
        "opened projections: {} records folded in {:.2} s",
        opened.records, opened.seconds
    );
    let rate = timed_rebuild(&mut projections, &ledger, "rebuild all projections");
    if std::env::var_os("CASELEDGER_BENCH_SKIP_BASELINE").is_none() {
        let baseline = sqlite_rebuild(&ledger);
        // The first rebuild of the process paid for its fresh memory (see
        // `pages_allocated_mib`), the baseline's ran in memory its own first fold had taken:
        // caseledger's again, now in the same condition, is the one to compare with it.
        let again = timed_rebuild(
            &mut projections,
            &ledger,
            "rebuild all projections again, after the baseline",
        );
        println!(
            "caseledger's rebuild against SQLite's: {:.2}× (first rebuild {:.2}×)",
            again / baseline,
            rate / baseline
        );
    }

    if std::env::var_os("CASELEDGER_BENCH_ONLY_REBUILD").is_some() {
        return;
    }
    if !skip_writer {
        incremental(&ledger, if benching { 200 } else { 5 });
    }

    let reader = Reader::new(store.clone()).expect("reader");
    for name in caseledger_projections::NAMES {
        let tree = reader.tree(name).expect("built");
        let mut entries = 0u64;
        let mut bytes = 0usize;
        tree.scan(&[], None, &mut |key, value| {
            entries += 1;
            bytes += key.len() + value.len();
            caseledger_projections::Scan::Continue
        })
        .expect("scans");
        let (meta, _) = reader.status(name).expect("status");
        let generation = meta.active.expect("an active generation").number;
        let stored = store
            .open_tree(&caseledger_projections::framework::generation_tree(
                name, generation,
            ))
            .expect("tree");
        let mut stored_keys = 0u64;
        stored
            .scan(&[], None, &mut |_, _| {
                stored_keys += 1;
                caseledger_projections::Scan::Continue
            })
            .expect("scans");
        println!(
            "  {name}: {entries} entries in {stored_keys} stored keys, {} MiB",
            bytes >> 20
        );
    }
    let cases = CaseQueries::new(reader.clone());
    let workload = WorkloadQueries::new(reader);

    // Case ids from the filings in the log.
    let mut ids = Vec::new();
    let mut position = 1;
    while position <= head {
        let batch = ledger.read_range(position, 50_000).expect("reads");
        position += batch.len() as u64;
        ids.extend(
            batch
                .into_iter()
                .filter(|stored| stored.record.kind == "ComplaintFiled")
                .filter_map(|stored| {
                    stored
                        .record
                        .stream
                        .strip_prefix("case/")
                        .map(str::to_string)
                }),
        );
    }
    println!("{} cases in the ledger", ids.len());
    let at_us = chrono::Utc::now().timestamp_micros();
    let mut rng = support::Rng::new(9);
    let lookups = if benching { 100_000 } else { 1_000 };
    let mut samples = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let id = rng.pick(&ids);
        let started = Instant::now();
        let view = cases.case_at(id, at_us).expect("lookup");
        samples.push(started.elapsed());
        assert!(view.is_some(), "case {id} is projected");
    }
    let lookup_p99 = report("case-status lookup (with overdue evaluation)", samples);

    let units: Vec<String> = workload
        .units(&PageRequest::first(500))
        .expect("units")
        .items;
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    let to = NaiveDate::from_ymd_opt(2027, 12, 31).expect("date");
    let queries = if benching { 5_000 } else { 100 };
    let mut samples = Vec::with_capacity(queries);
    for _ in 0..queries {
        let unit = rng.pick(&units);
        let started = Instant::now();
        let result = workload.workload(unit, from, to, at_us).expect("workload");
        samples.push(started.elapsed());
        assert_eq!(&result.unit, unit);
    }
    let workload_p99 = report(
        &format!(
            "workload query over {} cases, {} units, two years",
            ids.len(),
            units.len()
        ),
        samples,
    );

    // A department's desk: the first page of the cases that ever passed through a unit.
    let lists = if benching { 5_000 } else { 100 };
    let mut samples = Vec::with_capacity(lists);
    for _ in 0..lists {
        let unit = rng.pick(&units);
        let started = Instant::now();
        let page = cases
            .list(CaseIndex::UnitPassed, unit, at_us, &PageRequest::first(50))
            .expect("list");
        samples.push(started.elapsed());
        assert!(page.items.len() <= 50);
    }
    let list_p99 = report("case list, first 50 of a unit's cases", samples);
    println!(
        "summary: records={head} rebuild_records_per_second={rate:.0} lookup_p99_us={:.1} workload_p99_ms={:.2} list_p99_ms={:.2}",
        lookup_p99.as_secs_f64() * 1e6,
        workload_p99.as_secs_f64() * 1e3,
        list_p99.as_secs_f64() * 1e3
    );
}
