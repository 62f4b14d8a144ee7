//! Loading the county's rules (registry, matrix, policies, calendars) from `ops/`.
//!
//! The domain crate parses text and does no I/O; this module reads the files. The files
//! shipped in the repository's `ops/` are also compiled into the binary
//! ([`embedded_rules`]), so `caseledger demo` runs from any folder.

use std::path::{Path, PathBuf};

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::context::Rules;
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, ResponsibilityMatrix};
use caseledger_domain::registry::Registry;
use caseledger_domain::{LoadError, Source};

/// Why the rules did not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// A file could not be read.
    #[error("读取 {path} 失败 / cannot read {path}: {error}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A file does not parse or validate (names file and line).
    #[error("{0}")]
    Load(#[from] LoadError),
}

const REGISTRY_FILES: [(&str, &str); 5] = [
    (
        "county.toml",
        include_str!("../../../ops/registry/county.toml"),
    ),
    (
        "townships.toml",
        include_str!("../../../ops/registry/townships.toml"),
    ),
    (
        "communities.toml",
        include_str!("../../../ops/registry/communities.toml"),
    ),
    (
        "compounds.toml",
        include_str!("../../../ops/registry/compounds.toml"),
    ),
    (
        "firms.toml",
        include_str!("../../../ops/registry/firms.toml"),
    ),
];
const MATRIX_FILE: &str = include_str!("../../../ops/policy/matrix.toml");
const DEADLINES_FILE: &str = include_str!("../../../ops/policy/deadlines.toml");
const CREDIT_FILE: &str = include_str!("../../../ops/policy/credit.toml");
const CALENDAR_FILES: [(&str, &str); 3] = [
    ("2025.toml", include_str!("../../../ops/calendar/2025.toml")),
    ("2026.toml", include_str!("../../../ops/calendar/2026.toml")),
    ("2027.toml", include_str!("../../../ops/calendar/2027.toml")),
];

fn assemble(
    registry: &[Source<'_>],
    matrix: &Source<'_>,
    deadlines: &Source<'_>,
    credit: &Source<'_>,
    calendar: &[Source<'_>],
) -> Result<Rules, RulesError> {
    let registry = Registry::from_sources(registry)?;
    let matrix = ResponsibilityMatrix::from_source(matrix, &registry)?;
    Ok(Rules {
        matrix,
        deadlines: DeadlinePolicy::from_source(deadlines)?,
        credit: CreditPolicy::from_source(credit)?,
        calendar: WorkCalendar::from_sources(calendar)?,
        registry,
    })
}

/// The rules shipped in the repository's `ops/` folder, compiled in.
pub fn embedded_rules() -> Result<Rules, RulesError> {
    let source = |(name, text): &(&'static str, &'static str)| Source { name, text };
    let registry: Vec<Source<'_>> = REGISTRY_FILES.iter().map(source).collect();
    let calendar: Vec<Source<'_>> = CALENDAR_FILES.iter().map(source).collect();
    assemble(
        &registry,
        &Source {
            name: "matrix.toml",
            text: MATRIX_FILE,
        },
        &Source {
            name: "deadlines.toml",
            text: DEADLINES_FILE,
        },
        &Source {
            name: "credit.toml",
            text: CREDIT_FILE,
        },
        &calendar,
    )
}

fn read(path: &Path) -> Result<String, RulesError> {
    std::fs::read_to_string(path).map_err(|error| RulesError::Read {
        path: path.to_owned(),
        error,
    })
}

/// Every `*.toml` file of `dir`, sorted by name, as (name, text).
fn read_dir_toml(dir: &Path) -> Result<Vec<(String, String)>, RulesError> {
    let entries = std::fs::read_dir(dir).map_err(|error| RulesError::Read {
        path: dir.to_owned(),
        error,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| RulesError::Read {
            path: dir.to_owned(),
            error,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = read(&path)?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

/// Loads the rules from an `ops/` folder laid out as the repository's: `registry/*.toml`,
/// `policy/{matrix,deadlines,credit}.toml`, `calendar/*.toml`.
pub fn load_rules(ops: &Path) -> Result<Rules, RulesError> {
    let registry = read_dir_toml(&ops.join("registry"))?;
    let calendar = read_dir_toml(&ops.join("calendar"))?;
    let matrix_path = ops.join("policy/matrix.toml");
    let deadlines_path = ops.join("policy/deadlines.toml");
    let credit_path = ops.join("policy/credit.toml");
    let (matrix, deadlines, credit) = (
        read(&matrix_path)?,
        read(&deadlines_path)?,
        read(&credit_path)?,
    );
    let registry: Vec<Source<'_>> = registry
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    let calendar: Vec<Source<'_>> = calendar
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    let matrix_name = matrix_path.display().to_string();
    let deadlines_name = deadlines_path.display().to_string();
    let credit_name = credit_path.display().to_string();
    assemble(
        &registry,
        &Source {
            name: &matrix_name,
            text: &matrix,
        },
        &Source {
            name: &deadlines_name,
            text: &deadlines,
        },
        &Source {
            name: &credit_name,
            text: &credit,
        },
        &calendar,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load_and_equal_the_folder() {
        let embedded = embedded_rules().unwrap();
        let ops = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ops");
        let loaded = load_rules(&ops).unwrap();
        assert_eq!(
            embedded.registry.units().count(),
            loaded.registry.units().count()
        );
        assert!(embedded.registry.townships().len() >= 20);
        // Every file of ops/ is compiled in: a new calendar year must be added here too.
        for (folder, compiled) in [
            ("registry", REGISTRY_FILES.len()),
            ("calendar", CALENDAR_FILES.len()),
        ] {
            let on_disk = std::fs::read_dir(ops.join(folder))
                .unwrap()
                .filter(|entry| {
                    entry
                        .as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|ext| ext == "toml")
                })
                .count();
            assert_eq!(
                on_disk, compiled,
                "ops/{folder} has files the binary does not embed"
            );
        }
    }

    #[test]
    fn a_missing_folder_names_the_path() {
        let error = load_rules(Path::new("no/such/ops")).unwrap_err();
        assert!(error.to_string().contains("no/such/ops"), "{error}");
    }
}
