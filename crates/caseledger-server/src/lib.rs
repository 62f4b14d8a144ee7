//! The ledger's HTTP API.
//!
//! One [`app`] builds the whole service from an [`AppState`]: one router per resource
//! (`routes::*`), merged in one place, behind the layers every request passes (request id,
//! tracing, metrics, bounded concurrency, timeout; see [`middleware`]). Errors are RFC 9457
//! problems ([`error::ApiError`]); bodies are parsed by [`json::ApiJson`], which names the
//! offending field; callers authenticate with bearer tokens ([`auth`]).
//!
//! *Architecture invariant:* this is the only crate that knows axum and JSON over HTTP.
//! Handlers hold no rules: they authenticate, parse, ask the domain to decide, append, and
//! render.
//!
//! ```
//! use caseledger_server::{app, open_ledger, rules::embedded_rules, AppState, config::Limits};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let opened = open_ledger(dir.path(), caseledger_server::ORIGIN_DEFAULT).unwrap();
//! let state = AppState::builder(opened, embedded_rules().unwrap())
//!     .limits(Limits::default())
//!     .build()
//!     .unwrap();
//! let router: axum::Router = app(state);
//! # let _ = router;
//! ```
#![deny(missing_docs)]

pub mod access;
pub mod auth;
pub mod client;
pub mod config;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod json;
pub mod keys;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod rules;
pub mod run;
pub mod serve;
pub mod startup;
pub mod write;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::Router;
use tokio::sync::{watch, Semaphore};

use caseledger_domain::context::Rules;
use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::ledger::{LiveProjections, ProjectedLedger};
use caseledger_projections::{Progress, Reader, Summary};

use crate::auth::{LedgerTokenTree, TokenStore, TokenTree};
use crate::config::Limits;
use crate::keys::LedgerKeyStore;
use crate::metrics::Metrics;

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Ledger,
    evidence: Option<caseledger_evidence::Evidence>,
    live: LiveProjections,
    reader: Reader,
    rules: Arc<Rules>,
    keys: LedgerKeyStore,
    limits: Limits,
    tokens: TokenStore,
    admin: Option<auth::AdminCredential>,
    metrics: Metrics,
    in_flight: Arc<Semaphore>,
    sse_slots: Arc<Semaphore>,
    verify_slot: Arc<Semaphore>,
    stream_locks: write::StreamLocks,
    stream_cache: write::StreamCache,
    ready: AtomicBool,
    shutdown: watch::Sender<bool>,
    /// The head position after the service's latest append, for live tails to wake on.
    appended: watch::Sender<u64>,
}

/// Builds an [`AppState`].
pub struct AppStateBuilder {
    opened: ProjectedLedger,
    rules: Rules,
    tokens: Option<Arc<dyn TokenTree>>,
    limits: Limits,
    evidence: Option<caseledger_evidence::Evidence>,
    admin: Option<auth::AdminCredential>,
}

