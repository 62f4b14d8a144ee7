//! Loading the shipped `ops/` folder (registry, policy, calendar) into the domain's [`Rules`].

use std::path::{Path, PathBuf};

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::context::Rules;
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, ResponsibilityMatrix};
use caseledger_domain::registry::Registry;
use caseledger_domain::{LoadError, Source};

/// Why the ops folder did not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// A file or folder could not be read.
    #[error("无法读取 {path} / cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file has a mistake; the error names the file and the line.
    #[error("{0}")]
    Load(#[from] LoadError),
}

fn read(path: &Path) -> Result<String, OpsError> {
    std::fs::read_to_string(path).map_err(|source| OpsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The `.toml` files of a folder, in name order, with their text.
fn toml_files(dir: &Path) -> Result<Vec<(String, String)>, OpsError> {
    let entries = std::fs::read_dir(dir).map_err(|source| OpsError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| OpsError::Read {
            path: dir.to_path_buf(),
            source,
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

/// Loads `registry/*.toml`, `policy/matrix.toml`, `policy/deadlines.toml`,
/// `policy/credit.toml` and `calendar/*.toml` under `ops_dir` (the repository's `ops/`).
/// Errors name the file and line of a mistake.
pub fn load_rules(ops_dir: &Path) -> Result<Rules, OpsError> {
    let registry_files = toml_files(&ops_dir.join("registry"))?;
    let sources: Vec<Source<'_>> = registry_files
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    let registry = Registry::from_sources(&sources)?;

    let policy = ops_dir.join("policy");
    let matrix_path = policy.join("matrix.toml");
    let matrix_text = read(&matrix_path)?;
    let matrix_name = matrix_path.display().to_string();
    let matrix = ResponsibilityMatrix::from_source(
        &Source {
            name: &matrix_name,
            text: &matrix_text,
        },
        &registry,
    )?;
    let deadlines_path = policy.join("deadlines.toml");
    let deadlines_text = read(&deadlines_path)?;
    let deadlines_name = deadlines_path.display().to_string();
    let deadlines = DeadlinePolicy::from_source(&Source {
        name: &deadlines_name,
        text: &deadlines_text,
    })?;
    let credit_path = policy.join("credit.toml");
    let credit_text = read(&credit_path)?;
    let credit_name = credit_path.display().to_string();
    let credit = CreditPolicy::from_source(&Source {
        name: &credit_name,
        text: &credit_text,
    })?;

    let calendar_files = toml_files(&ops_dir.join("calendar"))?;
    let sources: Vec<Source<'_>> = calendar_files
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    let calendar = WorkCalendar::from_sources(&sources)?;
    Ok(Rules {
        registry,
        matrix,
        deadlines,
        credit,
        calendar,
    })
}
