//! Appending a simulated history to a real ledger.

use std::time::Instant;

use caseledger_log::{AppendRequest, Ledger};

use crate::{SimError, SimStep};

/// The most steps appended in one `append_many` call (one writer batch). The log caps a
/// writer batch at its own `batch_records_max`; this stays under the default.
pub const APPEND_BATCH_STEPS_MAX: usize = 2_048;

/// Why an append of a simulated history stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The simulation failed (a rule refused a step: a bug in the simulation).
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The ledger refused or failed.
    #[error("账本写入失败 / the ledger failed: {0}")]
    Ledger(#[from] caseledger_log::Error),
    /// The ledger's head is not where the simulation's positions start: the credit traces
    /// the simulation computed name positions that would be wrong.
    #[error("账本末位为 {head}，模拟数据须从第 {expected} 位开始 / the ledger's head is at {head}; the simulated history starts at position {expected}")]
    WrongStart {
        /// The ledger's head position.
        head: u64,
        /// The position the first step expects.
        expected: u64,
    },
    /// A step landed at another position than the simulation gave it.
    #[error(
        "第 {expected} 步写入到了第 {actual} 位 / step {expected} was written at position {actual}"
    )]
    PositionMismatch {
        /// The simulated position.
        expected: u64,
        /// Where the ledger put it.
        actual: u64,
    },
}

/// Progress of an append, passed to the callback after every batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppendProgress {
    /// Steps appended so far.
    pub appended: u64,
    /// The position of the last appended step.
    pub position: u64,
    /// Seconds since the append began.
    pub elapsed_seconds: f64,
}

/// The figures of a finished append.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppendSummary {
    /// Steps appended.
    pub appended: u64,
    /// The ledger's head position afterwards.
    pub head: u64,
    /// Seconds the whole append took (simulation included).
    pub elapsed_seconds: f64,
}

impl SimStep {
    /// The log request for this step (the payload is copied).
    pub fn to_append_request(&self) -> AppendRequest {
        AppendRequest {
            stream: self.stream.clone(),
            expected_version: self.expected_version,
            event_id: self.event_id,
            actor: self.actor(),
            kind: self.kind.to_string(),
            schema_version: self.schema_version,
            payload: self.payload.clone(),
        }
    }

    /// The log request for this step, consuming it.
    pub fn into_append_request(self) -> AppendRequest {
        let actor = self.actor();
        AppendRequest {
            stream: self.stream,
            expected_version: self.expected_version,
            event_id: self.event_id,
            actor,
            kind: self.kind.to_string(),
            schema_version: self.schema_version,
            payload: self.payload,
        }
    }
}

/// Batches the generating thread may run ahead of the appending one. Two keep the writer
/// busy while the next batch is generated without holding much memory.
const BATCHES_AHEAD_MAX: usize = 2;

/// Appends every step of `steps` to `ledger`, in batches of [`APPEND_BATCH_STEPS_MAX`]
/// through `import_many_blocking`, so each record keeps its simulated time, calling `progress` after each batch. The ledger's head
/// must be one before the first step's position (an empty ledger for the default
/// `first_position` of 1); every step must land at its simulated position.
///
/// The steps are generated on the calling thread while a second thread appends the batches
/// in order, one `append_many` at a time (the log keeps one caller's batches in order).
/// Call it from a plain thread, not from inside an async runtime (the server's demo command
/// can use `tokio::task::spawn_blocking`).
pub fn append_all<I>(
    ledger: &Ledger,
    steps: I,
    mut progress: impl FnMut(AppendProgress) + Send,
) -> Result<AppendSummary, AppendError>
where
    I: IntoIterator<Item = Result<SimStep, SimError>>,
{
    let started = Instant::now();
    let (sender, receiver) =
        std::sync::mpsc::sync_channel::<(u64, Vec<(AppendRequest, i64)>)>(BATCHES_AHEAD_MAX);
    std::thread::scope(|scope| {
        let appender = scope.spawn(move || -> Result<u64, AppendError> {
            let mut appended = 0u64;
            for (first, requests) in receiver {
                let count = requests.len() as u64;
                let results = ledger.import_many_blocking(requests)?;
                for (offset, result) in results.iter().enumerate() {
                    let expected = first + offset as u64;
                    if result.position != expected {
                        return Err(AppendError::PositionMismatch {
                            expected,
                            actual: result.position,
                        });
                    }
                }
                appended += count;
                progress(AppendProgress {
                    appended,
                    position: first + count - 1,
                    elapsed_seconds: started.elapsed().as_secs_f64(),
                });
            }
            Ok(appended)
        });
        let generated = generate_batches(ledger, steps, &sender);
        drop(sender);
        let appended = appender
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The appender's error explains a generation stop caused by a closed channel.
        let appended = appended?;
        generated?;
        Ok(AppendSummary {
            appended,
            head: ledger.head().position,
            elapsed_seconds: started.elapsed().as_secs_f64(),
        })
    })
}

/// Runs the simulation and hands its steps to the appender in batches. Stops early when the
/// appender has hung up (it failed; its error is the one reported).
fn generate_batches<I>(
    ledger: &Ledger,
    steps: I,
    sender: &std::sync::mpsc::SyncSender<(u64, Vec<(AppendRequest, i64)>)>,
) -> Result<(), AppendError>
where
    I: IntoIterator<Item = Result<SimStep, SimError>>,
{
    let mut batch: Vec<(AppendRequest, i64)> = Vec::with_capacity(APPEND_BATCH_STEPS_MAX);
    let mut batch_first = 0u64;
    let mut checked_start = false;
    for step in steps {
        let step = step?;
        if !checked_start {
            let head = ledger.head().position;
            if head + 1 != step.position {
                return Err(AppendError::WrongStart {
                    head,
                    expected: step.position,
                });
            }
            checked_start = true;
        }
        if batch.is_empty() {
            batch_first = step.position;
        }
        let at = step.recorded_at.timestamp_micros();
        batch.push((step.into_append_request(), at));
        if batch.len() >= APPEND_BATCH_STEPS_MAX {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(APPEND_BATCH_STEPS_MAX));
            if sender.send((batch_first, full)).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send((batch_first, batch));
    }
    Ok(())
}