impl AppStateBuilder {
    /// Sets the limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> AppStateBuilder {
        self.limits = limits;
        self
    }

    /// Serves the ledger's evidence (Merkle proofs, checkpoints, bundles) from `evidence`.
    pub fn evidence(mut self, evidence: caseledger_evidence::Evidence) -> AppStateBuilder {
        self.evidence = Some(evidence);
        self
    }

    /// Keeps tokens in `tree` instead of the ledger's store (tests).
    pub fn tokens(mut self, tree: Arc<dyn TokenTree>) -> AppStateBuilder {
        self.tokens = Some(tree);
        self
    }

    /// Accepts `credential` on the admin routes (`routes::admin`), besides Office tokens.
    pub fn admin_credential(mut self, credential: auth::AdminCredential) -> AppStateBuilder {
        self.admin = Some(credential);
        self
    }

    /// The state, marked ready.
    pub fn build(self) -> Result<AppState, OpenError> {
        let ledger = self.opened.ledger;
        let (shutdown, _) = watch::channel(false);
        let (appended, _) = watch::channel(ledger.head().position);
        let tokens = match self.tokens {
            Some(tree) => tree,
            None => Arc::new(
                LedgerTokenTree::open(&ledger.store())
                    .map_err(|error| OpenError(error.to_string()))?,
            ),
        };
        let tokens = TokenStore::new(tokens).map_err(|error| OpenError(error.to_string()))?;
        let keys =
            LedgerKeyStore::open(&ledger.store()).map_err(|error| OpenError(error.to_string()))?;
        Ok(AppState {
            inner: Arc::new(Inner {
                ledger,
                evidence: self.evidence,
                live: self.opened.live,
                reader: self.opened.reader,
                rules: Arc::new(self.rules),
                keys,
                in_flight: Arc::new(Semaphore::new(self.limits.in_flight_requests_max)),
                sse_slots: Arc::new(Semaphore::new(self.limits.sse_subscribers_max)),
                limits: self.limits,
                tokens,
                admin: self.admin,
                metrics: Metrics::default(),
                verify_slot: Arc::new(Semaphore::new(1)),
                stream_locks: write::StreamLocks::default(),
                stream_cache: write::StreamCache::default(),
                ready: AtomicBool::new(true),
                shutdown,
                appended,
            }),
        })
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("ledger", &self.inner.ledger)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl AppState {
    /// A builder over an open ledger with its projections, and the county's rules. Tokens
    /// and sealing keys live in trees of the ledger's store.
    pub fn builder(opened: ProjectedLedger, rules: Rules) -> AppStateBuilder {
        AppStateBuilder {
            opened,
            rules,
            tokens: None,
            limits: Limits::default(),
            evidence: None,
            admin: None,
        }
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// The ledger's evidence, when the service was opened with a signing key.
    pub fn evidence(&self) -> Option<&caseledger_evidence::Evidence> {
        self.inner.evidence.as_ref()
    }

    /// The projections, for rebuilds and checkpoints.
    pub fn projections(&self) -> &LiveProjections {
        &self.inner.live
    }

    /// Reads of the projections.
    pub fn reader(&self) -> &Reader {
        &self.inner.reader
    }

    /// The county's rules.
    pub fn rules(&self) -> &Rules {
        &self.inner.rules
    }

    /// The sealing keys.
    pub fn keys(&self) -> &LedgerKeyStore {
        &self.inner.keys
    }

    /// Tells live tails that the log grew to `position`.
    pub fn notify_appended(&self, position: u64) {
        self.inner.appended.send_if_modified(|current| {
            let grew = position > *current;
            if grew {
                *current = position;
            }
            grew
        });
    }

    /// A receiver of the head position after each append through the service.
    pub fn appended_signal(&self) -> watch::Receiver<u64> {
        self.inner.appended.subscribe()
    }

    pub(crate) fn stream_locks(&self) -> &write::StreamLocks {
        &self.inner.stream_locks
    }

    pub(crate) fn stream_cache(&self) -> &write::StreamCache {
        &self.inner.stream_cache
    }

    pub(crate) fn verify_slot(&self) -> Arc<Semaphore> {
        self.inner.verify_slot.clone()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    /// The local admin credential, when the service was started with one.
    pub fn admin_credential(&self) -> Option<&auth::AdminCredential> {
        self.inner.admin.as_ref()
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn in_flight(&self) -> Arc<Semaphore> {
        self.inner.in_flight.clone()
    }

    pub(crate) fn sse_slots(&self) -> Arc<Semaphore> {
        self.inner.sse_slots.clone()
    }

    /// Whether the service accepts work (`/readyz`).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst) && !*self.inner.shutdown.borrow()
    }

    /// Marks the service as (not) ready.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
    }

    /// Starts shutting down: `/readyz` fails and live tails end, so connections can close.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// A receiver that turns `true` when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }
}

/// The origin name of ledgers created by this service unless configured otherwise.
pub const ORIGIN_DEFAULT: &str = "caseledger.example/anhua";

/// Why a ledger folder could not be opened for serving.
#[derive(Debug, thiserror::Error)]
#[error("打开台账失败 / cannot open the ledger: {0}")]
pub struct OpenError(pub String);

/// Opens (or creates) the ledger in `dir` with every projection attached and caught up,
/// logging the catch-up or rebuild as it goes (its first batch, then every 2 s) and what it
/// did at the end.
pub fn open_ledger(dir: &std::path::Path, origin: &str) -> Result<ProjectedLedger, OpenError> {
    let opened = caseledger_projections::ledger::open_ledger(
        dir,
        LedgerOptions::new(origin),
        caseledger_projections::all(),
        caseledger_projections::Options::default(),
        &mut projections_progress_log(),
    )
    .map_err(|error| OpenError(error.to_string()))?;
    log_projections_opened(&opened.summary);
    Ok(opened)
}

/// How often opening a ledger logs the projections' progress after the first batch.
const PROJECTIONS_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The progress callback of opening a ledger: logs the projections' catch-up or rebuild at
/// its first batch, then at most every [`PROJECTIONS_PROGRESS_EVERY`], and every start of a
/// commit (a rebuild's last one is about half of its time, with no batch read meanwhile). A
/// projection whose version changed (an upgrade) is rebuilt over the whole log before the
/// service takes work, a minute or more for tens of millions of records; the log says what
/// it is doing meanwhile (and `serve` answers 503 with the same progress, see
/// [`crate::startup`]).
pub(crate) fn projections_progress_log() -> impl FnMut(&Progress) {
    let mut logged: Option<std::time::Instant> = None;
    move |progress| {
        let percent = progress.percent_folded();
        let projections = progress.names.join(", ");
        if progress.writing {
            tracing::info!(
                projections,
                done = progress.done,
                head = progress.head,
                percent,
                "writing the projections"
            );
            return;
        }
        if logged.is_some_and(|at| at.elapsed() < PROJECTIONS_PROGRESS_EVERY) {
            return;
        }
        logged = Some(std::time::Instant::now());
        tracing::info!(
            projections,
            done = progress.done,
            head = progress.head,
            percent,
            records_per_second = progress.records_per_second.round() as u64,
            "bringing the projections up to date"
        );
    }
}

/// Logs what opening a ledger did to its projections: the records folded, in how long, and
/// which projections were built anew (a new generation swapped in).
pub(crate) fn log_projections_opened(summary: &Summary) {
    tracing::info!(
        records = summary.records,
        seconds = (summary.seconds * 1000.0).round() / 1000.0,
        built = %summary.swapped.join(", "),
        "projections up to date"
    );
}

/// The whole service: every resource's router, merged in one place, behind the common layers.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(routes::service::router())
        .merge(routes::admin::router())
        .merge(routes::audit::router())
        .merge(routes::events::router())
        .merge(routes::cases::router())
        .merge(routes::evidence::router())
        .merge(routes::firms::router())
        .merge(routes::governance::router())
        .merge(routes::reports::router())
        .merge(routes::public::router())
        .fallback(routes::service::not_found)
        .method_not_allowed_fallback(routes::service::method_not_allowed);
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_context,
        ))
        .with_state(state)
}
