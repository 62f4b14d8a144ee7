//! Running the service on a socket, with graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::{app, AppState};

/// Serves [`app`] on `listener` until `shutdown` completes, then stops accepting, ends live
/// tails, and lets in-flight requests (appends included) finish, for at most the configured
/// grace period.
///
/// When every connection has finished within the grace period, `serve` returns only after
/// the service's copies of `state` are gone: if the caller holds no other clone, the ledger
/// is closed by then (its final checkpoint signed and in the checkpoints file) and the folder
/// can be opened again (`Ledger::open` waits out the moment sled keeps its lock after a
/// close). After the grace period it returns without waiting for them.
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let grace = Duration::from_millis(state.limits().shutdown_grace_ms);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let signal_state = state.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        signal_state.begin_shutdown();
        let _ = started_tx.send(());
    };
    // Responses leave as soon as they are written: without TCP_NODELAY a response written in
    // two segments could wait for the client's delayed acknowledgement.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    let (held, mut released) = tokio::sync::mpsc::channel::<std::convert::Infallible>(1);
    let service = Tracked {
        service: app(state),
        _held: held,
    };
    let server = axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(service),
    )
    .with_graceful_shutdown(signal);
    let mut server = Box::pin(std::future::IntoFuture::into_future(server));
    let grace_over = async move {
        if started_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let result = tokio::select! {
        result = &mut server => result,
        () = grace_over => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; dropping remaining connections");
            return Ok(());
        }
    };
    // axum counts a connection finished before its task drops the connection's copy of the
    // service (and with it the state): wait for the last copy, ours included.
    drop(server);
    while released.recv().await.is_some() {}
    result
}

/// The service with a token that goes only after it: when no copy of `held`'s channel is
/// left, every copy of the service, and the state inside it, has been dropped.
#[derive(Clone)]
struct Tracked<S> {
    // Declared first, dropped first.
    service: S,
    _held: tokio::sync::mpsc::Sender<std::convert::Infallible>,
}

impl<S, R> tower::Service<R> for Tracked<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.service.poll_ready(context)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.service.call(request)
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so a signal that arrives right after the server says it is
/// ready still shuts it down gracefully instead of killing the process. Call it inside the
/// runtime, before announcing readiness.
pub fn termination_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        let terminate = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async fn wait(handler: Option<Signal>) {
            match handler {
                Some(mut handler) => {
                    handler.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        async move {
            tokio::select! {
                () = wait(terminate) => {},
                () = wait(interrupt) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
