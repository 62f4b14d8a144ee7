//! Measures the storage primitives the writer is built from, on the machine it runs on:
//! sled flush of one batch value, the atomic head-file write, and random-key index inserts.
//! Run: `cargo run --release -p caseledger-log --example storage_probe -- DIR`
use std::io::Write;
use std::time::Instant;

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: storage_probe DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = sled::Config::new()
        .path(dir.join("sled"))
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(256 << 20)
        .flush_every_ms(None)
        .open()
        .unwrap();
    let log = db.open_tree("log").unwrap();
    let rounds = 3000u64;
    for batch in [1usize, 64, 1000] {
        let value = vec![0x5Au8; 440 * batch];
        let start = Instant::now();
        for round in 0..rounds {
            log.insert(
                (batch as u64 * 1_000_000 + round).to_be_bytes(),
                value.as_slice(),
            )
            .unwrap();
            db.flush().unwrap();
        }
        let per = start.elapsed() / rounds as u32;
        println!(
            "log value of {batch} records + flush: {per:?} per batch, {:.0} records/s",
            batch as f64 / per.as_secs_f64()
        );
    }
    // Head file: temp, write, fsync, rename, fsync dir.
    let start = Instant::now();
    for round in 0..rounds {
        let tmp = dir.join("head.tmp");
        let mut file = std::fs::File::create(&tmp).unwrap();
        file.write_all(&round.to_le_bytes()).unwrap();
        file.sync_all().unwrap();
        std::fs::rename(&tmp, dir.join("head")).unwrap();
        std::fs::File::open(&dir).unwrap().sync_all().unwrap();
    }
    println!(
        "head file (temp, fsync, rename, fsync dir): {:?}",
        start.elapsed() / rounds as u32
    );
    let start = Instant::now();
    for round in 0..rounds {
        let tmp = dir.join("head.tmp");
        let mut file = std::fs::File::create(&tmp).unwrap();
        file.write_all(&round.to_le_bytes()).unwrap();
        file.sync_data().unwrap();
        std::fs::rename(&tmp, dir.join("head")).unwrap();
    }
    println!(
        "head file (temp, fdatasync, rename, no dir fsync): {:?}",
        start.elapsed() / rounds as u32
    );
    // Head file rewritten in place: two fixed 4 KiB slots, pwrite + fdatasync, no metadata.
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(dir.join("head2"))
            .unwrap();
        file.set_len(8192).unwrap();
        file.sync_all().unwrap();
        let start = Instant::now();
        for round in 0..rounds {
            let slot = vec![round as u8; 4096];
            file.write_all_at(&slot, (round % 2) * 4096).unwrap();
            file.sync_data().unwrap();
        }
        println!(
            "head slots (pwrite 4 KiB + fdatasync): {:?}",
            start.elapsed() / rounds as u32
        );
    }
    // Random 16-byte keys, as an event-id index would insert, 64 per flush.
    let index = db.open_tree("index").unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let start = Instant::now();
    let total = 200_000u64;
    for chunk in 0..total / 64 {
        let mut batch = sled::Batch::default();
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&state.to_be_bytes());
            batch.insert(&key, &chunk.to_be_bytes());
        }
        index.apply_batch(batch).unwrap();
        if chunk % 16 == 0 {
            db.flush().unwrap();
        }
    }
    let elapsed = start.elapsed();
    println!(
        "random-key index inserts: {:.0} keys/s",
        total as f64 / elapsed.as_secs_f64()
    );
    let start = Instant::now();
    for chunk in 0..total / 64 {
        let mut batch = sled::Batch::default();
        for i in 0..64u64 {
            batch.insert(
                &((1u64 << 40) | (chunk * 64 + i)).to_be_bytes(),
                &chunk.to_be_bytes(),
            );
        }
        index.apply_batch(batch).unwrap();
        if chunk % 16 == 0 {
            db.flush().unwrap();
        }
    }
    let elapsed = start.elapsed();
    println!(
        "sequential-key index inserts: {:.0} keys/s",
        total as f64 / elapsed.as_secs_f64()
    );
}
