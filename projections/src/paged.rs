//! Pages: many small logical entries stored as few larger values.
//!
//! sled pays per key (about 15–30 µs an insert on the development machine, whatever the
//! value's size), and a projection of a million records has a million and a half small
//! entries. [`PagedTree`] keeps the logical view every projection and query uses (ordered
//! keys and values, [`KvTree`]) and stores the entries of each *class* of keys (all keys
//! under one tag such as `c/` or `i/`) in pages of 4 to 64 entries. The writer rewrites a
//! whole page for each entry a batch changes, so a class that most records change at random
//! places gets small pages, one that grows at an end or holds most entries larger ones.
//!
//! Pages are content-defined, so their bounds depend only on which entries exist, never on
//! the order they were written in: an entry whose key hashes (FNV-1a, 64 bits) to a multiple
//! of the class's `entries_per_page` is a *boundary* and ends its page. A page is stored
//! under its last entry's key; the entries after the class's last boundary form the class's
//! tail page, stored under the class prefix followed by [`TAIL_MARK`]. So the same logical
//! entries always give the same stored bytes, which is what makes "rebuilt equals
//! incremental, byte for byte" hold through paging, and a page stays near its target size
//! whatever the keys look like (time-ordered ids arriving in a burst, sparse lists, dense
//! lists).
//!
//! The page holding key `k` is the first stored key at or after `k` within its class: one
//! forward seek. Stored keys and the logical entries they expand to sort the same way, so a
//! scan walks the stored tree once, expanding pages in place.
//!
//! Page value: for each entry in key order, the key without the class prefix (u16 length,
//! big-endian, then the bytes) and the value (u32 length, big-endian, then the bytes).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::store::{prefix_end, KvTree, Pair, Scan, StoreError, Writes};

/// A logical write: the key, and its new value or `None` for a removal.
type Change = (Vec<u8>, Option<Vec<u8>>);

/// How one class of keys is paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// The class is every key starting with the key's first `prefix_bytes` bytes.
    pub prefix_bytes: usize,
    /// The mean number of entries per page.
    pub entries_per_page: u64,
}

/// Which class a key belongs to; `None` stores the key as it is. Must depend on the key's
/// first bytes only, the same for every key of a class and for the class's tail mark.
pub type Layout = fn(&[u8]) -> Option<Class>;

/// The class of `key` under a table of two-byte tags and their mean entries per page: what
/// every projection's layout is.
pub fn by_tag(key: &[u8], tags: &[(&[u8; 2], u64)]) -> Option<Class> {
    let tag = key.get(..2)?;
    tags.iter()
        .find(|(known, _)| known.as_slice() == tag)
        .map(|&(_, entries_per_page)| Class {
            prefix_bytes: 2,
            entries_per_page,
        })
}

/// A layout that pages nothing.
pub fn unpaged(_key: &[u8]) -> Option<Class> {
    None
}

/// What follows a class prefix in the key of the class's tail page. No logical key of a paged
/// class may start with it (the keys of this crate never have 16 bytes of 0xFF after a tag).
pub const TAIL_MARK: [u8; 16] = [0xFF; 16];

/// Logical changes from which [`PagedTree::physical_writes`] cuts pages on two threads.
const PARALLEL_CHANGES_MIN: usize = 65_536;

/// The most bytes a page may hold; past it, a page is corrupt (pages hold tens of entries).
pub const PAGE_BYTES_MAX: usize = 64 * 1024 * 1024;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a (64 bits) continued from `hash` over `bytes`; from [`FNV_OFFSET`] it is the hash of
/// `bytes`, so hashing a prefix once and then each rest gives each whole key's hash.
fn fnv1a_from(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Whether the entry whose key is a class's prefix followed by `rest` ends its page; `seed`
/// is the FNV-1a state after the prefix.
fn is_boundary(seed: u64, class: Class, rest: &[u8]) -> bool {
    fnv1a_from(seed, rest).is_multiple_of(class.entries_per_page.max(1))
}

fn tail_key(prefix: &[u8]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&TAIL_MARK);
    key
}

fn corrupt(key: &[u8], message: &str) -> StoreError {
    StoreError(format!(
        "corrupt page at {}: {message}",
        crate::codec::show_key(key)
    ))
}

