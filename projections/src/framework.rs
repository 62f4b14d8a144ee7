//! The machinery every projection shares: staged writes, typed caches, generations,
//! checkpoints, catch-up, rebuild into shadow trees and the atomic swap.
//!
//! Storage layout (all in the store the log hands us):
//! - `proj/meta`: one key per projection name, holding [`Meta`]: the active generation (the
//!   one queries read), the generation being built if any, and generations to drop.
//! - `proj/<name>/g<N>`: generation N's data, stored in pages by the projection's layout
//!   (see [`crate::paged`]; projections and queries see single entries), and under
//!   [`CHECKPOINT_KEY`] the position of the last record folded into it. Data and checkpoint
//!   are written by one atomic batch.
//!
//! Catch-up and rebuild read and decode the log on a thread of their own, one chunk ahead of
//! the folds, fold each projection on a thread of its own, and keep everything they fold in
//! memory until one commit at the end (or every [`Options::commit_records`] records).
//!
//! A rebuild writes a new generation while the old one stays active; one write to
//! `proj/meta` swaps them. A crash before that write leaves the old generation serving, and
//! the next open resumes the unfinished generation from its own checkpoint (or starts it
//! again if the projection's version changed meanwhile).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use caseledger_record::Record;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::facts::Event;
use crate::paged::PagedTree;
use crate::store::{KvStore, KvTree, StoreError, Writes};
use crate::Error;

/// Name of the tree that says which generation of each projection is active.
pub const META_TREE: &str = "proj/meta";

/// Key of the checkpoint (last position folded, u64 big-endian) in every data tree. It starts
/// with 0xFF so that it sorts after every data key (data keys start with ASCII).
pub const CHECKPOINT_KEY: &[u8] = b"\xffcheckpoint";

/// Present while a commit written in several parts is under way (see `apply_in_parts`).
pub const UNFINISHED_KEY: &[u8] = b"\xffunfinished";

/// One record as a projection sees it: the record, and its act decoded into facts once for
/// all projections (on first use, by whichever projection asks first).
pub struct Input<'a> {
    /// The record. The position is inside it.
    pub record: &'a Record,
    decoded: &'a OnceLock<Result<Event, Error>>,
}

impl<'a> Input<'a> {
    /// The record's facts, decoded through the domain's act decoder.
    pub fn event(&self) -> Result<&'a Event, Error> {
        self.decoded
            .get_or_init(|| crate::decode::event(self.record))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Anything that holds a record: the record itself, or the log's committed form.
pub trait AsRecord: Sync {
    /// The record.
    fn record(&self) -> &Record;
}

impl AsRecord for Record {
    fn record(&self) -> &Record {
        self
    }
}

/// A projection: a pure fold over records into one tree of its own.
///
/// `apply` reads the state it needs through its caches or `tx`, and stages what changes.
/// It must be deterministic: the same records from the same state give the same bytes,
/// whether they come one batch at a time or in a rebuild (hence no `HashMap` iteration order
/// in stored values, no clock, no randomness).
pub trait Projection: Send {
    /// A stable name: the tree names derive from it, the CLI selects by it.
    fn name(&self) -> &'static str;
    /// Bumped whenever the stored form or the fold changes; a change triggers a rebuild.
    fn version(&self) -> u32;
    /// Folds one record.
    fn apply(&mut self, input: &Input<'_>, tx: &mut Tx<'_>) -> Result<(), Error>;
    /// Stages every cached change into `tx`; called before each commit.
    fn flush(&mut self, tx: &mut Tx<'_>) -> Result<(), Error>;
    /// Forgets cached state: after a failed batch, or to bound memory after a commit.
    fn discard(&mut self);
    /// How many entries are cached now.
    fn cached(&self) -> usize;
}

/// Writes staged over one data tree; reads see the staged writes first.
pub struct Tx<'a> {
    tree: &'a dyn KvTree,
    writes: Writes,
    /// The tree is known to be empty (a new generation before its first commit): reads
    /// need not ask it.
    empty: bool,
    /// The caches are discarded after this commit (see [`Tx::is_last`]).
    last: bool,
}

impl<'a> Tx<'a> {
    /// Stages writes over `tree`, starting from `writes` already staged.
    pub fn new(tree: &'a dyn KvTree, writes: Writes) -> Tx<'a> {
        Tx {
            tree,
            writes,
            empty: false,
            last: false,
        }
    }

    /// Stages writes over `tree`, which the caller knows to be empty.
    fn over_empty(tree: &'a dyn KvTree, writes: Writes) -> Tx<'a> {
        Tx {
            tree,
            writes,
            empty: true,
            last: false,
        }
    }

    /// Whether the projection's caches are discarded right after this commit (the last
    /// of a catch-up or rebuild, or one after which they are too large): a flush may then
    /// move what it stages out of its caches rather than copy it.
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// The value under `key`, staged or stored.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        if let Some(staged) = self.writes.entries.get(key) {
            return Ok(staged.clone());
        }
        if self.empty {
            return Ok(None);
        }
        Ok(self.tree.get(key)?)
    }

    /// Stages an insert.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.put(key, value);
    }

    /// Stages a removal.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.delete(key);
    }

    /// Stages many writes in any order (see [`Writes::stage_all`]).
    pub fn stage_all(&mut self, staged: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        self.writes.stage_all(staged);
    }

    /// The staged writes.
    pub fn into_writes(self) -> Writes {
        self.writes
    }
}

/// The caches' map: every record looks up a few keys, and std's SipHash was a visible part
/// of the folds. Iteration order never reaches stored bytes (see [`Projection`]).
///
/// hashbrown's map rather than std's (which is the same table) for `entry_ref`: a cached key
/// is found with one probe and a missing one inserted without hashing it again, where std's
/// API took a `contains_key` and a `get_mut` for every access.
type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// A typed read-through cache of values under one key space, written back on flush.
///
/// This is what makes a rebuild fast: a case's status is decoded once, changed in memory by
/// every record of the case in the chunk, and encoded once at the end of the chunk.
pub struct Table<V> {
    entries: FastMap<Vec<u8>, Slot<V>>,
    /// The keys marked dirty since the last flush, each once. The writer's caches keep
    /// every value they have seen (a case's status, its workload …) while a batch changes
    /// a few dozen: a flush visits these rather than the whole cache.
    changed: Vec<Vec<u8>>,
}

struct Slot<V> {
    value: Option<V>,
    dirty: bool,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table {
            entries: FastMap::default(),
            changed: Vec::new(),
        }
    }
}

