//! Paging: every list query takes a [`PageRequest`] and returns a [`Page`].
//!
//! Lists are index scans in key order, and the index keys put the newest first, so a page is
//! a bounded forward scan and the cursor is the key to resume after (hex, opaque to callers).

use crate::store::{prefix_end, KvTree, Scan};
use crate::Error;

/// The largest page a query returns.
pub const PAGE_RECORDS_MAX: usize = 500;

/// Where a page resumes: after this key. Opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Cursor(pub String);

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items, 1..=[`PAGE_RECORDS_MAX`].
    pub limit: usize,
    /// Resume after the page that returned this cursor; `None` for the first page.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: usize) -> PageRequest {
        PageRequest { limit, after: None }
    }
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass this back for the next page; `None` when this was the last.
    pub next: Option<Cursor>,
}

/// Scans one page of keys under `prefix`, mapping each to an item.
pub(crate) fn scan_page<T>(
    tree: &dyn KvTree,
    prefix: &[u8],
    request: &PageRequest,
    item: impl FnMut(&[u8], &[u8]) -> Result<T, Error>,
) -> Result<Page<T>, Error> {
    scan_page_until(tree, prefix, None, request, item)
}

/// Like [`scan_page`], stopping before `until` (a key under `prefix`) when given.
pub(crate) fn scan_page_until<T>(
    tree: &dyn KvTree,
    prefix: &[u8],
    until: Option<&[u8]>,
    request: &PageRequest,
    mut item: impl FnMut(&[u8], &[u8]) -> Result<T, Error>,
) -> Result<Page<T>, Error> {
    if request.limit == 0 || request.limit > PAGE_RECORDS_MAX {
        return Err(Error::PageSize {
            asked: request.limit,
            max: PAGE_RECORDS_MAX,
        });
    }
    let start = match &request.after {
        None => prefix.to_vec(),
        Some(cursor) => {
            let mut key = hex::decode(&cursor.0).map_err(|_| Error::Cursor(cursor.0.clone()))?;
            if !key.starts_with(prefix) {
                return Err(Error::Cursor(cursor.0.clone()));
            }
            // Resume strictly after the cursor's key.
            key.push(0);
            key
        }
    };
    let end = match until {
        Some(until) => Some(until.to_vec()),
        None => prefix_end(prefix),
    };
    let mut items = Vec::with_capacity(request.limit);
    let mut last_key = None;
    let mut more = false;
    let mut failure = None;
    tree.scan(&start, end.as_deref(), &mut |key, value| {
        if items.len() == request.limit {
            more = true;
            return Scan::Stop;
        }
        match item(key, value) {
            Ok(value) => {
                items.push(value);
                last_key = Some(key.to_vec());
                Scan::Continue
            }
            Err(error) => {
                failure = Some(error);
                Scan::Stop
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    let next = match (more, last_key) {
        (true, Some(key)) => Some(Cursor(hex::encode(key))),
        _ => None,
    };
    Ok(Page { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{KvStore, MemStore, Writes};

    #[test]
    fn pages_walk_the_prefix_and_stop() {
        let store = MemStore::new();
        let tree = store.open_tree("t").unwrap();
        let mut writes = Writes::default();
        for n in 0u8..7 {
            writes.put(vec![b'p', n], vec![n]);
        }
        writes.put(b"q".to_vec(), vec![99]);
        tree.apply_batch(writes).unwrap();
        let mut request = PageRequest::first(3);
        let mut seen = Vec::new();
        loop {
            let page = scan_page(tree.as_ref(), b"p", &request, |_, value| Ok(value[0])).unwrap();
            seen.extend(page.items);
            match page.next {
                Some(cursor) => request.after = Some(cursor),
                None => break,
            }
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5, 6]);
        let error = scan_page(tree.as_ref(), b"p", &PageRequest::first(501), |_, v| {
            Ok(v[0])
        });
        assert!(matches!(error, Err(Error::PageSize { asked: 501, .. })));
        let bad = PageRequest {
            limit: 2,
            after: Some(Cursor("71".into())),
        };
        assert!(matches!(
            scan_page(tree.as_ref(), b"p", &bad, |_, v| Ok(v[0])),
            Err(Error::Cursor(_))
        ));
    }
}
