//! `serve_folder` stopped by a real SIGTERM while it opens its ledger. A file of its own: the
//! signal goes to the whole test process, and would stop any other server running in it.

mod common;

use common::{loopback_config, runtime};

/// A SIGTERM while the ledger opens ends `serve_folder` at once: it does not wait for the
/// opening (held here until `serve_folder` has returned), and never serves.
#[cfg(unix)]
#[test]
fn a_signal_while_opening_ends_without_waiting_for_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let config = loopback_config();
    let runtime = runtime();
    let (returned_tx, returned_rx) = std::sync::mpsc::channel::<()>();
    let (served_tx, served_rx) = std::sync::mpsc::channel();
    let started = std::time::Instant::now();
    let result = runtime.block_on(caseledger_server::run::serve_folder_with(
        &data,
        None,
        &config,
        move |address| served_tx.send(address).unwrap(),
        move |_| {
            // The shell's own `kill`, so no procps or util-linux is needed.
            let killed = std::process::Command::new("sh")
                .args(["-c", &format!("kill -TERM {}", std::process::id())])
                .status()
                .expect("kill runs");
            assert!(killed.success());
            // Held until the test has seen serve_folder return (or for a minute).
            let _ = returned_rx.recv_timeout(std::time::Duration::from_secs(60));
        },
    ));
    let seconds = started.elapsed().as_secs_f64();
    let _ = returned_tx.send(());
    result.expect("a signal is a clean stop");
    assert!(seconds < 30.0, "took {seconds} s");
    assert!(served_rx.try_recv().is_err(), "it served");
}