/// Walks the entries of a stored page: (key without the class prefix, value).
fn entries<'a>(
    page_key: &'a [u8],
    bytes: &'a [u8],
) -> impl Iterator<Item = Result<(&'a [u8], &'a [u8]), StoreError>> + 'a {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut take = |count: usize| -> Result<&'a [u8], StoreError> {
            if rest.len() < count {
                return Err(corrupt(page_key, "entry cut short"));
            }
            let (head, tail) = rest.split_at(count);
            rest = tail;
            Ok(head)
        };
        let entry = (|| {
            let length = take(2)?;
            let key = take(usize::from(u16::from_be_bytes([length[0], length[1]])))?;
            let length = take(4)?;
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            let value = take(usize::try_from(length).unwrap_or(usize::MAX))?;
            Ok((key, value))
        })();
        if entry.is_err() {
            rest = &[];
        }
        Some(entry)
    })
}

/// The value of the entry `wanted` (the key without its class prefix) in a stored page.
fn find(page_key: &[u8], bytes: &[u8], wanted: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    for entry in entries(page_key, bytes) {
        let (rest, value) = entry?;
        match rest.cmp(wanted) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Equal => return Ok(Some(value.to_vec())),
            std::cmp::Ordering::Greater => break,
        }
    }
    Ok(None)
}

/// A tree whose entries are stored in pages by `layout`; reads and writes are logical.
#[derive(Clone)]
pub struct PagedTree {
    inner: Arc<dyn KvTree>,
    layout: Layout,
}

impl PagedTree {
    /// The logical view of `inner`, paged by `layout`.
    pub fn new(inner: Arc<dyn KvTree>, layout: Layout) -> PagedTree {
        PagedTree { inner, layout }
    }

    /// The stored tree.
    pub fn inner(&self) -> &dyn KvTree {
        self.inner.as_ref()
    }

    /// The first stored page at or after `key` within the class `prefix`: its key and bytes.
    fn page_at(&self, key: &[u8], prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        let end = prefix_end(prefix);
        let mut found = None;
        self.inner
            .scan(key, end.as_deref(), &mut |page_key, bytes| {
                found = Some((page_key.to_vec(), bytes.to_vec()));
                Scan::Stop
            })?;
        Ok(found)
    }

    /// The key of the stored page holding `key` (the tail when the class is empty), loaded
    /// into `pages` unless it already is.
    fn touch(
        &self,
        key: &[u8],
        prefix: &[u8],
        tail: &[u8],
        pages: &mut BTreeMap<Vec<u8>, Loaded>,
    ) -> Result<Vec<u8>, StoreError> {
        match self.page_at(key, prefix)? {
            Some((page_key, bytes)) => {
                pages.entry(page_key.clone()).or_insert(Loaded {
                    bytes,
                    changes: Vec::new(),
                });
                Ok(page_key)
            }
            None => {
                pages.entry(tail.to_vec()).or_default();
                Ok(tail.to_vec())
            }
        }
    }

