//! What the tests of `caseledger serve`, `token` and `demo` as real processes share.
#![allow(dead_code)] // Each test binary uses a part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// The `caseledger` binary under test.
pub fn caseledger() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caseledger"))
}

/// Runs `caseledger COMMAND --listen LISTEN --data DATA EXTRA…` (`serve` or `demo`) to its
/// end, logs off: a start expected to be refused. Returns its exit code and its stderr.
pub fn run_refused(
    command: &str,
    listen: &str,
    data: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let output = caseledger()
        .args([command, "--listen", listen, "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The address in a line such as `serving: http://127.0.0.1:4711 …`.
pub fn address_in(line: &str) -> Option<SocketAddr> {
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|address| address.parse().ok())
}

/// Starts `caseledger COMMAND --listen 127.0.0.1:0 --data DATA EXTRA…` (a command that
/// serves: `serve` or `demo`), its stdout piped for the address it prints.
pub fn spawn_serving(command: &str, data: &std::path::Path, extra: &[&str]) -> Child {
    caseledger()
        .args([command, "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts `serve` over `data` with `extra` arguments on a free loopback port; returns the
/// child and the address it printed.
pub fn serve(data: &std::path::Path, extra: &[&str]) -> (Child, SocketAddr) {
    let mut child = spawn_serving("serve", data, extra);
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let address = address_in(&line).unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, address)
}

/// The sled database of a closed ledger folder, opened behind the ledger's back (to damage it).
pub fn open_sled(data: &std::path::Path) -> sled::Db {
    caseledger_log::open_storage(data).unwrap()
}

/// Sends SIGTERM and checks the process exits cleanly.
pub fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exits cleanly on SIGTERM: {exit:?}");
}

/// Sends one HTTP/1.1 request with a bearer token (and a JSON body when not empty); returns
/// the status and the body.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad response {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (status, body)
}

/// The status of a GET with a bearer token.
pub fn get_status(address: SocketAddr, path: &str, token: &str) -> u16 {
    request(address, "GET", path, token, "").0
}

/// Runs `caseledger token ARGS --data DATA`.
pub fn token(args: &[&str], data: &std::path::Path) -> std::process::Output {
    caseledger()
        .arg("token")
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

/// Issues a token with `caseledger token issue` and returns it.
pub fn issue(data: &std::path::Path, role: &str, unit: &str) -> String {
    let issued = token(&["issue", "--role", role, "--unit", unit], data);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    String::from_utf8(issued.stdout).unwrap().trim().to_owned()
}
