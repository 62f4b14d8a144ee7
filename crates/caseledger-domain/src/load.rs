//! Loading data files: the [`Source`] a caller passes in and the [`LoadError`] every loader
//! returns.
//!
//! The domain does no I/O: callers read `ops/...` files and pass their text. Every error
//! names the file ([`Source::name`]), the 1-based line and the mistake, in Chinese and
//! English, so that whoever edits the file can find and fix it.

use std::fmt;

/// The text of one data file, with the name to show in errors (usually its path inside the
/// repository, e.g. `ops/registry/county.toml`).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The name shown in errors.
    pub name: &'a str,
    /// The whole file as text.
    pub text: &'a str,
}

/// A mistake in a data file: which file, which line, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct LoadError {
    /// The file, as [`Source::name`].
    pub file: String,
    /// The 1-based line of the mistake.
    pub line: usize,
    /// The mistake.
    pub kind: LoadErrorKind,
}

/// What was wrong in a data file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The text is not valid TOML, or does not have the expected shape.
    #[error("格式错误 / syntax or shape error: {0}")]
    Syntax(String),
    /// An id appears twice (in the same file or across files).
    #[error("标识重复 / duplicate id {id:?} (first defined in {first})")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Where it was first defined, as `file:line`.
        first: String,
    },
    /// A unit names a parent that does not exist.
    #[error("上级单位不存在 / parent {parent:?} of {id:?} does not exist")]
    UnknownParent {
        /// The unit.
        id: String,
        /// The missing parent.
        parent: String,
    },
    /// A unit's parent is of the wrong kind (a compound must sit in a community, a community
    /// in a township).
    #[error("上级单位类型错误 / {id:?} is a {kind} whose parent must be a {expected}, but {parent:?} is a {actual}")]
    WrongParentKind {
        /// The unit.
        id: String,
        /// Its kind.
        kind: crate::registry::UnitKind,
        /// The parent named.
        parent: String,
        /// The kind the parent must have.
        expected: crate::registry::UnitKind,
        /// The kind the parent has.
        actual: crate::registry::UnitKind,
    },
    /// A unit that needs a parent has none, or one that must not have one has one.
    #[error("上级单位缺失或多余 / {id:?}: {reason}")]
    Parent {
        /// The unit.
        id: String,
        /// What was wrong, in English.
        reason: String,
    },
    /// An identifier (unit id, category slug, credit code) is invalid.
    #[error("{0}")]
    Id(#[from] crate::ids::IdError),
    /// A reference names a unit or category that is not defined.
    #[error("引用不存在 / {what} {id:?} is not defined")]
    UnknownReference {
        /// What kind of thing was referenced (`unit`, `category`, …).
        what: String,
        /// The missing id.
        id: String,
    },
    /// A value is out of its allowed range or contradicts another.
    #[error("取值无效 / invalid value for {field}: {reason}")]
    Value {
        /// The field.
        field: String,
        /// What was wrong, in English.
        reason: String,
    },
}

impl LoadError {
    /// An error at a given line of a source.
    pub fn at(source: &Source<'_>, line: usize, kind: LoadErrorKind) -> LoadError {
        LoadError {
            file: source.name.to_string(),
            line,
            kind,
        }
    }

    /// An error located at the first line of `source` that mentions `needle` as a quoted TOML
    /// string (or, failing that, anywhere), or at line 1 when the text does not contain it.
    ///
    /// Semantic mistakes (a duplicate id, a bad credit code) are found after parsing, when the
    /// TOML spans are gone; searching the text for the offending value finds the line the
    /// editor must look at.
    pub fn near(source: &Source<'_>, needle: &str, kind: LoadErrorKind) -> LoadError {
        LoadError::at(source, line_of(source.text, needle, 0), kind)
    }

    /// Like [`LoadError::near`], for the `nth` (0-based) occurrence of the quoted value: the
    /// second definition of a duplicate id is occurrence 1 of its definition line.
    pub fn near_nth(
        source: &Source<'_>,
        needle: &str,
        nth: usize,
        kind: LoadErrorKind,
    ) -> LoadError {
        LoadError::at(source, line_of(source.text, needle, nth), kind)
    }

    /// An error located at the first line assigning `key` (`key = …`), or at line 1.
    ///
    /// For checks across several fields of a file parsed without spans.
    pub fn near_key(source: &Source<'_>, key: &str, kind: LoadErrorKind) -> LoadError {
        let line = source
            .text
            .lines()
            .position(|line| {
                line.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|index| index + 1)
            .unwrap_or(1);
        LoadError::at(source, line, kind)
    }

    /// Converts a TOML parse or shape error into a [`LoadError`] at the line of its span.
    pub fn from_toml(source: &Source<'_>, error: &toml::de::Error) -> LoadError {
        let line = error
            .span()
            .map(|span| line_at_offset(source.text, span.start))
            .unwrap_or(1);
        LoadError::at(
            source,
            line,
            LoadErrorKind::Syntax(error.message().to_string()),
        )
    }
}

/// The 1-based line containing byte `offset` of `text`.
pub fn line_at_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The 1-based line of the `nth` (0-based) line mentioning `needle` quoted (`"needle"` or
/// `'needle'`); if there is no such line, the first line mentioning it at all; else 1.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    let quoted = |line: &str| {
        line.contains(&format!("\"{needle}\"")) || line.contains(&format!("'{needle}'"))
    };
    let lines: Vec<&str> = text.lines().collect();
    let found = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| quoted(line))
        .nth(nth)
        .or_else(|| lines.iter().enumerate().rfind(|(_, line)| quoted(line)))
        .or_else(|| {
            lines
                .iter()
                .enumerate()
                .find(|(_, line)| line.contains(needle))
        });
    found.map(|(i, _)| i + 1).unwrap_or(1)
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Parses TOML text into `T`, mapping errors to [`LoadError`].
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    source: &Source<'_>,
) -> Result<T, LoadError> {
    toml::from_str(source.text).map_err(|error| LoadError::from_toml(source, &error))
}