    /// The stored writes that make the logical `writes`: the pages they touch, re-cut at
    /// their boundaries, and the unpaged keys as they are.
    pub fn physical_writes(&self, writes: Writes) -> Result<Writes, StoreError> {
        let mut out = Writes::default();
        // Each class with its changes, in key order.
        let mut classes: Vec<(Vec<u8>, Class, Vec<Change>)> = Vec::new();
        for (key, value) in writes.entries {
            match (self.layout)(&key) {
                Some(class) if key.len() >= class.prefix_bytes => {
                    let prefix = &key[..class.prefix_bytes];
                    if key[class.prefix_bytes..].starts_with(&TAIL_MARK) {
                        return Err(StoreError(format!(
                            "key {} collides with a tail page",
                            crate::codec::show_key(&key)
                        )));
                    }
                    // Keys come in order, so a class's keys mostly follow one another: the
                    // class is looked up only when the prefix changes.
                    let found = match classes.last() {
                        Some((last, _, _)) if last.as_slice() == prefix => Some(classes.len() - 1),
                        _ => classes
                            .iter()
                            .position(|(known, _, _)| known.as_slice() == prefix),
                    };
                    match found {
                        Some(index) => classes[index].2.push((key, value)),
                        None => classes.push((prefix.to_vec(), class, vec![(key, value)])),
                    }
                }
                _ => {
                    out.entries.insert(key, value);
                }
            }
        }
        let total: usize = classes.iter().map(|(_, _, changes)| changes.len()).sum();
        if total < PARALLEL_CHANGES_MIN {
            for (prefix, class, changes) in classes {
                self.class_writes(&prefix, class, changes, &mut out)?;
            }
            return Ok(out);
        }
        // A rebuild's commit cuts a million entries into pages: two threads, each with
        // classes of about half the entries. Classes own disjoint stored keys. A class with
        // more than half of them and nothing stored yet (a rebuild's lists: four fifths of
        // its entries) is cut in two at a page boundary, one part for each thread.
        let mut jobs: Vec<Job> = Vec::new();
        for (prefix, class, mut changes) in classes {
            if changes.len() * 2 > total && self.page_at(&prefix, &prefix)?.is_none() {
                if let Some(at) = boundary_after(&prefix, class, &changes, changes.len() / 2) {
                    let tail = changes.split_off(at);
                    jobs.push((prefix.clone(), class, changes, Part::New { tail: false }));
                    jobs.push((prefix, class, tail, Part::New { tail: true }));
                    continue;
                }
            }
            jobs.push((prefix, class, changes, Part::Whole));
        }
        jobs.sort_by_key(|(_, _, changes, _)| std::cmp::Reverse(changes.len()));
        let (mut first, mut second) = (Vec::new(), Vec::new());
        let (mut first_changes, mut second_changes) = (0, 0);
        for job in jobs {
            if first_changes <= second_changes {
                first_changes += job.2.len();
                first.push(job);
            } else {
                second_changes += job.2.len();
                second.push(job);
            }
        }
        let cut = |group: Vec<Job>| -> Result<Writes, StoreError> {
            let mut out = Writes::default();
            for (prefix, class, changes, part) in group {
                match part {
                    Part::Whole => self.class_writes(&prefix, class, changes, &mut out)?,
                    Part::New { tail } => cut_new(&prefix, class, &changes, tail, &mut out),
                }
            }
            Ok(out)
        };
        let (first, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| cut(second));
            let first = cut(first);
            (
                first,
                second
                    .join()
                    .unwrap_or_else(|_| Err(StoreError("a paging thread panicked".into()))),
            )
        });
        out.entries.append(&mut first?.entries);
        out.entries.append(&mut second?.entries);
        Ok(out)
    }

    fn class_writes(
        &self,
        prefix: &[u8],
        class: Class,
        changes: Vec<Change>,
        out: &mut Writes,
    ) -> Result<(), StoreError> {
        if self.page_at(prefix, prefix)?.is_none() {
            cut_new(prefix, class, &changes, true, out);
            return Ok(());
        }
        let tail = tail_key(prefix);
        let mut cutter = Cutter::new(prefix, class, out);
        // The pages touched, by stored key, in order, each with the changes that fall in it.
        let mut pages: BTreeMap<Vec<u8>, Loaded> = BTreeMap::new();
        let mut current: Option<Vec<u8>> = None;
        for (key, value) in changes {
            // Changes come in key order, so a change at or before the current page's key
            // falls in it; past it, the next page is one seek away.
            if !matches!(&current, Some(page_key) if key <= *page_key) {
                current = Some(self.touch(&key, prefix, &tail, &mut pages)?);
            }
            let page_key = current.as_ref().expect("set above");
            let page = pages.get_mut(page_key).expect("loaded above");
            page.changes.push((key, value));
        }
        // Re-cut: every page ends at a boundary entry, except the tail. The entries after a
        // page's last boundary (its own was removed) join the stored page after it.
        let mut handled: Option<Vec<u8>> = None;
        loop {
            let next = match &handled {
                Some(handled) if cutter.is_open() => {
                    let mut after = handled.clone();
                    after.push(0);
                    self.touch(&after, prefix, &tail, &mut pages)?
                }
                _ => match pages.keys().next() {
                    Some(page_key) => page_key.clone(),
                    None => break,
                },
            };
            let page = pages.remove(&next).expect("loaded above");
            cutter.out.delete(next.clone());
            page.merge_into(&next, &mut cutter)?;
            if next == tail {
                cutter.finish_tail(&tail);
            }
            handled = Some(next);
        }
        Ok(())
    }
}