impl<V: Serialize + DeserializeOwned + Send + 'static> Table<V> {
    /// The slot under `key`, read into the cache unless it is there, and marked dirty when
    /// `dirty` says so.
    fn slot(
        &mut self,
        tx: &Tx<'_>,
        key: &[u8],
        dirty: impl FnOnce(&Option<V>) -> bool,
    ) -> Result<&mut Slot<V>, Error> {
        let slot = match self.entries.entry_ref(key) {
            hashbrown::hash_map::EntryRef::Occupied(occupied) => occupied.into_mut(),
            hashbrown::hash_map::EntryRef::Vacant(vacant) => {
                let value = match tx.get(key)? {
                    Some(bytes) => Some(codec::decode(key, &bytes)?),
                    None => None,
                };
                vacant.insert(Slot {
                    value,
                    dirty: false,
                })
            }
        };
        if !slot.dirty && dirty(&slot.value) {
            slot.dirty = true;
            self.changed.push(key.to_vec());
        }
        Ok(slot)
    }

    /// The value under `key`, without marking it changed.
    pub fn get(&mut self, tx: &Tx<'_>, key: &[u8]) -> Result<Option<&V>, Error> {
        Ok(self.slot(tx, key, |_| false)?.value.as_ref())
    }

    /// The value under `key` for changing; `None` if there is none.
    pub fn get_mut(&mut self, tx: &Tx<'_>, key: &[u8]) -> Result<Option<&mut V>, Error> {
        Ok(self.slot(tx, key, Option::is_some)?.value.as_mut())
    }

    /// The value under `key` for changing, created with `make` if there is none.
    pub fn get_or_insert_with(
        &mut self,
        tx: &Tx<'_>,
        key: &[u8],
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, Error> {
        Ok(self.slot(tx, key, |_| true)?.value.get_or_insert_with(make))
    }

    /// Replaces (or removes, with `None`) the value under `key`, without reading it.
    fn replace(&mut self, key: Vec<u8>, value: Option<V>) {
        match self.entries.entry(key) {
            hashbrown::hash_map::Entry::Occupied(mut occupied) => {
                let slot = occupied.get_mut();
                slot.value = value;
                if !slot.dirty {
                    slot.dirty = true;
                    self.changed.push(occupied.key().clone());
                }
            }
            hashbrown::hash_map::Entry::Vacant(vacant) => {
                self.changed.push(vacant.key().clone());
                vacant.insert(Slot { value, dirty: true });
            }
        }
    }

    /// Replaces the value under `key`.
    pub fn insert(&mut self, key: Vec<u8>, value: V) {
        self.replace(key, Some(value));
    }

    /// Sets the value under `key` unless it already holds an equal one (read through `tx`
    /// if not cached), so an unchanged value is not written again.
    pub fn set(&mut self, tx: &Tx<'_>, key: &[u8], value: V) -> Result<(), Error>
    where
        V: PartialEq,
    {
        let slot = self.slot(tx, key, |stored| stored.as_ref() != Some(&value))?;
        if slot.dirty {
            slot.value = Some(value);
        }
        Ok(())
    }

    /// Removes the value under `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.replace(key, None);
    }

    /// Stages every changed value into `tx` and marks it clean.
    pub fn flush(&mut self, tx: &mut Tx<'_>) {
        let mut staged = Vec::with_capacity(self.changed.len());
        for key in self.changed.drain(..) {
            let slot = self.entries.get_mut(&key).expect("a changed key is cached");
            slot.dirty = false;
            staged.push((key, slot.value.as_ref().map(codec::encode)));
        }
        // Each changed key is listed once: an unstable sort first leaves `stage_all` a
        // sorted run (its stable sort was most of staging a rebuild's large tables).
        tx.stage_all(sorted(staged));
    }

    /// Forgets every cached value; a large cache is freed on a thread of its own.
    pub fn clear(&mut self) {
        drop_later(std::mem::take(&mut self.entries));
        self.changed.clear();
    }

    /// How many values are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Cached values from which [`drop_later`] frees them on a thread of its own.
const DROP_LATER_ENTRIES_MIN: usize = 65_536;

/// Frees a cache. A large one is handed to a thread of its own: after a rebuild the case
/// statuses alone are millions of allocations (0.4 s per million records), and nothing
/// after it needs to wait for the memory to be returned.
fn drop_later<K: Send + 'static, V: Send + 'static>(entries: FastMap<K, V>) {
    let count = entries.len();
    drop_later_if_many(entries, count);
}

/// Frees `items` (`count` allocations or more) on a thread of its own if they are many.
fn drop_later_if_many<T: Send + 'static>(items: T, count: usize) {
    if count < DROP_LATER_ENTRIES_MIN {
        return;
    }
    // A thread that cannot start leaves the freeing to this one.
    let _ = std::thread::Builder::new()
        .name("cache-drop".into())
        .spawn(move || drop(items));
}

/// A value that owns index entries elsewhere in the same tree (lists by unit, due-date
/// queues …). [`IndexedTable`] keeps those entries in step with the value.
pub trait Indexed {
    /// The index entries (key, value) this value, stored under `key`, implies.
    fn index_entries(&self, key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)>;
}

/// Dirty values from which [`IndexedTable::flush`] encodes on two threads.
const FLUSH_PARALLEL_VALUES_MIN: usize = 16_384;

/// A write staged by a flush: the key, and its new value or `None` for a removal.
type Change = (Vec<u8>, Option<Vec<u8>>);

/// A [`Table`] whose values own index entries. The entries are diffed once per commit,
/// between what was stored and what is now, so a case touched by a hundred records in a
/// rebuild chunk moves its index entries once, not a hundred times.
pub struct IndexedTable<V> {
    entries: FastMap<Vec<u8>, IndexedSlot<V>>,
    /// The keys marked dirty since the last flush, each once (see [`Table`]).
    changed: Vec<Vec<u8>>,
    /// What [`IndexedTable::flush_and_forget`] took out of the cache, freed by `clear`.
    forgotten: Vec<Vec<IndexedSlot<V>>>,
}

struct IndexedSlot<V> {
    value: Option<V>,
    stored_index: Vec<(Vec<u8>, Vec<u8>)>,
    dirty: bool,
}

impl<V> Default for IndexedTable<V> {
    fn default() -> Self {
        IndexedTable {
            entries: FastMap::default(),
            changed: Vec::new(),
            forgotten: Vec::new(),
        }
    }
}

