//! The projections on a real ledger: storage through the log's [`Store`], records through
//! [`Ledger::read_range`], and the log's [`Observer`] hook.
//!
//! The log creates its observers before it opens sled, and hands them no storage, so the
//! projections join in two steps: [`LiveProjections::new`] gives the observer to pass to
//! [`Ledger::open_with_observers`], then [`LiveProjections::attach`] opens the projection
//! trees in the ledger's store and catches them up (or rebuilds them) to the head. Attach
//! before the ledger takes its first append: an append before that fails with a clear error
//! rather than leave a projection behind. Attach holds the projections' lock while it reads
//! the log, and the writer calls the observer under the same lock, so a batch committed
//! during the catch-up is applied right after it, with no gap.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use caseledger_log::{Committed, ErrorKind, KvBatch, Ledger, LedgerOptions, Observer, Store};

use crate::framework::{AsRecord, Options, Progress, Projections, RecordSource, Summary};
use crate::store::{KvStore, KvTree, Scan, StoreError, Writes};
use crate::{Error, Projection, Reader};

impl AsRecord for Committed {
    fn record(&self) -> &caseledger_record::Record {
        &self.record
    }
}

fn store_error(error: caseledger_log::Error) -> StoreError {
    StoreError(error.to_string())
}

impl KvStore for Store {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn KvTree>, StoreError> {
        let tree = Store::open_tree(self, name).map_err(store_error)?;
        Ok(Arc::new(tree))
    }

    fn drop_tree(&self, name: &str) -> Result<bool, StoreError> {
        Store::drop_tree(self, name).map_err(store_error)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Store::flush(self).map_err(store_error)
    }
}

impl KvTree for caseledger_log::KvTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        caseledger_log::KvTree::get(self, key).map_err(store_error)
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Scan,
    ) -> Result<(), StoreError> {
        let range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) = (
            std::ops::Bound::Included(start),
            match end {
                Some(end) => std::ops::Bound::Excluded(end),
                None => std::ops::Bound::Unbounded,
            },
        );
        for item in self.range::<&[u8], _>(range) {
            let (key, value) = item.map_err(store_error)?;
            if visit(&key, &value) == Scan::Stop {
                break;
            }
        }
        Ok(())
    }

    fn apply_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let mut batch = KvBatch::new();
        for (key, value) in writes.entries {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        caseledger_log::KvTree::apply_batch(self, batch).map_err(store_error)
    }

    fn write_each(&self, writes: Writes) -> Result<(), StoreError> {
        caseledger_log::KvTree::write_each(self, writes.entries).map_err(store_error)
    }
}

impl RecordSource for Ledger {
    fn head(&self) -> Result<u64, Error> {
        Ok(Ledger::head(self).position)
    }

    fn read_range(&self, from: u64, limit: usize) -> Result<Vec<caseledger_record::Record>, Error> {
        Ledger::read_records(self, from, limit).map_err(|error| Error::Source(error.to_string()))
    }
}

/// The projections of one open ledger, shared between the log's writer (which applies every
/// batch) and whoever attaches, rebuilds or inspects them.
#[derive(Clone, Default)]
pub struct LiveProjections {
    slot: Arc<Mutex<Option<Projections>>>,
}

struct LiveObserver {
    slot: Arc<Mutex<Option<Projections>>>,
}

fn lock(slot: &Mutex<Option<Projections>>) -> MutexGuard<'_, Option<Projections>> {
    // A panic inside a fold leaves the projections' caches suspect, but their trees hold only
    // committed batches; `apply` rereads what it needs after an error.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Observer for LiveObserver {
    fn name(&self) -> &str {
        "projections"
    }

    fn apply(&mut self, batch: &[Committed]) -> Result<(), caseledger_log::Error> {
        let mut slot = lock(&self.slot);
        let observer_error = |reason: String| {
            caseledger_log::Error::new(ErrorKind::Observer {
                name: "projections".into(),
                reason,
            })
        };
        let Some(projections) = slot.as_mut() else {
            return Err(observer_error(
                "投影尚未接入 / the projections were not attached before the first append".into(),
            ));
        };
        projections
            .apply(batch)
            .map_err(|error| observer_error(error.to_string()))
    }
}

impl LiveProjections {
    /// The shared handle and the observer to pass to [`Ledger::open_with_observers`].
    pub fn new() -> (LiveProjections, Box<dyn Observer>) {
        let live = LiveProjections::default();
        let observer = Box::new(LiveObserver {
            slot: live.slot.clone(),
        });
        (live, observer)
    }

    /// Opens `projections` in the ledger's store and brings them to the ledger's head
    /// (catch-up, or rebuild in a shadow generation when needed).
    pub fn attach(
        &self,
        ledger: &Ledger,
        projections: Vec<Box<dyn Projection>>,
        options: Options,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Summary, Error> {
        let mut slot = lock(&self.slot);
        let store: Arc<dyn KvStore> = Arc::new(ledger.store());
        let (opened, summary) = Projections::open(store, projections, ledger, options, progress)?;
        *slot = Some(opened);
        Ok(summary)
    }

    /// Rebuilds the named projections (all when empty) in shadow generations and swaps them
    /// in. The writer waits for the rebuild: appends are acknowledged after it.
    pub fn rebuild(
        &self,
        ledger: &Ledger,
        names: &[&str],
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Summary, Error> {
        let mut slot = lock(&self.slot);
        let Some(projections) = slot.as_mut() else {
            return Err(Error::NotBuilt("projections".into()));
        };
        projections.rebuild(names, ledger, progress)
    }

    /// The projections' names and checkpoints, once attached.
    pub fn checkpoints(&self) -> Vec<(&'static str, u64)> {
        lock(&self.slot)
            .as_ref()
            .map(Projections::checkpoints)
            .unwrap_or_default()
    }

    /// The entries each projection holds in its caches, once attached.
    pub fn cached(&self) -> Vec<(&'static str, usize)> {
        lock(&self.slot)
            .as_ref()
            .map(Projections::cached)
            .unwrap_or_default()
    }
}

/// A ledger opened with every projection attached: what the service and the CLI use.
pub struct ProjectedLedger {
    /// The ledger.
    pub ledger: Ledger,
    /// Its projections, kept current by its writer.
    pub live: LiveProjections,
    /// Reads of the projections.
    pub reader: Reader,
    /// What opening did (catch-up or rebuild).
    pub summary: Summary,
}

/// Opens the ledger in `dir` with `projections` attached.
pub fn open_ledger(
    dir: &Path,
    ledger_options: LedgerOptions,
    projections: Vec<Box<dyn Projection>>,
    options: Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ProjectedLedger, Error> {
    let (live, observer) = LiveProjections::new();
    let ledger = Ledger::open_with_observers(dir, ledger_options, vec![observer])
        .map_err(|error| Error::Source(error.to_string()))?;
    let summary = live.attach(&ledger, projections, options, progress)?;
    let reader = Reader::new(Arc::new(ledger.store()))?;
    Ok(ProjectedLedger {
        ledger,
        live,
        reader,
        summary,
    })
}