/// A class's changes cut by one paging thread: all of them, or a part of a class with
/// nothing stored (see [`cut_new`]).
type Job = (Vec<u8>, Class, Vec<Change>, Part);

/// Which changes of a class a [`Job`] holds.
#[derive(Clone, Copy)]
enum Part {
    /// All of them.
    Whole,
    /// A run of them, in a class with nothing stored; `tail` says the run is the class's
    /// last, whose entries after the last boundary make the tail page.
    New { tail: bool },
}

/// Cuts `changes` (in key order) of a class that has nothing stored yet straight into
/// pages: its removals have nothing to remove. A run other than the class's last must end
/// with a boundary entry (see [`boundary_after`]), so that it leaves no open page.
fn cut_new(prefix: &[u8], class: Class, changes: &[Change], tail: bool, out: &mut Writes) {
    let mut cutter = Cutter::new(prefix, class, out);
    for (key, value) in changes {
        if let Some(value) = value {
            cutter.push(&key[prefix.len()..], value);
        }
    }
    if tail {
        cutter.finish_tail(&tail_key(prefix));
    } else {
        debug_assert!(!cutter.is_open(), "a run ends at a boundary");
    }
}

/// The index just past the first boundary entry (a put) at or after `from` in `changes`,
/// where a run of a new class may end; `None` if none is left before the last change.
fn boundary_after(prefix: &[u8], class: Class, changes: &[Change], from: usize) -> Option<usize> {
    let seed = fnv1a_from(FNV_OFFSET, prefix);
    let last = changes.len().checked_sub(1)?;
    (from..last)
        .find(|&index| {
            let (key, value) = &changes[index];
            value.is_some() && is_boundary(seed, class, &key[prefix.len()..])
        })
        .map(|index| index + 1)
}

/// A stored page, as read, and the changes that fall in it (in key order).
#[derive(Default)]
struct Loaded {
    bytes: Vec<u8>,
    changes: Vec<Change>,
}

impl Loaded {
    /// Hands the page's entries, changed, to `cutter` in key order.
    ///
    /// Whether a key is a boundary depends on the key alone, and a stored page's keys are
    /// known: every one is not a boundary except the last of a page other than the tail.
    /// So only keys new to the page are hashed (a page re-cut for one changed entry hashed
    /// all of its few dozen keys before).
    fn merge_into(&self, page_key: &[u8], cutter: &mut Cutter<'_>) -> Result<(), StoreError> {
        let skip = cutter.prefix.len();
        let tail = page_key[skip..].starts_with(&TAIL_MARK);
        let mut changes = self.changes.iter().peekable();
        let mut stored = entries(page_key, &self.bytes).peekable();
        while let Some(entry) = stored.next() {
            let (rest, value) = entry?;
            // The last entry of a stored page other than the tail is its boundary.
            let boundary = !tail && stored.peek().is_none();
            let mut replaced = false;
            while let Some((key, change)) = changes.peek() {
                let changed = &key[skip..];
                if changed > rest {
                    break;
                }
                replaced = changed == rest;
                if let Some(change) = change {
                    if replaced {
                        cutter.push_known(changed, change, boundary);
                    } else {
                        cutter.push(changed, change);
                    }
                }
                changes.next();
                if replaced {
                    break;
                }
            }
            if !replaced {
                cutter.push_known(rest, value, boundary);
            }
        }
        for (key, change) in changes {
            if let Some(change) = change {
                cutter.push(&key[skip..], change);
            }
        }
        Ok(())
    }
}

/// Encodes entries, given in key order, into pages: each page is staged when its boundary
/// entry arrives; the entries after the last boundary stay open.
struct Cutter<'a> {
    prefix: &'a [u8],
    class: Class,
    /// The FNV-1a state after the prefix, so a key's hash costs only its rest.
    seed: u64,
    open: Vec<u8>,
    out: &'a mut Writes,
}

