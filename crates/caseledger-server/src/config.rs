//! The service's configuration: where it listens and the limit on everything.
//!
//! Read from TOML (`caseledger serve --config FILE`); every key is optional and defaults to
//! the value below. The file format is documented in `ops/server.toml`.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default listen address: loopback only. Anything wider must be configured.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";

/// Limits on requests. Each is named with its unit last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, in bytes (larger answers 413).
    pub body_bytes_max: usize,
    /// Largest page of any list, in items (a larger `limit` is capped to this); at most
    /// [`caseledger_projections::query::PAGE_RECORDS_MAX`] (500).
    pub page_items_max: usize,
    /// Page size when the client names none, in items.
    pub page_items_default: usize,
    /// Time allowed to produce a response head, in milliseconds (longer answers 504).
    pub request_timeout_ms: u64,
    /// Time allowed for a full verification (`/api/v1/audit/verify`), in milliseconds.
    pub verify_timeout_ms: u64,
    /// Requests handled at once; more wait for a slot until their timeout.
    pub in_flight_requests_max: usize,
    /// Open live-tail (SSE) connections at once; more answer 503.
    pub sse_subscribers_max: usize,
    /// Records a live-tail connection sends per read of the log.
    pub sse_batch_records_max: usize,
    /// How long shutdown waits for in-flight requests, in milliseconds.
    pub shutdown_grace_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes_max: 64 * 1024,
            page_items_max: 500,
            page_items_default: 50,
            request_timeout_ms: 10_000,
            verify_timeout_ms: 600_000,
            in_flight_requests_max: 512,
            sse_subscribers_max: 64,
            sse_batch_records_max: 256,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl Limits {
    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// A page size: the client's choice, defaulted and capped.
    pub fn page_items(&self, requested: Option<usize>) -> usize {
        requested
            .unwrap_or(self.page_items_default)
            .clamp(1, self.page_items_max)
    }
}

/// The ledger store's page cache unless configured, MiB (`LedgerOptions::cache_bytes`).
pub const CACHE_MIB_DEFAULT: u64 = 256;

/// The smallest and largest page cache the configuration accepts, MiB.
pub const CACHE_MIB_RANGE: std::ops::RangeInclusive<u64> = 16..=65_536;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The ledger's origin name (fixed when the ledger is created; its genesis hash derives
    /// from it).
    pub origin: String,
    /// A folder laid out as the repository's `ops/` (registry, policy, calendar) to load the
    /// county's rules from; the copy compiled into the binary when absent.
    pub ops: Option<std::path::PathBuf>,
    /// The ledger store's page cache, MiB: most of a long-running server's memory once its
    /// log outgrows it (the rest is bounded by entries; see the projections'
    /// `Options::cache_entries_max`). Smaller trades reads from disk for memory.
    pub cache_mib: u64,
    /// The limits.
    pub limits: Limits,
    /// Rebuild the stored Merkle tree from the log on open, after checking that the log still
    /// reproduces the latest signed checkpoint (`serve --repair-evidence-tree`; never read
    /// from the file: it is an operator's decision for one start).
    #[serde(skip)]
    pub repair_evidence_tree: bool,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: LISTEN_DEFAULT
                .parse()
                .expect("the default listen address parses"),
            origin: crate::ORIGIN_DEFAULT.to_owned(),
            ops: None,
            cache_mib: CACHE_MIB_DEFAULT,
            limits: Limits::default(),
            repair_evidence_tree: false,
        }
    }
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
#[error("配置文件 {name} 有误 / configuration {name}: {message}")]
pub struct ConfigError {
    /// The file name.
    pub name: String,
    /// What is wrong, with the line where TOML names one.
    pub message: String,
}

