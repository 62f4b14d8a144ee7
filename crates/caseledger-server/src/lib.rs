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
//! use std::sync::Arc;
//! use caseledger_server::{app, auth::MemoryTokenTree, AppState, config::Limits};
//!
//! let state = AppState::builder(Arc::new(MemoryTokenTree::default()))
//!     .limits(Limits::default())
//!     .build();
//! let router: axum::Router = app(state);
//! # let _ = router;
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod serve;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::Router;
use tokio::sync::{watch, Semaphore};

use crate::auth::{TokenStore, TokenTree};
use crate::config::Limits;
use crate::metrics::Metrics;

/// Everything handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: Limits,
    tokens: TokenStore,
    metrics: Metrics,
    in_flight: Arc<Semaphore>,
    sse_slots: Arc<Semaphore>,
    ready: AtomicBool,
    shutdown: watch::Sender<bool>,
}

/// Builds an [`AppState`].
pub struct AppStateBuilder {
    tokens: Arc<dyn TokenTree>,
    limits: Limits,
}

impl AppStateBuilder {
    /// Sets the limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> AppStateBuilder {
        self.limits = limits;
        self
    }

    /// The state, marked ready.
    pub fn build(self) -> AppState {
        let (shutdown, _) = watch::channel(false);
        AppState {
            inner: Arc::new(Inner {
                in_flight: Arc::new(Semaphore::new(self.limits.in_flight_requests_max)),
                sse_slots: Arc::new(Semaphore::new(self.limits.sse_subscribers_max)),
                limits: self.limits,
                tokens: TokenStore::new(self.tokens),
                metrics: Metrics::default(),
                ready: AtomicBool::new(true),
                shutdown,
            }),
        }
    }
}

impl AppState {
    /// A builder over the tree that holds the tokens.
    pub fn builder(tokens: Arc<dyn TokenTree>) -> AppStateBuilder {
        AppStateBuilder {
            tokens,
            limits: Limits::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
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

/// The whole service: every resource's router, merged in one place, behind the common layers.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(routes::service::router())
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
