//! What the Merkle tree costs: per-record tree maintenance on the append path at several
//! stored levels, proof generation on a 10,000,000-leaf tree (p50/p99 measured directly),
//! and bundle verification for a 50-record case.
//!
//! `cargo bench -p caseledger-proof --bench tree`

use std::hint::black_box;
use std::time::Instant;

use caseledger_proof::bundle::{assemble_bundle, verify_bundle, BundleSource};
use caseledger_proof::merkle::{leaf_hash, Hash, MemoryTree, TreeAppender};
use caseledger_proof::note::NoteSigner;
use caseledger_proof::sample::SampleLedger;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};

/// A record of the size the ledger probes used: about 440 bytes.
const RECORD_BYTES: usize = 440;
const BATCH_RECORDS: usize = 10_000;

fn records(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            let mut bytes = vec![0xA5u8; RECORD_BYTES];
            bytes[..8].copy_from_slice(&(n as u64).to_le_bytes());
            bytes
        })
        .collect()
}

fn append(c: &mut Criterion) {
    let batch = records(BATCH_RECORDS);
    let leaves: Vec<Hash> = batch.iter().map(|r| leaf_hash(r)).collect();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(BATCH_RECORDS as u64));
    group.bench_function("leaf_hash_440B", |b| {
        b.iter(|| {
            for record in &batch {
                black_box(leaf_hash(record));
            }
        })
    });
    for level in [0u8, 4, 8] {
        // Start mid-tree, as the writer does, so the right edge is realistic.
        let mut base = TreeAppender::new(level).unwrap();
        base.append_all((0..1_000_003u64).map(|n| leaf_hash(&n.to_le_bytes())));
        group.bench_function(format!("tree_nodes_level_min_{level}"), |b| {
            b.iter_batched(
                || base.clone(),
                |mut appender| {
                    let mut out = Vec::with_capacity(BATCH_RECORDS * 2);
                    for leaf in &leaves {
                        appender.append(*leaf, &mut out);
                    }
                    black_box(out)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bundle(c: &mut Criterion) {
    let signer = NoteSigner::from_seed("bench.example/ledger", [3; 32]).unwrap();
    let mut ledger = SampleLedger::new(signer).unwrap();
    for position in 0..100_000u64 {
        let stream = if position % 2_000 == 0 {
            "case/bench"
        } else {
            "case/other"
        };
        ledger.append(stream, "CaseUpdated", &[0x5A; 300]);
    }
    let key = ledger.signer().verifier();
    let note = ledger.checkpoint_note(ledger.size()).unwrap();
    // What the server reads through its stream index before assembling.
    let records = ledger.stream_records("case/bench", ledger.size()).unwrap();
    assert_eq!(records.len(), 50);
    let source = BundleSource {
        ledger_key: &key,
        checkpoint_note: &note,
        stream: "case/bench",
        generated_at: "2026-11-26T12:00:00Z",
    };
    let reader = ledger.tree().reader();
    c.bench_function("bundle/assemble_50_records_of_100000", |b| {
        b.iter(|| black_box(assemble_bundle(source, &reader, &records, |_| None).unwrap()))
    });
    let bundle = assemble_bundle(source, &reader, &records, |_| None).unwrap();
    c.bench_function("bundle/verify_50_records", |b| {
        b.iter(|| assert!(verify_bundle(&bundle, &key).ok))
    });
}

criterion_group!(benches, append, bundle);

/// Inclusion proofs on a tree of 10,000,000 leaves with the default stored level, timed one by
/// one for percentiles (criterion reports means only). The store is in memory, so this is the
/// computation and the number of reads, not the storage latency; the read counts are printed.
fn inclusion_percentiles() {
    let size = 10_000_000u64;
    let started = Instant::now();
    let mut tree = MemoryTree::new(caseledger_proof::merkle::STORED_LEVEL_MIN_DEFAULT).unwrap();
    for n in 0..size {
        tree.push_leaf_hash(leaf_hash(&n.to_le_bytes()));
    }
    println!(
        "built a {size}-leaf tree in {:.1} s, {} stored nodes",
        started.elapsed().as_secs_f64(),
        tree.store().node_count()
    );
    let reader = tree.reader();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut times = Vec::with_capacity(20_000);
    let mut reads_max = (0, 0);
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let tree_size = size - state % 1_000;
        let index = (state >> 20) % tree_size;
        tree.store().reset_reads();
        let started = Instant::now();
        let proof = reader.inclusion_proof(index, tree_size).unwrap();
        times.push(started.elapsed());
        black_box(proof);
        let reads = tree.store().reads();
        reads_max = (reads_max.0.max(reads.0), reads_max.1.max(reads.1));
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "inclusion proof, 10M leaves, 20000 random (leaf, size): p50 {:?}, p99 {:?}, max {:?}; at most {} node reads and {} leaf hashes per proof",
        at(0.50),
        at(0.99),
        times[times.len() - 1],
        reads_max.0,
        reads_max.1
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this binary too: build the big tree only when benchmarking.
    if std::env::args().any(|a| a == "--bench") {
        inclusion_percentiles();
    }
}