impl<'a> Cutter<'a> {
    fn new(prefix: &'a [u8], class: Class, out: &'a mut Writes) -> Cutter<'a> {
        Cutter {
            prefix,
            class,
            seed: fnv1a_from(FNV_OFFSET, prefix),
            open: Vec::new(),
            out,
        }
    }

    fn is_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// Adds the entry whose key is the prefix followed by `rest`.
    fn push(&mut self, rest: &[u8], value: &[u8]) {
        let boundary = is_boundary(self.seed, self.class, rest);
        self.push_known(rest, value, boundary);
    }

    /// Adds an entry whose key is known to be a boundary or not.
    fn push_known(&mut self, rest: &[u8], value: &[u8], boundary: bool) {
        let length = u16::try_from(rest.len()).expect("projection keys are short");
        self.open.extend_from_slice(&length.to_be_bytes());
        self.open.extend_from_slice(rest);
        let length = u32::try_from(value.len()).expect("projection values are small");
        self.open.extend_from_slice(&length.to_be_bytes());
        self.open.extend_from_slice(value);
        if boundary {
            let mut key = Vec::with_capacity(self.prefix.len() + rest.len());
            key.extend_from_slice(self.prefix);
            key.extend_from_slice(rest);
            // The next page is about as large as this one: one allocation instead of a
            // doubling series.
            let next = Vec::with_capacity(self.open.len());
            let page = std::mem::replace(&mut self.open, next);
            self.out.put(key, page);
        }
    }

    /// Stages what is open as the class's tail page.
    fn finish_tail(&mut self, tail: &[u8]) {
        if self.is_open() {
            self.out.put(tail.to_vec(), std::mem::take(&mut self.open));
        }
    }
}

