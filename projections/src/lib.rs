//! Projections of the caseledger log: what the records add up to.
//!
//! A projection is a pure fold over the log's records into one storage tree of its own,
//! with its checkpoint (the last position folded) written in the same atomic batch as its
//! data. [`Projections`] holds every projection of a ledger: the log's single writer hands it
//! each committed batch before acknowledging it, so a client reads its own writes. On open,
//! each projection catches up from its checkpoint; when its version changed (or it was never
//! built) it is rebuilt into a shadow generation and swapped in by one write, so a crash in
//! the middle leaves the old generation serving and the rebuild resumes on the next open.
//!
//! Entries are stored in content-defined pages of 4 to 64 ([`paged`]), so a rebuild of a
//! million records writes under two hundred thousand storage keys; projections and queries
//! see single entries.
//!
//! Reading goes through [`Reader`], which is cheap to clone and safe to share.
//!
//! ```
//! use std::sync::Arc;
//! use caseledger_projections::{MemStore, Options, Projections, Reader, KvStore};
//! use caseledger_record::Record;
//!
//! let store: Arc<dyn KvStore> = Arc::new(MemStore::new());
//! let log: Vec<Record> = Vec::new();
//! let (mut projections, summary) = Projections::open(
//!     store.clone(),
//!     caseledger_projections::all(),
//!     &log,
//!     Options::default(),
//!     &mut |_progress| {},
//! )
//! .unwrap();
//! assert_eq!(summary.records, 0);
//! projections.apply::<Record>(&[]).unwrap();
//! let reader = Reader::new(store).unwrap();
//! assert_eq!(reader.status("case_status").unwrap().1, 0);
//! ```
#![deny(missing_docs)]

pub mod case_status;
pub mod codec;
mod decode;
pub mod facts;
pub mod firm;
pub mod framework;
pub mod ledger;
pub mod measures;
pub mod paged;
pub mod query;
pub mod store;
pub mod workload;

pub use framework::{
    AsRecord, Generation, Indexed, IndexedTable, Input, Meta, Options, Progress, Projection,
    Projections, Reader, RecordSource, Summary, Table, Tx,
};
pub use query::{Cursor, Page, PageRequest, PAGE_RECORDS_MAX};
pub use store::{KvStore, KvTree, MemStore, Scan, StoreError, Writes};

/// Every projection of a ledger, in the order they are applied.
pub fn all() -> Vec<Box<dyn Projection>> {
    vec![
        Box::new(case_status::CaseStatusProjection::new()),
        Box::new(workload::WorkloadProjection::new()),
        Box::new(firm::FirmProjection::new()),
        Box::new(measures::MeasuresProjection::new()),
    ]
}

/// How the projection called `name` pages its keys (see [`paged`]); other names are not
/// paged. The writer and the readers of a projection both take its layout from here.
pub fn layout(name: &str) -> paged::Layout {
    match name {
        case_status::NAME => case_status::layout,
        workload::NAME => workload::layout,
        firm::NAME => firm::layout,
        measures::NAME => measures::layout,
        _ => paged::unpaged,
    }
}

/// The names of every projection, in order.
pub const NAMES: [&str; 4] = [
    case_status::NAME,
    workload::NAME,
    firm::NAME,
    measures::NAME,
];

/// Why a projection could not be read or kept up to date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage failed.
    #[error("存储错误 / storage failed: {0}")]
    Store(#[from] StoreError),
    /// A stored value or key does not decode.
    #[error("投影数据损坏 / corrupt projection data at key {key}: {message}")]
    Corrupt {
        /// The key, shown for humans.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A record's act does not decode.
    #[error("记录 {position} 无法解码 / record {position} does not decode: {message}")]
    Decode {
        /// The record's position.
        position: u64,
        /// Why.
        message: String,
    },
    /// Records arrived with a hole before them.
    #[error("投影 {name} 缺少记录 / projection {name} expected position {expected}, got {found}")]
    Gap {
        /// The projection.
        name: String,
        /// The position expected next.
        expected: u64,
        /// The position that came.
        found: u64,
    },
    /// A projection has folded records the log does not have.
    #[error(
        "投影 {name} 超前于日志 / projection {name} is at {checkpoint}, beyond the log's head {head}"
    )]
    AheadOfLog {
        /// The projection.
        name: String,
        /// Its checkpoint.
        checkpoint: u64,
        /// The log's head.
        head: u64,
    },
    /// Two projections have the same name.
    #[error("投影名称重复 / two projections are called {0}")]
    Duplicate(String),
    /// No projection has this name.
    #[error("没有名为 {0} 的投影 / no projection is called {0}")]
    UnknownProjection(String),
    /// The projection has no generation yet.
    #[error("投影 {0} 尚未建立 / projection {0} has not been built yet")]
    NotBuilt(String),
    /// The log could not be read.
    #[error("读取日志失败 / reading the log failed: {0}")]
    Source(String),
    /// A page size outside 1..=PAGE_RECORDS_MAX.
    #[error("每页条数须在 1 到 {max} 之间 / page size {asked} is not within 1..={max}")]
    PageSize {
        /// What was asked.
        asked: usize,
        /// The limit.
        max: usize,
    },
    /// A cursor that this API did not hand out.
    #[error("无效的分页游标 / invalid page cursor: {0}")]
    Cursor(String),
    /// An invalid query argument.
    #[error("无效的查询参数 {field} / invalid query argument {field}: {message}")]
    Argument {
        /// The offending field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// A failure injected by a test, after this many commits.
    #[error("注入的故障 / injected failure after {0} commits")]
    Injected(u64),
}
