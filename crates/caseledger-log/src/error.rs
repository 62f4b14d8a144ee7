//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

/// An error of the ledger. Match on [`Error::kind`].
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong. New variants may be added, so matches need a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The append named another stream version than the stream has (optimistic concurrency).
    /// 版本冲突 — the caller decided on stale state and must reload the stream.
    Conflict {
        /// The stream appended to.
        stream: String,
        /// The version the request expected the stream to be at.
        expected: u64,
        /// The version the stream is at.
        actual: u64,
    },
    /// The event id was used before for a record with other content.
    DuplicateMismatch {
        /// The event id.
        event_id: uuid::Uuid,
    },
    /// Two requests of one `append_many` call carry the same event id.
    DuplicateInBatch {
        /// The event id.
        event_id: uuid::Uuid,
    },
    /// The request itself is not acceptable (empty stream name, field too long, payload too
    /// large …). Nothing was appended.
    Invalid {
        /// Which field and why.
        reason: String,
    },
    /// Stored data is damaged or disagrees with the head file; names the first bad position.
    Corrupt {
        /// The first position that is wrong (or missing).
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The ledger's head file is missing, unreadable or disagrees with the log.
    Head {
        /// The head file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The ledger was created with another origin name.
    OriginMismatch {
        /// The origin stored in the ledger.
        stored: String,
        /// The origin the caller asked for.
        requested: String,
    },
    /// An observer (projection, Merkle tree) failed on a batch; the batch was not acknowledged.
    Observer {
        /// The observer's name.
        name: String,
        /// Its error.
        reason: String,
    },
    /// The writer stopped after an earlier failure and takes no more appends; reopen the ledger.
    Stopped {
        /// Why it stopped.
        reason: String,
    },
    /// The request queue is full. Reserved for a submission path that does not wait; the
    /// current `append*` methods wait for room in the queue and never return it.
    Overloaded,
    /// The ledger folder is open already, in another process (such as a running `caseledger
    /// serve`) or in this one: sled admits one at a time. Nothing was opened.
    InUse {
        /// The ledger folder.
        dir: PathBuf,
    },
    /// The storage engine or the file system failed.
    Io {
        /// What was being done and the underlying error.
        reason: String,
    },
}

impl Error {
    /// Wraps a kind.
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The position named by a corruption or head error, if any.
    pub fn position(&self) -> Option<u64> {
        match &self.kind {
            ErrorKind::Corrupt { position, .. } => Some(*position),
            _ => None,
        }
    }

    pub(crate) fn io(context: &str, error: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Io {
            reason: format!("{context}: {error}"),
        })
    }

    pub(crate) fn corrupt(position: u64, reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Corrupt {
            position,
            reason: reason.into(),
        })
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid {
            reason: reason.into(),
        })
    }

    pub(crate) fn head(path: &std::path::Path, reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Head {
            path: path.to_path_buf(),
            reason: reason.into(),
        })
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error { kind }
    }
}

impl From<sled::Error> for Error {
    fn from(error: sled::Error) -> Error {
        match error {
            sled::Error::Corruption { at, .. } => Error::new(ErrorKind::Io {
                reason: format!("sled reports corruption at {at:?} / 存储引擎报告数据损坏"),
            }),
            other => Error::io("sled", other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Conflict {
                stream,
                expected,
                actual,
            } => write!(
                f,
                "版本冲突 / version conflict on {stream}: expected version {expected}, stream is at {actual}"
            ),
            ErrorKind::DuplicateMismatch { event_id } => write!(
                f,
                "事件编号已用于不同内容 / event id {event_id} was already used for a record with other content"
            ),
            ErrorKind::DuplicateInBatch { event_id } => write!(
                f,
                "同一批次内事件编号重复 / event id {event_id} appears twice in one batch"
            ),
            ErrorKind::Invalid { reason } => write!(f, "请求无效 / invalid request: {reason}"),
            ErrorKind::Corrupt { position, reason } => write!(
                f,
                "账本在位置 {position} 损坏 / ledger broken at position {position}: {reason}"
            ),
            ErrorKind::Head { path, reason } => write!(
                f,
                "头文件 {} 有误 / head file {}: {reason}",
                path.display(),
                path.display()
            ),
            ErrorKind::OriginMismatch { stored, requested } => write!(
                f,
                "账本来源不符 / ledger origin is {stored:?}, not {requested:?}"
            ),
            ErrorKind::Observer { name, reason } => write!(
                f,
                "观察者 {name} 失败，批次未确认 / observer {name} failed, batch not acknowledged: {reason}"
            ),
            ErrorKind::Stopped { reason } => write!(
                f,
                "写入器已停止 / the writer has stopped: {reason}"
            ),
            ErrorKind::Overloaded => write!(f, "队列已满 / the append queue is full"),
            ErrorKind::InUse { dir } => write!(
                f,
                "账本目录 {} 已被打开（另一个进程，例如正在运行的 caseledger serve，或本进程），\
                 请先关闭 / the ledger folder {} is already open (by another process such as a \
                 running `caseledger serve`, or by this one); close it first",
                dir.display(),
                dir.display()
            ),
            ErrorKind::Io { reason } => write!(f, "存储错误 / storage error: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