impl KvTree for PagedTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(class) = (self.layout)(key).filter(|class| key.len() >= class.prefix_bytes) else {
            return self.inner.get(key);
        };
        let wanted = &key[class.prefix_bytes..];
        let end = prefix_end(&key[..class.prefix_bytes]);
        // The page is searched where the scan hands it over, so only the value is copied.
        let mut found = Ok(None);
        self.inner
            .scan(key, end.as_deref(), &mut |page_key, bytes| {
                found = find(page_key, bytes, wanted);
                Scan::Stop
            })?;
        found
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Scan,
    ) -> Result<(), StoreError> {
        let before_end = |key: &[u8]| end.is_none_or(|end| key < end);
        let mut failure = None;
        let mut key = Vec::new();
        self.inner.scan(start, None, &mut |stored, bytes| {
            let class = (self.layout)(stored).filter(|class| stored.len() >= class.prefix_bytes);
            let Some(class) = class else {
                if !before_end(stored) {
                    return Scan::Stop;
                }
                return visit(stored, bytes);
            };
            let prefix = &stored[..class.prefix_bytes];
            for entry in entries(stored, bytes) {
                let (rest, value) = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        failure = Some(error);
                        return Scan::Stop;
                    }
                };
                key.clear();
                key.extend_from_slice(prefix);
                key.extend_from_slice(rest);
                if key.as_slice() < start {
                    continue;
                }
                if !before_end(&key) {
                    return Scan::Stop;
                }
                if visit(&key, value) == Scan::Stop {
                    return Scan::Stop;
                }
            }
            // Every entry of a later stored key sorts after this page's key.
            if before_end(stored) {
                Scan::Continue
            } else {
                Scan::Stop
            }
        })?;
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn apply_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let physical = self.physical_writes(writes)?;
        self.inner.apply_batch(physical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{dump, KvStore, MemStore};

    fn layout(key: &[u8]) -> Option<Class> {
        match key.first()? {
            b'a' => Some(Class {
                prefix_bytes: 1,
                entries_per_page: 4,
            }),
            b'b' => Some(Class {
                prefix_bytes: 1,
                entries_per_page: 1_000_000,
            }),
            _ => None,
        }
    }

    /// A small deterministic generator, so a failure replays.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    fn tree(store: &MemStore, name: &str) -> PagedTree {
        PagedTree::new(store.open_tree(name).unwrap(), layout)
    }

    /// Puts of every pair.
    fn writes_of<'a>(pairs: impl IntoIterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>) -> Writes {
        let mut writes = Writes::default();
        for (key, value) in pairs {
            writes.put(key.clone(), value.clone());
        }
        writes
    }

    fn check(seed: u64, rounds: usize, batch: usize) {
        let mut rng = Rng(seed);
        let incremental = MemStore::new();
        let paged = tree(&incremental, "t");
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for _ in 0..rounds {
            let mut writes = Writes::default();
            for _ in 0..rng.below(batch as u64) + 1 {
                let tag = [b'a', b'b', b'c'][rng.below(3) as usize];
                let key = vec![tag, rng.below(4) as u8, rng.below(256) as u8];
                if rng.below(3) == 0 {
                    writes.delete(key.clone());
                    model.remove(&key);
                } else {
                    let value = vec![rng.below(256) as u8; rng.below(5) as usize];
                    writes.put(key.clone(), value.clone());
                    model.insert(key, value);
                }
            }
            paged.apply_batch(writes).unwrap();
            // The logical view is the model.
            let logical = dump(&paged).unwrap();
            assert_eq!(logical, model.clone().into_iter().collect::<Vec<_>>());
            for key in model.keys().take(20) {
                assert_eq!(paged.get(key).unwrap().as_ref(), model.get(key));
            }
            assert_eq!(paged.get(&[b'a', 9, 9]).unwrap(), None);
            // Ranges and stops, starting inside pages.
            let start = vec![b'a', rng.below(4) as u8, rng.below(256) as u8];
            let end = vec![b'b', rng.below(4) as u8];
            let mut seen = Vec::new();
            paged
                .scan(&start, Some(&end), &mut |key, _| {
                    seen.push(key.to_vec());
                    if seen.len() == 7 {
                        Scan::Stop
                    } else {
                        Scan::Continue
                    }
                })
                .unwrap();
            let expected: Vec<Vec<u8>> = model
                .range(start.clone()..end.clone())
                .map(|(key, _)| key.clone())
                .take(7)
                .collect();
            assert_eq!(seen, expected);
        }
        // The stored bytes are those of writing everything at once.
        let at_once = MemStore::new();
        let rebuilt = tree(&at_once, "t");
        rebuilt.apply_batch(writes_of(&model)).unwrap();
        assert_eq!(
            dump(paged.inner()).unwrap(),
            dump(rebuilt.inner()).unwrap(),
            "seed {seed}"
        );
        assert!(
            dump(paged.inner()).unwrap().len() < model.len().max(1),
            "pages hold several entries"
        );
    }

    #[test]
    fn paged_view_matches_a_plain_map_and_stores_canonical_pages() {
        for seed in 1..40 {
            check(seed * 7919, 60, 12);
        }
        check(5, 10, 400);
    }

    #[test]
    fn a_large_commit_cut_on_two_threads_stores_the_same_pages() {
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (tag, count) in [(b'a', 70_000u32), (b'b', 5_000), (b'c', 5_000)] {
            for n in 0..count {
                let mut key = vec![tag];
                key.extend_from_slice(&n.to_be_bytes());
                model.push((key, n.to_le_bytes().to_vec()));
            }
        }
        assert!(
            model.len() - 5_000 >= PARALLEL_CHANGES_MIN,
            "the commit takes two threads"
        );
        let at_once = MemStore::new();
        let rebuilt = tree(&at_once, "t");
        rebuilt
            .apply_batch(writes_of(model.iter().map(|(key, value)| (key, value))))
            .unwrap();
        let in_batches = MemStore::new();
        let incremental = tree(&in_batches, "t");
        for batch in model.chunks(5_000) {
            let pairs = batch.iter().map(|(key, value)| (key, value));
            incremental.apply_batch(writes_of(pairs)).unwrap();
        }
        assert_eq!(dump(&rebuilt).unwrap(), model);
        assert_eq!(
            dump(rebuilt.inner()).unwrap(),
            dump(incremental.inner()).unwrap()
        );
    }

    #[test]
    fn a_corrupt_page_is_an_error() {
        let store = MemStore::new();
        let raw = store.open_tree("t").unwrap();
        let mut writes = Writes::default();
        writes.put(tail_key(b"a"), vec![0, 5, 1]);
        raw.apply_batch(writes).unwrap();
        let paged = PagedTree::new(raw, layout);
        assert!(paged.get(b"a1").is_err());
    }
}