impl<V: Serialize + DeserializeOwned + Indexed + Send + 'static> IndexedTable<V> {
    /// The slot under `key`, read into the cache unless it is there, and marked dirty when
    /// `dirty` says so.
    fn slot(
        &mut self,
        tx: &Tx<'_>,
        key: &[u8],
        dirty: impl FnOnce(&Option<V>) -> bool,
    ) -> Result<&mut IndexedSlot<V>, Error> {
        let slot = match self.entries.entry_ref(key) {
            hashbrown::hash_map::EntryRef::Occupied(occupied) => occupied.into_mut(),
            hashbrown::hash_map::EntryRef::Vacant(vacant) => {
                let value: Option<V> = match tx.get(key)? {
                    Some(bytes) => Some(codec::decode(key, &bytes)?),
                    None => None,
                };
                let stored_index = sorted_index(value.as_ref(), key);
                vacant.insert(IndexedSlot {
                    value,
                    stored_index,
                    dirty: false,
                })
            }
        };
        if !slot.dirty && dirty(&slot.value) {
            slot.dirty = true;
            self.changed.push(key.to_vec());
        }
        Ok(slot)
    }

    /// The value under `key`, without marking it changed.
    pub fn get(&mut self, tx: &Tx<'_>, key: &[u8]) -> Result<Option<&V>, Error> {
        Ok(self.slot(tx, key, |_| false)?.value.as_ref())
    }

    /// The value under `key` for changing; `None` if there is none.
    pub fn get_mut(&mut self, tx: &Tx<'_>, key: &[u8]) -> Result<Option<&mut V>, Error> {
        Ok(self.slot(tx, key, Option::is_some)?.value.as_mut())
    }

    /// Sets the value under `key` (which must not exist yet or is replaced).
    pub fn put(&mut self, tx: &Tx<'_>, key: &[u8], value: V) -> Result<&mut V, Error> {
        Ok(self.slot(tx, key, |_| true)?.value.insert(value))
    }

    /// The value under `key`, to change and hand back to [`IndexedTable::put_if_changed`]
    /// (`None` if there is none). A value already changed since the last flush is written
    /// by it anyway, so it is moved out rather than cloned (in a rebuild, every value after
    /// its first record); a clean one is cloned, so that the put can tell whether it
    /// changed. Until it is put back, a moved value reads as absent: a fold that fails in
    /// between leaves a cache that must be discarded, as every failed fold's is.
    pub fn take_for_update(&mut self, tx: &Tx<'_>, key: &[u8]) -> Result<Option<V>, Error>
    where
        V: Clone,
    {
        let slot = self.slot(tx, key, |_| false)?;
        Ok(if slot.dirty {
            slot.value.take()
        } else {
            slot.value.clone()
        })
    }

    /// Sets the value under `key` unless it already holds an equal one. A record that
    /// leaves a value as it was then writes nothing: no encoding, no index diff, and no
    /// page re-cut in the commit.
    pub fn put_if_changed(&mut self, tx: &Tx<'_>, key: &[u8], value: V) -> Result<(), Error>
    where
        V: PartialEq,
    {
        let slot = self.slot(tx, key, |stored| stored.as_ref() != Some(&value))?;
        if slot.dirty {
            slot.value = Some(value);
        }
        Ok(())
    }

    /// Stages every changed value and the index entries that changed with it.
    pub fn flush(&mut self, tx: &mut Tx<'_>) {
        if tx.is_last() && self.changed.len() >= FLUSH_PARALLEL_VALUES_MIN {
            self.flush_and_forget(tx);
            return;
        }
        if self.changed.len() < FLUSH_PARALLEL_VALUES_MIN {
            // The writer's batches: visit the few changed values, not the whole cache.
            let mut staged = Vec::with_capacity(self.changed.len() * 4);
            for key in self.changed.drain(..) {
                let slot = self.entries.get_mut(&key).expect("a changed key is cached");
                Self::stage_one(key, slot, &mut staged);
            }
            tx.writes.stage_all(staged);
            return;
        }
        self.changed.clear();
        let mut dirty: Vec<(&Vec<u8>, &mut IndexedSlot<V>)> = self
            .entries
            .iter_mut()
            .filter(|(_, slot)| slot.dirty)
            .collect();
        // A rebuild's commit flushes a hundred thousand cases with ten index entries each,
        // while the other projections' commits are done: encoding and sorting them on two
        // threads halves the longest part of the commit.
        let half = dirty.len() / 2;
        let (first, second) = dirty.split_at_mut(half);
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| sorted(Self::stage(second)));
            (
                sorted(Self::stage(first)),
                second.join().expect("a flush thread panicked"),
            )
        });
        stage_sorted_halves(tx, first, second);
    }

    /// [`IndexedTable::flush`] for the last commit before the cache is discarded (a
    /// rebuild's): the cache is emptied, each changed value's key and new index entries are
    /// moved into the writes rather than copied (in a rebuild, a million index entries),
    /// and the values are kept aside until `clear`, which frees them on a thread of its own.
    fn flush_and_forget(&mut self, tx: &mut Tx<'_>) {
        self.changed.clear();
        let entries = std::mem::take(&mut self.entries);
        let mut dirty = Vec::with_capacity(entries.len());
        let mut clean = Vec::new();
        for (key, slot) in entries {
            if slot.dirty {
                dirty.push((key, slot));
            } else {
                clean.push(slot);
            }
        }
        let second = dirty.split_off(dirty.len() / 2);
        let stage = |dirty: Vec<(Vec<u8>, IndexedSlot<V>)>| {
            let mut staged = Vec::with_capacity(dirty.len() * 12);
            let mut values = Vec::with_capacity(dirty.len());
            for (key, slot) in dirty {
                let index = sorted_index(slot.value.as_ref(), &key);
                if slot.stored_index.is_empty() {
                    staged.extend(index.into_iter().map(|(key, value)| (key, Some(value))));
                } else {
                    stage_index_diff(&slot.stored_index, &index, &mut staged);
                }
                staged.push((key, slot.value.as_ref().map(codec::encode)));
                values.push(slot);
            }
            (sorted(staged), values)
        };
        let ((first, first_values), (second, second_values)) = std::thread::scope(|scope| {
            let second = scope.spawn(|| stage(second));
            (
                stage(dirty),
                second.join().expect("a flush thread panicked"),
            )
        });
        self.forgotten.extend([clean, first_values, second_values]);
        stage_sorted_halves(tx, first, second);
    }

    /// The writes that bring the stored form of `dirty` up to date, which it marks clean.
    ///
    /// A value's index entries are kept sorted by key, so the old and the new set are
    /// diffed in one merge: an entry in both with the same value is not staged at all, one
    /// only in the old set is removed, and one new or changed is put. (The writer commits a
    /// few dozen values per batch with about ten entries each; a linear search of one set
    /// for every entry of the other was a visible part of its commit.)
    fn stage(dirty: &mut [(&Vec<u8>, &mut IndexedSlot<V>)]) -> Vec<Change> {
        let mut staged = Vec::with_capacity(dirty.len() * 4);
        for (key, slot) in dirty.iter_mut() {
            Self::stage_one((*key).clone(), slot, &mut staged);
        }
        staged
    }

    /// Stages one changed value under `key` and its index changes, and marks it clean.
    fn stage_one(key: Vec<u8>, slot: &mut IndexedSlot<V>, staged: &mut Vec<Change>) {
        let index = sorted_index(slot.value.as_ref(), &key);
        stage_index_diff(&slot.stored_index, &index, staged);
        slot.stored_index = index;
        slot.dirty = false;
        let value = slot.value.as_ref().map(codec::encode);
        staged.push((key, value));
    }

    /// Forgets every cached value; a large cache is freed on a thread of its own.
    pub fn clear(&mut self) {
        drop_later(std::mem::take(&mut self.entries));
        self.changed.clear();
        let forgotten = std::mem::take(&mut self.forgotten);
        let count = forgotten.iter().map(Vec::len).sum();
        drop_later_if_many(forgotten, count);
    }

    /// How many values are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `staged` sorted by key, for writes whose keys are distinct (a flush's: values own
/// distinct keys and index entries), so the sort need not be stable.
fn sorted(mut staged: Vec<Change>) -> Vec<Change> {
    staged.sort_unstable_by(|left, right| left.0.cmp(&right.0));
    staged
}

/// Stages two sorted runs of writes with distinct keys into `tx`. Collecting a sorted
/// sequence into a map is linear: the map's sort finds the two runs and merges them.
fn stage_sorted_halves(tx: &mut Tx<'_>, mut first: Vec<Change>, second: Vec<Change>) {
    first.extend(second);
    let mut staged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = first.into_iter().collect();
    tx.writes.entries.append(&mut staged);
}

/// The index entries `value`, stored under `key`, implies (none for no value), sorted by
/// key. A value lists each of its index keys once, so no two entries share a key (a later
/// duplicate would win, as a staged write does).
fn sorted_index<V: Indexed>(value: Option<&V>, key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut index = value
        .map(|value| value.index_entries(key))
        .unwrap_or_default();
    index.sort_by(|left, right| left.0.cmp(&right.0));
    index
}

/// Stages the writes that turn the index entries `old` into `new` (both sorted by key).
fn stage_index_diff(
    old: &[(Vec<u8>, Vec<u8>)],
    new: &[(Vec<u8>, Vec<u8>)],
    staged: &mut Vec<Change>,
) {
    let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => return,
            (Some((old_key, _)), None) => {
                staged.push((old_key.clone(), None));
                old.next();
            }
            (None, Some((new_key, new_value))) => {
                staged.push((new_key.clone(), Some(new_value.clone())));
                new.next();
            }
            (Some((old_key, old_value)), Some((new_key, new_value))) => {
                match old_key.cmp(new_key) {
                    std::cmp::Ordering::Less => {
                        staged.push((old_key.clone(), None));
                        old.next();
                    }
                    std::cmp::Ordering::Greater => {
                        staged.push((new_key.clone(), Some(new_value.clone())));
                        new.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if old_value != new_value {
                            staged.push((new_key.clone(), Some(new_value.clone())));
                        }
                        old.next();
                        new.next();
                    }
                }
            }
        }
    }
}

/// Where the records come from: the log, or a test's list.
pub trait RecordSource: Sync {
    /// The position of the last record (0 for an empty log).
    fn head(&self) -> Result<u64, Error>;
    /// Up to `limit` records from position `from` on, in order.
    fn read_range(&self, from: u64, limit: usize) -> Result<Vec<Record>, Error>;
}

impl RecordSource for Vec<Record> {
    fn head(&self) -> Result<u64, Error> {
        Ok(self.last().map_or(0, |record| record.position))
    }

    fn read_range(&self, from: u64, limit: usize) -> Result<Vec<Record>, Error> {
        let start = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(self.iter().skip(start).take(limit).cloned().collect())
    }
}

/// A generation of a projection's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    /// Its number, part of the tree name.
    pub number: u64,
    /// The projection version that writes it.
    pub version: u32,
}

/// What `proj/meta` holds for one projection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The generation queries read.
    pub active: Option<Generation>,
    /// A generation being built in the shadow, if any.
    pub building: Option<Generation>,
    /// Generations replaced and not yet dropped.
    pub retired: Vec<u64>,
    /// The number the next generation gets.
    pub next_number: u64,
}

