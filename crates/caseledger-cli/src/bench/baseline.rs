//! The SQLite baseline: what a user would otherwise pick. Same synthetic records, same
//! chaining (encode, blake3), same group commit (one writer thread draining a bounded queue,
//! one transaction per batch), SQLite bundled with WAL and `synchronous=FULL`, the log and
//! both indexes as three tables.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use caseledger_log::{AppendRequest, LedgerOptions};
use caseledger_record::{genesis_hash, record_hash, Hash, Record, RECORD_FORMAT};
use tokio::sync::{mpsc, oneshot};

use super::{figures, share, synthetic, Args, Figures};

type Job = (AppendRequest, oneshot::Sender<anyhow::Result<u64>>);

struct Writer {
    connection: rusqlite::Connection,
    next_position: u64,
    last_hash: Hash,
    versions: HashMap<String, u64>,
}

impl Writer {
    fn open(path: &Path, origin: &str) -> anyhow::Result<Writer> {
        let connection = rusqlite::Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS log (position INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS events (event_id BLOB PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS streams (stream TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL,
                 PRIMARY KEY (stream, version)) WITHOUT ROWID;",
        )?;
        Ok(Writer {
            connection,
            next_position: 1,
            last_hash: genesis_hash(origin),
            versions: HashMap::new(),
        })
    }

    fn version(&mut self, stream: &str) -> anyhow::Result<u64> {
        if let Some(version) = self.versions.get(stream) {
            return Ok(*version);
        }
        let version: Option<i64> = self.connection.query_row(
            "SELECT max(version) FROM streams WHERE stream = ?1",
            [stream],
            |row| row.get(0),
        )?;
        Ok(version.unwrap_or(0) as u64)
    }

    /// One batch in one transaction; replies after COMMIT (fsync with synchronous=FULL).
    fn commit(&mut self, jobs: Vec<Job>) -> anyhow::Result<()> {
        let transaction = self.connection.transaction()?;
        let mut replies = Vec::with_capacity(jobs.len());
        {
            let mut seen =
                transaction.prepare_cached("SELECT position FROM events WHERE event_id = ?1")?;
            let mut insert_log =
                transaction.prepare_cached("INSERT INTO log (position, bytes) VALUES (?1, ?2)")?;
            let mut insert_event = transaction
                .prepare_cached("INSERT INTO events (event_id, position) VALUES (?1, ?2)")?;
            let mut insert_stream = transaction.prepare_cached(
                "INSERT INTO streams (stream, version, position) VALUES (?1, ?2, ?3)",
            )?;
            for (request, reply) in jobs {
                let id = request.event_id.as_bytes().to_vec();
                let existing: Option<i64> = seen.query_row([&id], |row| row.get(0)).ok();
                if let Some(position) = existing {
                    replies.push((reply, Ok(position as u64)));
                    continue;
                }
                let actual = match self.versions.get(&request.stream) {
                    Some(version) => *version,
                    None => {
                        let version: Option<i64> = transaction.query_row(
                            "SELECT max(version) FROM streams WHERE stream = ?1",
                            [&request.stream],
                            |row| row.get(0),
                        )?;
                        version.unwrap_or(0) as u64
                    }
                };
                if actual != request.expected_version {
                    replies.push((
                        reply,
                        Err(anyhow::anyhow!("conflict on {}", request.stream)),
                    ));
                    continue;
                }
                let recorded_at_us = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_micros() as i64);
                let record = Record {
                    format: RECORD_FORMAT,
                    position: self.next_position,
                    prev_hash: self.last_hash,
                    recorded_at_us,
                    stream: request.stream.clone(),
                    stream_version: actual + 1,
                    event_id: *request.event_id.as_bytes(),
                    actor: request.actor.clone(),
                    kind: request.kind.clone(),
                    schema_version: request.schema_version,
                    payload: request.payload.clone(),
                };
                let bytes = record.encode();
                self.last_hash = record_hash(&bytes);
                let position = self.next_position as i64;
                insert_log.execute(rusqlite::params![position, bytes])?;
                insert_event.execute(rusqlite::params![id, position])?;
                insert_stream.execute(rusqlite::params![
                    request.stream,
                    (actual + 1) as i64,
                    position
                ])?;
                self.versions.insert(request.stream, actual + 1);
                self.next_position += 1;
                replies.push((reply, Ok(position as u64)));
            }
        }
        transaction.commit()?;
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        Ok(())
    }
}

/// Runs the same workload against SQLite in `folder` (created, then left for the caller to
/// remove).
pub fn run_sqlite(
    folder: &Path,
    args: &Args,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Figures> {
    let _ = std::fs::remove_dir_all(folder);
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let options = LedgerOptions::new(args.origin.clone());
    let mut writer = Writer::open(&folder.join("baseline.sqlite"), &args.origin)?;
    // Touch `version` so the read path is the same shape as the ledger's.
    writer.version("case/none")?;
    let (sender, mut receiver) = mpsc::channel::<Job>(options.queue_requests_max);
    let batch_records_max = options.batch_records_max;
    let thread = std::thread::spawn(move || -> anyhow::Result<()> {
        while let Some(first) = receiver.blocking_recv() {
            let mut jobs = vec![first];
            while jobs.len() < batch_records_max {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            writer.commit(jobs)?;
        }
        Ok(())
    });
    let records = args.records;
    let submitters = args.submitters;
    let payload_bytes = args.payload_bytes;
    let (seconds, latencies) = runtime.block_on(async move {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for submitter in 0..submitters {
            let sender = sender.clone();
            let mut generator = synthetic::Generator::new(submitter, payload_bytes);
            let count = share(records, submitters, submitter);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let request = generator.next_request();
                    let version = request.expected_version + 1;
                    let begun = Instant::now();
                    let (reply, answer) = oneshot::channel();
                    sender
                        .send((request, reply))
                        .await
                        .map_err(|_| anyhow::anyhow!("the SQLite writer stopped"))?;
                    answer.await.context("the SQLite writer stopped")??;
                    latencies.push(begun.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    generator.acknowledged(version);
                }
                anyhow::Ok(latencies)
            }));
        }
        drop(sender);
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.context("a submitter panicked")??);
        }
        anyhow::Ok((start.elapsed().as_secs_f64(), latencies))
    })?;
    thread
        .join()
        .map_err(|_| anyhow::anyhow!("the SQLite writer panicked"))??;
    Ok(figures(
        "sqlite (WAL, FULL)",
        submitters,
        seconds,
        latencies,
    ))
}