impl ServerConfig {
    /// Parses and checks the TOML text of file `name`.
    pub fn from_toml(name: &str, text: &str) -> Result<ServerConfig, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|error| ConfigError {
            name: name.to_owned(),
            message: error.to_string(),
        })?;
        config.check().map_err(|message| ConfigError {
            name: name.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// How the ledger is opened: its origin and page cache.
    pub fn ledger_options(&self) -> caseledger_log::LedgerOptions {
        let mut options = caseledger_log::LedgerOptions::new(self.origin.clone());
        options.cache_bytes = self.cache_mib << 20;
        options
    }

    fn check(&self) -> Result<(), String> {
        let limits = &self.limits;
        let positive = [
            ("limits.body_bytes_max", limits.body_bytes_max as u64),
            ("limits.page_items_max", limits.page_items_max as u64),
            (
                "limits.page_items_default",
                limits.page_items_default as u64,
            ),
            ("limits.request_timeout_ms", limits.request_timeout_ms),
            (
                "limits.in_flight_requests_max",
                limits.in_flight_requests_max as u64,
            ),
            (
                "limits.sse_batch_records_max",
                limits.sse_batch_records_max as u64,
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be greater than 0"));
            }
        }
        if !CACHE_MIB_RANGE.contains(&self.cache_mib) {
            return Err(format!(
                "cache_mib must be between {} and {}",
                CACHE_MIB_RANGE.start(),
                CACHE_MIB_RANGE.end()
            ));
        }
        if limits.page_items_max > caseledger_projections::query::PAGE_RECORDS_MAX {
            return Err(format!(
                "limits.page_items_max must be at most {} (the largest page the projections read)",
                caseledger_projections::query::PAGE_RECORDS_MAX
            ));
        }
        if limits.page_items_default > limits.page_items_max {
            return Err("limits.page_items_default must not exceed limits.page_items_max".into());
        }
        if limits.body_bytes_max > caseledger_record::RECORD_BYTES_MAX / 2 {
            return Err(format!(
                "limits.body_bytes_max must be at most {} so that a sealed act fits in a record",
                caseledger_record::RECORD_BYTES_MAX / 2
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_on_loopback() {
        let config = ServerConfig::from_toml("empty.toml", "").unwrap();
        assert_eq!(config, ServerConfig::default());
        assert!(config.listen.ip().is_loopback());
    }

    #[test]
    fn unknown_keys_and_zero_limits_are_refused() {
        let refused = |text: &str| {
            ServerConfig::from_toml("a.toml", text)
                .unwrap_err()
                .to_string()
        };
        let error = refused("listn = \"0.0.0.0:1\"");
        assert!(error.contains("listn"), "{error}");
        // In both languages, as the other refusals.
        assert!(
            error.starts_with("配置文件 a.toml 有误 / configuration a.toml: "),
            "{error}"
        );
        let error = refused("[limits]\nbody_bytes_max = 0");
        assert!(
            error.contains("limits.body_bytes_max must be greater than 0"),
            "{error}"
        );
        let error = refused("[limits]\npage_items_max = 501");
        assert!(
            error.contains("limits.page_items_max must be at most 500"),
            "{error}"
        );
        let config = ServerConfig::from_toml(
            "a.toml",
            "listen = \"0.0.0.0:9000\"\n[limits]\npage_items_max = 10\npage_items_default = 5",
        )
        .unwrap();
        assert_eq!(config.limits.page_items(Some(1000)), 10);
        assert_eq!(config.limits.page_items(None), 5);
        assert_eq!(config.limits.page_items(Some(0)), 1);
    }

    #[test]
    fn the_page_cache_is_configured_within_its_range() {
        let config = ServerConfig::from_toml("a.toml", "cache_mib = 64").unwrap();
        assert_eq!(config.cache_mib, 64);
        assert_eq!(config.ledger_options().cache_bytes, 64 << 20);
        for refused in ["cache_mib = 0", "cache_mib = 15", "cache_mib = 65537"] {
            let error = ServerConfig::from_toml("a.toml", refused).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("cache_mib must be between 16 and 65536"),
                "{error}"
            );
        }
    }
}

#[cfg(test)]
mod shipped {
    /// The documented file in ops/ parses and equals the defaults, so the documentation
    /// cannot drift from the code.
    #[test]
    fn ops_server_toml_documents_the_defaults() {
        let text = include_str!("../../../ops/server.toml");
        let config = super::ServerConfig::from_toml("ops/server.toml", text).unwrap();
        assert_eq!(config, super::ServerConfig::default());
    }
}