/// The tree of one generation.
pub fn generation_tree(name: &str, number: u64) -> String {
    format!("proj/{name}/g{number}")
}

/// Reads a projection's meta entry.
pub fn read_meta(meta: &dyn KvTree, name: &str) -> Result<Meta, Error> {
    match meta.get(name.as_bytes())? {
        Some(bytes) => codec::decode(name.as_bytes(), &bytes),
        None => Ok(Meta::default()),
    }
}

fn write_meta(meta_tree: &dyn KvTree, name: &str, meta: &Meta) -> Result<(), StoreError> {
    let mut writes = Writes::default();
    writes.put(name.as_bytes().to_vec(), codec::encode(meta));
    meta_tree.apply_batch(writes)
}

/// Reads the checkpoint of a data tree (0 when nothing was folded).
pub fn read_checkpoint(tree: &dyn KvTree) -> Result<u64, Error> {
    match tree.get(CHECKPOINT_KEY)? {
        None => Ok(0),
        Some(bytes) => {
            let bytes: [u8; 8] = bytes.as_slice().try_into().map_err(|_| Error::Corrupt {
                key: codec::show_key(CHECKPOINT_KEY),
                message: format!("checkpoint of {} bytes, expected 8", bytes.len()),
            })?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

/// Tuning of catch-up and rebuild.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records read from the log at a time.
    pub read_batch_records: usize,
    /// Records folded between two commits of a rebuild or catch-up. Larger is faster and
    /// holds more in memory; a crash loses at most this much rebuild work. With the caches
    /// dropped after each commit (see `cache_entries_max`), this bounds a rebuild's memory
    /// however long the log is.
    pub commit_records: usize,
    /// After a commit, caches larger than this are dropped, and refill from the trees as
    /// later records need them. Between the writer's batches this keeps a serving process's
    /// memory from growing with every case it has seen (32,000 cases left about 120 MiB in
    /// the caches of a server under load, never read again once their cases closed); between
    /// a rebuild's commits, it keeps the rebuild to what one run of `commit_records` folds.
    pub cache_entries_max: usize,
    /// Commit the projections on several threads when they stage a few times this many
    /// writes. (A catch-up or rebuild always folds each projection on a thread of its own.)
    pub parallel_records_min: usize,
    /// Keys per storage batch when a commit is large (see `apply_in_parts`).
    pub batch_keys_max: usize,
    /// Test hook: fail a rebuild or catch-up after this many commits, as a crash would.
    pub fail_after_commits: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            read_batch_records: 16_384,
            // A rebuild of up to a million records commits once at the end, so every page is
            // written once; that fold peaks at about 1.6 GiB resident (sled's cache included).
            // A longer log commits every 1,048,576 records and starts each run with empty
            // caches, so its rebuild holds no more. A quarter of this took about 1.15 GiB and
            // rebuilt a million records between 5% slower and no slower in alternated runs
            // (more pages rewritten, fewer fresh pages).
            commit_records: 1_048_576,
            cache_entries_max: 16_384,
            parallel_records_min: 4_096,
            batch_keys_max: 4_096,
            fail_after_commits: None,
        }
    }
}

/// Progress of a catch-up or rebuild, reported after every batch read from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The projections being brought up to date.
    pub names: Vec<String>,
    /// The first position folded in this run.
    pub from: u64,
    /// The last position folded so far.
    pub done: u64,
    /// The position to reach.
    pub head: u64,
    /// Records folded per second so far.
    pub records_per_second: f64,
    /// Whether the folds have reached `done` and the projections are writing what they
    /// folded (a commit: reported once as it starts; a rebuild's last commit is about half
    /// of its time, with no records read meanwhile).
    pub writing: bool,
}

impl Progress {
    /// How many records the run folds in all: `from` to `head`.
    pub fn records_to_fold(&self) -> u64 {
        self.head.saturating_sub(self.from) + 1
    }

    /// How many of them are folded: `from` to `done`.
    pub fn records_folded(&self) -> u64 {
        (self.done.saturating_sub(self.from) + 1).min(self.records_to_fold())
    }

    /// The whole per cent of the run folded.
    pub fn percent_folded(&self) -> u64 {
        self.records_folded() * 100 / self.records_to_fold()
    }
}

/// What a catch-up or rebuild did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Projections brought up to date, with the generation now active.
    pub projections: Vec<(String, Generation)>,
    /// Records read from the log.
    pub records: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Of which folding records into the caches (reading the log runs beside it).
    pub fold_seconds: f64,
    /// Of which writing commits to storage.
    pub commit_seconds: f64,
    /// Of which making the writes durable and swapping generations at the end.
    pub finish_seconds: f64,
    /// Whether a new generation was swapped in.
    pub swapped: Vec<String>,
}

struct Member {
    projection: Box<dyn Projection>,
    /// The tree `apply` writes: the active generation's (none before the first build).
    tree: Option<Arc<PagedTree>>,
    generation: Option<Generation>,
    checkpoint: u64,
}

/// A member being brought up to date: the active one catching up, or a shadow generation.
struct Target {
    member: usize,
    tree: Arc<PagedTree>,
    generation: Generation,
    checkpoint: u64,
    shadow: bool,
    writes: Writes,
    /// Nothing was committed to the tree yet and it started empty.
    empty: bool,
}

/// Every projection of a ledger, kept up to date by the log's single writer.
pub struct Projections {
    store: Arc<dyn KvStore>,
    meta: Arc<dyn KvTree>,
    members: Vec<Member>,
    options: Options,
    /// The thread dropping the generations the last swap retired (see `run_targets`).
    dropping: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Projections {
    fn drop(&mut self) {
        self.finish_dropping();
    }
}

impl Projections {
    /// Opens the projections: drops retired generations, then brings every projection up to
    /// the log's head — catching up from its checkpoint, or rebuilding in a shadow
    /// generation when there is none or its version changed — and swaps shadows in.
    pub fn open(
        store: Arc<dyn KvStore>,
        projections: Vec<Box<dyn Projection>>,
        source: &dyn RecordSource,
        options: Options,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(Projections, Summary), Error> {
        let meta = store.open_tree(META_TREE)?;
        let mut names = std::collections::BTreeSet::new();
        for projection in &projections {
            if !names.insert(projection.name()) {
                return Err(Error::Duplicate(projection.name().to_string()));
            }
        }
        let mut members = Vec::with_capacity(projections.len());
        let mut targets = Vec::new();
        for projection in projections {
            let name = projection.name();
            let version = projection.version();
            let mut entry = read_meta(meta.as_ref(), name)?;
            drop_retired(store.as_ref(), meta.as_ref(), name, &mut entry)?;
            let index = members.len();
            let tree = match entry.active {
                Some(active) => Some(paged_tree(store.as_ref(), name, active.number)?),
                None => None,
            };
            let checkpoint = match &tree {
                Some(tree) => read_checkpoint(tree.as_ref())?,
                None => 0,
            };
            // A shadow is needed when nothing was built, when the version changed, or when a
            // rebuild was interrupted (it resumes if its version is still current).
            // An active generation whose last commit was cut short is rebuilt too.
            let unfinished = match &tree {
                Some(tree) => is_unfinished(tree.as_ref())?,
                None => false,
            };
            let current =
                !unfinished && entry.active.is_some_and(|active| active.version == version);
            if current && entry.building.is_none() {
                targets.push(Target {
                    member: index,
                    tree: tree.clone().expect("an active generation has a tree"),
                    generation: entry.active.expect("checked above"),
                    checkpoint,
                    shadow: false,
                    writes: Writes::default(),
                    empty: false,
                });
            } else {
                targets.push(start_shadow(
                    store.as_ref(),
                    meta.as_ref(),
                    name,
                    version,
                    &mut entry,
                    index,
                    true,
                )?);
            }
            members.push(Member {
                projection,
                tree,
                generation: entry.active,
                checkpoint,
            });
        }
        let mut projections = Projections {
            store,
            meta,
            members,
            options,
            dropping: None,
        };
        let summary = projections.run(targets, source, progress)?;
        Ok((projections, summary))
    }

    /// Rebuilds the named projections (all when `names` is empty) from the first record into
    /// new shadow generations, then swaps them in. Until the swap, queries read the old
    /// generations.
    pub fn rebuild(
        &mut self,
        names: &[&str],
        source: &dyn RecordSource,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Summary, Error> {
        // The generations the last swap retired are gone before new ones are started.
        self.finish_dropping();
        for name in names {
            if !self
                .members
                .iter()
                .any(|member| member.projection.name() == *name)
            {
                return Err(Error::UnknownProjection((*name).to_string()));
            }
        }
        let mut targets = Vec::new();
        for index in 0..self.members.len() {
            let name = self.members[index].projection.name();
            if !names.is_empty() && !names.contains(&name) {
                continue;
            }
            let version = self.members[index].projection.version();
            let mut entry = read_meta(self.meta.as_ref(), name)?;
            targets.push(start_shadow(
                self.store.as_ref(),
                self.meta.as_ref(),
                name,
                version,
                &mut entry,
                index,
                false,
            )?);
        }
        self.run(targets, source, progress)
    }

    /// The names of the projections, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.members
            .iter()
            .map(|member| member.projection.name())
            .collect()
    }

    /// The last position each projection has folded.
    pub fn checkpoints(&self) -> Vec<(&'static str, u64)> {
        self.members
            .iter()
            .map(|member| (member.projection.name(), member.checkpoint))
            .collect()
    }

    /// The entries each projection holds in its caches (what [`Options::cache_entries_max`]
    /// bounds after each commit).
    pub fn cached(&self) -> Vec<(&'static str, usize)> {
        self.members
            .iter()
            .map(|member| (member.projection.name(), member.projection.cached()))
            .collect()
    }

    /// Folds one committed batch into every projection, each in one atomic write with its
    /// checkpoint. Records already folded are skipped; a gap is an error (the projection
    /// then needs a catch-up, which the next open does).
    pub fn apply<R: AsRecord>(&mut self, records: &[R]) -> Result<(), Error> {
        let decoded = undecoded(records.len());
        for member in &mut self.members {
            let Some(tree) = member.tree.clone() else {
                return Err(Error::NotBuilt(member.projection.name().to_string()));
            };
            let mut writes = Writes::default();
            let result = fold_into(
                member.projection.as_mut(),
                tree.as_ref(),
                &mut member.checkpoint,
                &mut writes,
                records,
                &decoded,
                false,
            )
            .and_then(|()| {
                commit(
                    member.projection.as_mut(),
                    tree.as_ref(),
                    member.checkpoint,
                    writes,
                    &self.options,
                    false,
                    false,
                )
            });
            if let Err(error) = result {
                // The tree was not written: forget what the caches saw, and reread the
                // checkpoint so a retried batch folds from what is stored.
                member.projection.discard();
                member.checkpoint = read_checkpoint(tree.as_ref())?;
                return Err(error);
            }
        }
        Ok(())
    }

    /// Drops the trees of generations a swap retired on a thread of its own: a million-record
    /// generation took a third of a second to drop, after the new one was already serving.
    /// Their numbers stay in meta's retired list until the next open or shadow drops them
    /// again (dropping a tree that is gone does nothing), so a process that ends before the
    /// thread does leaves nothing behind. The thread is joined before the next rebuild and
    /// when the projections are dropped.
    fn drop_in_background(&mut self, trees: Vec<String>) {
        self.finish_dropping();
        if trees.is_empty() {
            return;
        }
        let store = self.store.clone();
        let drop_all = move || {
            for tree in trees {
                // A failure leaves the tree listed as retired, dropped at the next open.
                let _ = store.drop_tree(&tree);
            }
        };
        let spawned = std::thread::Builder::new()
            .name("generation-drop".into())
            .spawn(drop_all);
        // A thread that cannot start leaves the trees to the next open.
        self.dropping = spawned.ok();
    }

    /// Waits for the thread of [`Projections::drop_in_background`], if one runs.
    fn finish_dropping(&mut self) {
        if let Some(thread) = self.dropping.take() {
            let _ = thread.join();
        }
    }

    fn run(
        &mut self,
        targets: Vec<Target>,
        source: &dyn RecordSource,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Summary, Error> {
        let result = self.run_targets(targets, source, progress);
        if result.is_err() {
            // The caches hold what the interrupted run folded, possibly for a shadow
            // generation; the writer's next batch must not read them.
            for member in &mut self.members {
                member.projection.discard();
            }
        }
        result
    }

    fn run_targets(
        &mut self,
        mut targets: Vec<Target>,
        source: &dyn RecordSource,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Summary, Error> {
        let started = Instant::now();
        let head = source.head()?;
        let names: Vec<String> = targets
            .iter()
            .map(|target| self.members[target.member].projection.name().to_string())
            .collect();
        for target in &targets {
            if target.checkpoint > head {
                return Err(Error::AheadOfLog {
                    name: self.members[target.member].projection.name().to_string(),
                    checkpoint: target.checkpoint,
                    head,
                });
            }
        }
        let from = targets
            .iter()
            .map(|target| target.checkpoint + 1)
            .min()
            .unwrap_or(head + 1);
        // Every target starts from a clean cache: a shadow must not see the active
        // generation's cached values.
        for target in &targets {
            self.members[target.member].projection.discard();
        }
        let mut commits = 0u64;
        let mut records_read = 0u64;
        let (mut fold_seconds, mut commit_seconds) = (0.0, 0.0);
        let read_batch_records = self.options.read_batch_records.max(1);
        let store = self.store.clone();
        // Reading and decoding run on their own thread, one chunk ahead of the folds.
        std::thread::scope(|scope| -> Result<(), Error> {
            let (sender, chunks) = std::sync::mpsc::sync_channel::<Result<Chunk, Error>>(2);
            scope.spawn(move || read_ahead(source, from, head, read_batch_records, &sender));
            // Dropped when this closure returns, however it returns, which stops the thread.
            let (_stop, stopped) = std::sync::mpsc::channel::<()>();
            scope.spawn(move || write_back(store.as_ref(), &stopped));
            let mut report = |done: u64, writing: bool| {
                let seconds = started.elapsed().as_secs_f64();
                progress(&Progress {
                    names: names.clone(),
                    from,
                    done,
                    head,
                    records_per_second: (done + 1 - from) as f64 / seconds.max(1e-9),
                    writing,
                });
            };
            loop {
                let fold_started = Instant::now();
                let segment = self
                    .fold_segment(&mut targets, &chunks, head, &mut |done| report(done, false))?;
                fold_seconds += fold_started.elapsed().as_secs_f64();
                records_read += segment.records;
                if segment.records == 0 {
                    break;
                }
                report(segment.next - 1, true);
                let commit_started = Instant::now();
                self.commit_targets(&mut targets, segment.next > head)?;
                for target in targets.iter_mut() {
                    target.empty = false;
                }
                commit_seconds += commit_started.elapsed().as_secs_f64();
                commits += 1;
                if segment.next > head {
                    break;
                }
                if self.options.fail_after_commits == Some(commits) {
                    return Err(Error::Injected(commits));
                }
            }
            Ok(())
        })?;
        if from <= head && records_read != head - from + 1 {
            return Err(Error::Source(format!(
                "read {records_read} records from position {from}, expected up to {head}"
            )));
        }
        let finish_started = Instant::now();
        // Catch-up and rebuild run outside the writer, so nothing else flushes their writes.
        self.store.flush()?;
        let mut summary = Summary {
            projections: Vec::new(),
            records: records_read,
            seconds: 0.0,
            fold_seconds,
            commit_seconds,
            finish_seconds: 0.0,
            swapped: Vec::new(),
        };
        let mut retired = Vec::new();
        for target in targets {
            let member = &mut self.members[target.member];
            let name = member.projection.name();
            member.projection.discard();
            if target.shadow {
                let old = swap_in(self.meta.as_ref(), name, target.generation)?;
                retired.extend(old.map(|number| generation_tree(name, number)));
                member.tree = Some(target.tree);
                member.generation = Some(target.generation);
                summary.swapped.push(name.to_string());
            }
            member.checkpoint = target.checkpoint;
            summary
                .projections
                .push((name.to_string(), target.generation));
        }
        self.drop_in_background(retired);
        summary.finish_seconds = finish_started.elapsed().as_secs_f64();
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Folds chunks from `chunks` until `commit_records` records or the head, each target
    /// on a thread of its own, fed the same chunks: a target that is done with a chunk goes
    /// on to the next without waiting for the others, so both cores stay busy until the
    /// segment's end. Reports each chunk's last position once it is handed out.
    fn fold_segment(
        &mut self,
        targets: &mut [Target],
        chunks: &std::sync::mpsc::Receiver<Result<Chunk, Error>>,
        head: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Segment, Error> {
        // Pair each target with its member's projection. Targets name distinct members.
        let mut projections: Vec<Option<&mut Box<dyn Projection>>> = self
            .members
            .iter_mut()
            .map(|member| Some(&mut member.projection))
            .collect();
        let mut work: Vec<(&mut Target, &mut Box<dyn Projection>)> = Vec::new();
        for target in targets.iter_mut() {
            let projection = projections[target.member]
                .take()
                .expect("each member has one target");
            work.push((target, projection));
        }
        let commit_records = self.options.commit_records;
        let failed = std::sync::atomic::AtomicBool::new(false);
        let mut segment = Segment {
            records: 0,
            next: 0,
        };
        let (dealt, results) = std::thread::scope(|scope| {
            let mut senders = Vec::new();
            let mut handles = Vec::new();
            for (target, projection) in work.iter_mut() {
                let (sender, received) = std::sync::mpsc::sync_channel::<Arc<Chunk>>(2);
                senders.push(sender);
                let failed = &failed;
                handles.push(scope.spawn(move || -> Result<(), Error> {
                    for chunk in received {
                        let mut writes = std::mem::take(&mut target.writes);
                        let result = fold_into(
                            projection.as_mut(),
                            target.tree.as_ref(),
                            &mut target.checkpoint,
                            &mut writes,
                            &chunk.records,
                            &chunk.decoded,
                            target.empty,
                        );
                        target.writes = writes;
                        if result.is_err() {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                            return result;
                        }
                    }
                    Ok(())
                }));
            }
            let dealt = (|| -> Result<(), Error> {
                while segment.records < commit_records.max(1) as u64 {
                    let Ok(chunk) = chunks.recv() else {
                        return Ok(());
                    };
                    let chunk = chunk?;
                    let Some(last) = chunk.records.last() else {
                        return Ok(());
                    };
                    segment.next = last.position + 1;
                    segment.records += chunk.records.len() as u64;
                    // The last fold to finish with a chunk frees it, beside the others.
                    let chunk = Arc::new(chunk);
                    for sender in &senders {
                        // A fold that failed has gone; its error is joined below.
                        let _ = sender.send(chunk.clone());
                    }
                    drop(chunk);
                    progress(segment.next - 1);
                    if failed.load(std::sync::atomic::Ordering::Relaxed) || segment.next > head {
                        return Ok(());
                    }
                }
                Ok(())
            })();
            drop(senders);
            let results: Vec<Result<(), Error>> = handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|_| Err(Error::Source("a fold thread panicked".into())))
                })
                .collect();
            (dealt, results)
        });
        dealt?;
        results.into_iter().collect::<Result<(), Error>>()?;
        Ok(segment)
    }

    /// Commits what every target staged; `last` says this is the run's last commit, after
    /// which the caches are discarded.
    fn commit_targets(&mut self, targets: &mut [Target], last: bool) -> Result<(), Error> {
        let options = &self.options;
        let mut projections: Vec<Option<&mut Box<dyn Projection>>> = self
            .members
            .iter_mut()
            .map(|member| Some(&mut member.projection))
            .collect();
        let mut work: Vec<(&mut Target, &mut Box<dyn Projection>)> = Vec::new();
        for target in targets.iter_mut() {
            let projection = projections[target.member]
                .take()
                .expect("each member has one target");
            work.push((target, projection));
        }
        let staged: usize = work.iter().map(|(target, _)| target.writes.len()).sum();
        let one = |(target, projection): &mut (&mut Target, &mut Box<dyn Projection>)| {
            commit(
                projection.as_mut(),
                target.tree.as_ref(),
                target.checkpoint,
                std::mem::take(&mut target.writes),
                options,
                target.shadow,
                last,
            )
        };
        // Each projection has its own tree, so large commits run side by side. Only their
        // flushes and paging overlap, though: sled 0.34's `apply_batch` takes a process-wide
        // write lock, so the storage batches of all four run one at a time (about a third
        // of a rebuild's commit time), and beside the log's own batches in production.
        if staged + work.len() * options.parallel_records_min >= options.parallel_records_min * 8
            && work.len() > 1
        {
            let results: Vec<Result<(), Error>> = std::thread::scope(|scope| {
                let handles: Vec<_> = work
                    .iter_mut()
                    .map(|item| scope.spawn(|| one(item)))
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle.join().unwrap_or_else(|_| {
                            Err(Error::Source("a commit thread panicked".into()))
                        })
                    })
                    .collect()
            });
            results.into_iter().collect()
        } else {
            work.iter_mut().try_for_each(one)
        }
    }
}

/// Makes a new shadow generation (or resumes an unfinished one of the same version when
/// `resume`), recorded in meta before anything is written to it.
fn start_shadow(
    store: &dyn KvStore,
    meta: &dyn KvTree,
    name: &str,
    version: u32,
    entry: &mut Meta,
    member: usize,
    resume: bool,
) -> Result<Target, Error> {
    if let Some(building) = entry.building {
        let tree = paged_tree(store, name, building.number)?;
        if resume && building.version == version && !is_unfinished(tree.as_ref())? {
            let checkpoint = read_checkpoint(tree.as_ref())?;
            return Ok(Target {
                member,
                tree,
                generation: building,
                checkpoint,
                shadow: true,
                writes: Writes::default(),
                empty: false,
            });
        }
        entry.retired.push(building.number);
        entry.building = None;
    }
    // Generation numbers start at 1 and are never reused.
    let number = entry.next_number.max(1);
    let generation = Generation { number, version };
    entry.next_number = number + 1;
    entry.building = Some(generation);
    write_meta(meta, name, entry)?;
    // The intent is made durable before any shadow write, so a crash at any later point
    // finds the shadow named in meta and resumes or drops it.
    store.flush()?;
    drop_retired(store, meta, name, entry)?;
    let tree_name = generation_tree(name, number);
    // A tree of this number can only be left over from a crash before its meta write.
    store.drop_tree(&tree_name)?;
    let tree = Arc::new(PagedTree::new(
        store.open_tree(&tree_name)?,
        crate::layout(name),
    ));
    Ok(Target {
        member,
        tree,
        generation,
        checkpoint: 0,
        shadow: true,
        writes: Writes::default(),
        empty: true,
    })
}

/// The swap: one write to meta makes the shadow active and lists the old generation as
/// retired, whose number it returns for the caller to drop (see
/// [`Projections::drop_in_background`]).
fn swap_in(meta: &dyn KvTree, name: &str, generation: Generation) -> Result<Option<u64>, Error> {
    let mut entry = read_meta(meta, name)?;
    let old = entry.active.map(|old| old.number);
    entry.retired.extend(old);
    entry.active = Some(generation);
    entry.building = None;
    write_meta(meta, name, &entry)?;
    Ok(old)
}

fn drop_retired(
    store: &dyn KvStore,
    meta: &dyn KvTree,
    name: &str,
    entry: &mut Meta,
) -> Result<(), Error> {
    if entry.retired.is_empty() {
        return Ok(());
    }
    for number in &entry.retired {
        store.drop_tree(&generation_tree(name, *number))?;
    }
    entry.retired.clear();
    write_meta(meta, name, entry)?;
    Ok(())
}

/// The records one `fold_segment` folded, and the position after the last.
struct Segment {
    records: u64,
    next: u64,
}

/// Records read from the log, with their acts decoded.
struct Chunk {
    records: Vec<Record>,
    decoded: Vec<OnceLock<Result<Event, Error>>>,
}

/// How often [`write_back`] makes what catch-up and rebuild wrote durable.
const WRITE_BACK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Makes the store durable every [`WRITE_BACK_EVERY`] until `stop` is dropped, so that the
/// disk writes a rebuild's commits while they run rather than all in the final flush (a
/// second of a million-record rebuild). An error is left for the final flush to report.
fn write_back(store: &dyn KvStore, stop: &std::sync::mpsc::Receiver<()>) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(WRITE_BACK_EVERY)
    {
        if store.flush().is_err() {
            return;
        }
    }
}

/// Reads positions `from..=head` in chunks, decodes each record's act, and sends the chunks
/// in order; stops at the first error (sent too) or when the receiver is gone.
fn read_ahead(
    source: &dyn RecordSource,
    from: u64,
    head: u64,
    read_batch_records: usize,
    sender: &std::sync::mpsc::SyncSender<Result<Chunk, Error>>,
) {
    let mut next = from;
    while next <= head {
        let want = usize::try_from(head - next + 1)
            .unwrap_or(usize::MAX)
            .min(read_batch_records);
        let chunk = source.read_range(next, want).and_then(|records| {
            let Some(last) = records.last() else {
                return Err(Error::Source(format!(
                    "the log returned nothing from position {next} (head {head})"
                )));
            };
            if records[0].position != next {
                return Err(Error::Gap {
                    name: "log".into(),
                    expected: next,
                    found: records[0].position,
                });
            }
            next = last.position + 1;
            let decoded = records
                .iter()
                .map(|record| OnceLock::from(crate::decode::event(record)))
                .collect();
            Ok(Chunk { records, decoded })
        });
        let failed = chunk.is_err();
        if sender.send(chunk).is_err() || failed {
            return;
        }
    }
}

/// One empty decoding slot per record.
fn undecoded(count: usize) -> Vec<OnceLock<Result<Event, Error>>> {
    (0..count).map(|_| OnceLock::new()).collect()
}

fn fold_into<R: AsRecord>(
    projection: &mut dyn Projection,
    tree: &dyn KvTree,
    checkpoint: &mut u64,
    writes: &mut Writes,
    records: &[R],
    decoded: &[OnceLock<Result<Event, Error>>],
    empty: bool,
) -> Result<(), Error> {
    let mut tx = if empty {
        Tx::over_empty(tree, std::mem::take(writes))
    } else {
        Tx::new(tree, std::mem::take(writes))
    };
    let mut result = Ok(());
    for (record, decoded) in records.iter().map(AsRecord::record).zip(decoded) {
        if record.position <= *checkpoint {
            continue;
        }
        if record.position != *checkpoint + 1 {
            result = Err(Error::Gap {
                name: projection.name().to_string(),
                expected: *checkpoint + 1,
                found: record.position,
            });
            break;
        }
        if let Err(error) = projection.apply(&Input { record, decoded }, &mut tx) {
            result = Err(error);
            break;
        }
        *checkpoint = record.position;
    }
    *writes = tx.into_writes();
    result
}

/// Writes what `projection` staged and `checkpoint` to `tree`. `shadow` says the tree is a
/// generation being built, which nobody reads before its swap: a large commit there may be
/// written in parts that are not atomic by themselves (see [`apply_in_parts`]).
fn commit(
    projection: &mut dyn Projection,
    tree: &PagedTree,
    checkpoint: u64,
    writes: Writes,
    options: &Options,
    shadow: bool,
    last: bool,
) -> Result<(), Error> {
    let too_large = projection.cached() > options.cache_entries_max;
    let mut tx = Tx::new(tree, writes);
    tx.last = last || too_large;
    projection.flush(&mut tx)?;
    let writes = tx.into_writes();
    if writes.is_empty() && read_checkpoint(tree)? == checkpoint {
        return Ok(());
    }
    let mut writes = tree.physical_writes(writes)?;
    writes.put(CHECKPOINT_KEY.to_vec(), checkpoint.to_be_bytes().to_vec());
    let batch_keys_max = options.batch_keys_max.max(2);
    if writes.len() <= batch_keys_max {
        tree.inner().apply_batch(writes)?;
    } else {
        apply_in_parts(tree.inner(), writes, batch_keys_max, shadow)?;
    }
    // After a run's last commit the caller discards the caches once the commits are
    // durable, so that freeing them does not take a core from the other commits.
    if too_large {
        projection.discard();
    }
    Ok(())
}

/// Applies a large commit as several storage batches. sled pins one epoch for a whole batch,
/// so a batch of hundreds of thousands of keys piles up garbage and slows every insert; parts
/// of a few thousand keys do not. The commit is then not atomic by itself: the first part
/// sets [`UNFINISHED_KEY`], and the last part, which holds the checkpoint, removes it. A
/// crash in between leaves the marker, and a generation found with it is rebuilt.
///
/// In a `shadow` generation (which nobody reads before its swap) the parts between are
/// written key by key ([`KvTree::write_each`]), on two threads when there are many: a
/// rebuild's largest commit (126,000 case-status keys per million records) took twice as
/// long in batches, which sled applies one at a time across the whole store. The marker is
/// written before them and the checkpoint after them, so a crash still leaves the marker.
fn apply_in_parts(
    tree: &dyn KvTree,
    writes: Writes,
    batch_keys_max: usize,
    shadow: bool,
) -> Result<(), Error> {
    let mut part = Writes::default();
    part.put(UNFINISHED_KEY.to_vec(), Vec::new());
    if shadow {
        tree.apply_batch(std::mem::take(&mut part))?;
    }
    let mut checkpoint = None;
    let mut parts = Vec::new();
    for (key, value) in writes.entries {
        if key == CHECKPOINT_KEY {
            checkpoint = value;
            continue;
        }
        part.entries.insert(key, value);
        if part.len() >= batch_keys_max {
            let full = std::mem::take(&mut part);
            if shadow {
                parts.push(full);
            } else {
                tree.apply_batch(full)?;
            }
        }
    }
    if shadow {
        write_parts(tree, parts)?;
    }
    if let Some(checkpoint) = checkpoint {
        part.put(CHECKPOINT_KEY.to_vec(), checkpoint);
    }
    part.delete(UNFINISHED_KEY.to_vec());
    tree.apply_batch(part)?;
    Ok(())
}

/// Parts of a shadow commit from which [`write_parts`] uses a second thread.
const PARALLEL_PARTS_MIN: usize = 8;

/// Writes `parts` key by key: the first half of them on this thread, the second half on
/// another when there are many.
fn write_parts(tree: &dyn KvTree, mut parts: Vec<Writes>) -> Result<(), Error> {
    let write_all = |parts: Vec<Writes>| -> Result<(), Error> {
        parts
            .into_iter()
            .try_for_each(|part| tree.write_each(part).map_err(Error::from))
    };
    if parts.len() < PARALLEL_PARTS_MIN {
        return write_all(parts);
    }
    let second = parts.split_off(parts.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| write_all(second));
        let first = write_all(parts);
        let other = other
            .join()
            .unwrap_or_else(|_| Err(Error::Source("a commit thread panicked".into())));
        first.and(other)
    })
}

/// Whether a commit split into parts was interrupted in this tree.
pub fn is_unfinished(tree: &dyn KvTree) -> Result<bool, Error> {
    Ok(tree.get(UNFINISHED_KEY)?.is_some())
}

/// Data trees already opened, by projection name: (generation number, tree).
type OpenTrees = HashMap<String, (u64, Arc<dyn KvTree>)>;

/// The logical view of generation `number` of projection `name`, paged by its layout.
fn paged_tree(store: &dyn KvStore, name: &str, number: u64) -> Result<Arc<PagedTree>, Error> {
    let stored = store.open_tree(&generation_tree(name, number))?;
    Ok(Arc::new(PagedTree::new(stored, crate::layout(name))))
}

/// Reads the active generation of each projection, for queries. Cheap to clone; safe to
/// share between threads. A swap is seen by the next query.
#[derive(Clone)]
pub struct Reader {
    store: Arc<dyn KvStore>,
    meta: Arc<dyn KvTree>,
    open: Arc<Mutex<OpenTrees>>,
}

impl Reader {
    /// A reader over the projections in `store`.
    pub fn new(store: Arc<dyn KvStore>) -> Result<Reader, Error> {
        let meta = store.open_tree(META_TREE)?;
        Ok(Reader {
            store,
            meta,
            open: Arc::default(),
        })
    }

    /// The active data tree of projection `name`.
    pub fn tree(&self, name: &str) -> Result<Arc<dyn KvTree>, Error> {
        let entry = read_meta(self.meta.as_ref(), name)?;
        let Some(active) = entry.active else {
            return Err(Error::NotBuilt(name.to_string()));
        };
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((number, tree)) = open.get(name) {
            if *number == active.number {
                return Ok(tree.clone());
            }
        }
        let tree: Arc<dyn KvTree> = paged_tree(self.store.as_ref(), name, active.number)?;
        open.insert(name.to_string(), (active.number, tree.clone()));
        Ok(tree)
    }

    /// The active generation and checkpoint of projection `name`.
    pub fn status(&self, name: &str) -> Result<(Meta, u64), Error> {
        let entry = read_meta(self.meta.as_ref(), name)?;
        let checkpoint = match entry.active {
            Some(_) => read_checkpoint(self.tree(name)?.as_ref())?,
            None => 0,
        };
        Ok((entry, checkpoint))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::{dump, MemTree};

    /// A tree whose single-key writes fail after `parts` of them, like a process killed in
    /// the middle of a shadow commit.
    struct CutShort {
        inner: MemTree,
        parts: AtomicUsize,
    }

    impl KvTree for CutShort {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.get(key)
        }

        fn scan(
            &self,
            start: &[u8],
            end: Option<&[u8]>,
            visit: &mut dyn FnMut(&[u8], &[u8]) -> crate::store::Scan,
        ) -> Result<(), StoreError> {
            self.inner.scan(start, end, visit)
        }

        fn apply_batch(&self, writes: Writes) -> Result<(), StoreError> {
            self.inner.apply_batch(writes)
        }

        fn write_each(&self, writes: Writes) -> Result<(), StoreError> {
            self.parts
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .map_err(|_| StoreError("killed between two parts".into()))?;
            self.inner.write_each(writes)
        }
    }

    /// `count` data keys and the checkpoint 7.
    fn commit_of(count: usize) -> Writes {
        let mut writes = Writes::default();
        for index in 0..count {
            writes.put(format!("k/{index:06}").into_bytes(), vec![1; 40]);
        }
        writes.put(CHECKPOINT_KEY.to_vec(), 7u64.to_be_bytes().to_vec());
        writes
    }

    #[test]
    fn a_shadow_commit_in_parts_writes_everything_then_clears_the_marker() {
        let tree = MemTree::default();
        // 20 parts of 50: written on two threads.
        apply_in_parts(&tree, commit_of(1_000), 50, true).expect("commits");
        assert!(!is_unfinished(&tree).expect("reads"));
        assert_eq!(read_checkpoint(&tree).expect("reads"), 7);
        assert_eq!(dump(&tree).expect("dumps").len(), 1_001);
    }

    #[test]
    fn a_shadow_commit_cut_between_parts_leaves_the_marker_and_no_checkpoint() {
        let tree = CutShort {
            inner: MemTree::default(),
            parts: AtomicUsize::new(3),
        };
        apply_in_parts(&tree, commit_of(1_000), 50, true).expect_err("the cut is reported");
        assert!(is_unfinished(&tree).expect("reads"));
        assert_eq!(read_checkpoint(&tree).expect("reads"), 0);
        // Some parts were written before the cut: the marker is what tells.
        let stored = dump(&tree.inner).expect("dumps").len();
        assert!(stored > 1 && stored < 1_001, "{stored} keys stored");
    }

    /// A value with two index entries: its group's list, and a list of every value.
    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Item {
        group: u32,
        size: u32,
    }

    impl Indexed for Item {
        fn index_entries(&self, key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
            let mut by_group = format!("g/{:04}/", self.group).into_bytes();
            by_group.extend_from_slice(key);
            let mut all = b"l/".to_vec();
            all.extend_from_slice(key);
            vec![
                (by_group, key.to_vec()),
                (all, self.size.to_be_bytes().to_vec()),
            ]
        }
    }

    /// Changes half of `values` values (a quarter of them moving to another group), removes
    /// some, and adds as many new ones, in a table over `tree`; then flushes it, as the last
    /// commit or not. Returns the writes, the values still cached and those set aside.
    fn changed_and_flushed(tree: &MemTree, values: u32, last: bool) -> (Writes, usize, usize) {
        let mut table = IndexedTable::<Item>::default();
        let mut tx = Tx::new(tree, Writes::default());
        for n in 0..values * 3 / 2 {
            let key = format!("v/{n:08}").into_bytes();
            match n % 4 {
                _ if n >= values => {
                    table
                        .put(
                            &tx,
                            &key,
                            Item {
                                group: n % 7,
                                size: n,
                            },
                        )
                        .expect("puts");
                }
                0 => {
                    let mut item = table.take_for_update(&tx, &key).expect("reads").unwrap();
                    item.group += 1;
                    table.put_if_changed(&tx, &key, item).expect("puts");
                }
                1 => {
                    let mut item = table.take_for_update(&tx, &key).expect("reads").unwrap();
                    item.size += 1;
                    table.put_if_changed(&tx, &key, item).expect("puts");
                }
                2 if n % 8 == 2 => {
                    let slot = table.slot(&tx, &key, |_| true).expect("reads");
                    slot.value = None;
                }
                _ => {
                    table.get(&tx, &key).expect("reads");
                }
            }
        }
        tx.last = last;
        table.flush(&mut tx);
        let (cached, set_aside) = (table.len(), table.forgotten.iter().map(Vec::len).sum());
        table.clear();
        assert!(
            table.forgotten.is_empty() && table.is_empty(),
            "clear frees all"
        );
        (tx.into_writes(), cached, set_aside)
    }

    #[test]
    fn the_last_flush_stages_what_a_flush_that_keeps_the_cache_stages() {
        let values = (FLUSH_PARALLEL_VALUES_MIN as u32) * 2;
        let tree = MemTree::default();
        let mut first = IndexedTable::<Item>::default();
        let mut tx = Tx::new(&tree, Writes::default());
        for n in 0..values {
            let item = Item {
                group: n % 7,
                size: n,
            };
            first
                .put(&tx, format!("v/{n:08}").as_bytes(), item)
                .expect("puts");
        }
        first.flush(&mut tx);
        tree.apply_batch(tx.into_writes()).expect("writes");
        assert_eq!(dump(&tree).expect("dumps").len(), values as usize * 3);

        let (kept, cached, none_aside) = changed_and_flushed(&tree, values, false);
        let (forgotten, left, set_aside) = changed_and_flushed(&tree, values, true);
        assert_eq!(cached, values as usize * 3 / 2, "a flush keeps its cache");
        assert_eq!(none_aside, 0);
        assert_eq!(left, 0, "the last flush empties it");
        assert_eq!(set_aside, cached, "and sets every value aside until clear");
        assert_eq!(kept, forgotten);
        // New values, moved and removed index entries, and removed values are all staged.
        let staged = |key: &[u8]| forgotten.entries.get(key).cloned();
        assert_eq!(
            staged(b"g/0001/v/00000000"),
            Some(Some(b"v/00000000".to_vec()))
        );
        assert_eq!(staged(b"g/0000/v/00000000"), Some(None));
        assert_eq!(staged(b"v/00000002"), Some(None));
        assert_eq!(staged(b"l/v/00000002"), Some(None));
        let new = format!("v/{values:08}").into_bytes();
        assert!(matches!(staged(&new), Some(Some(_))));
        assert_eq!(
            staged(b"v/00000003"),
            None,
            "an unchanged value is not staged"
        );
    }
}
