//! What the command line runs: serving a ledger folder, issuing and revoking tokens. The
//! `caseledger` binary parses arguments and calls these.
//!
//! Tokens while the server runs: a ledger folder is held by one process at a time, so the
//! token commands first look for `<folder>/server-admin.json`, which a running server writes
//! (mode 0600) with its address and a per-process admin credential. When a server answers
//! there, the command goes through its admin routes (`routes::admin`) and takes effect on it
//! at once; otherwise the command opens the folder itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use caseledger_domain::context::Rules;
use caseledger_domain::principal::{Principal, Role};

use crate::auth::{
    AdminCredential, IssuedToken, LedgerTokenTree, TokenEntry, TokenPrincipal, TokenStore,
    ADMIN_FILE_NAME,
};
use crate::config::ServerConfig;
use crate::routes::admin::{IssueTokenBody, IssuedTokenBody, TokenList, TokenView};
use crate::rules::{embedded_rules, load_rules};
use crate::AppState;

/// Why a command failed; the message is for the operator, in Chinese and English.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunError(pub String);

fn fail(zh: &str, en: &str, cause: impl std::fmt::Display) -> RunError {
    RunError(format!("{zh} / {en}: {cause}"))
}

/// Binding `listen` failed (most often: another process has the port); says how to pick
/// another one.
pub(crate) fn listen_failed(listen: SocketAddr, cause: impl std::fmt::Display) -> RunError {
    let other = SocketAddr::new(listen.ip(), listen.port().wrapping_add(1).max(1));
    RunError(format!(
        "无法监听 {listen}（可用 --listen 换一个地址，如 {other}）/ cannot listen on {listen}: \
         {cause}; choose another address with --listen, such as {other}"
    ))
}

/// Reads the configuration file, or the defaults without one.
pub fn load_config(path: Option<&Path>) -> Result<ServerConfig, RunError> {
    let Some(path) = path else {
        return Ok(ServerConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        fail(
            "读取配置文件失败",
            &format!("cannot read {}", path.display()),
            error,
        )
    })?;
    ServerConfig::from_toml(&path.display().to_string(), &text)
        .map_err(|error| RunError(error.to_string()))
}

/// The county's rules: from the configured folder, or the copy compiled in.
pub fn rules_of(config: &ServerConfig) -> Result<Rules, RunError> {
    match &config.ops {
        Some(dir) => load_rules(dir),
        None => embedded_rules(),
    }
    .map_err(|error| RunError(error.to_string()))
}

/// Opens a ledger folder and builds the service's state over it.
pub fn open_state(data: &Path, config: &ServerConfig) -> Result<AppState, RunError> {
    open_state_with(data, config, None)
}

/// [`open_state`], accepting `admin` on the admin routes.
pub(crate) fn open_state_with(
    data: &Path,
    config: &ServerConfig,
    admin: Option<AdminCredential>,
) -> Result<AppState, RunError> {
    open_state_observed(data, config, admin, &mut |_| {})
}

/// [`open_state_with`], telling `observe` the projections' progress.
fn open_state_observed(
    data: &Path,
    config: &ServerConfig,
    admin: Option<AdminCredential>,
    observe: &mut dyn FnMut(&caseledger_projections::Progress),
) -> Result<AppState, RunError> {
    let rules = rules_of(config)?;
    // The checkpoint key: refused when the group or others can read it (see crate::evidence).
    let key_path = crate::evidence::default_key_path(data);
    let key_existed = key_path.exists();
    let key = crate::evidence::load_or_create_key(data, &key_path, &config.origin)
        .map_err(|error| RunError(error.to_string()))?;
    // A key made for this open is named for the configured origin; if the ledger then does
    // not open (another origin, damaged files) before it signed anything, the key goes with
    // the refusal, or it would block the next start with the right configuration.
    let forget_new_key = || {
        if !key_existed && !caseledger_evidence::file::path(data).exists() {
            let _ = std::fs::remove_file(caseledger_evidence::keyfile::public_key_path(&key_path));
            let _ = std::fs::remove_file(&key_path);
        }
    };
    let mut evidence_options = caseledger_evidence::EvidenceOptions::new(key);
    if config.repair_evidence_tree {
        evidence_options.recovery = caseledger_evidence::Recovery::RepairTreeFromLog;
    }
    let (opened, evidence) = crate::evidence::open_ledger_with_evidence_observed(
        data,
        config.ledger_options(),
        evidence_options,
        observe,
    )
    .map_err(|error| {
        forget_new_key();
        RunError(error.to_string())
    })?;
    let mut builder = AppState::builder(opened, rules)
        .limits(config.limits.clone())
        .evidence(evidence);
    if let Some(admin) = admin {
        builder = builder.admin_credential(admin);
    }
    builder
        .build()
        .map_err(|error| fail("打开台账存储失败", "cannot open the ledger's store", error))
}

/// Serves the ledger in `data` on `listen` (or the configured address) until Ctrl-C or
/// SIGTERM; in-flight requests finish first. `ready` is told the bound address once the
/// ledger is open and the service takes work.
///
/// The address is bound before the ledger opens (a port in use fails at once, not after a
/// rebuild), and answers meanwhile as [`crate::startup`] says. A signal while the ledger
/// opens ends the process without waiting for it: nothing has been appended yet, and a
/// projection rebuild cut short starts again at the next open.
pub async fn serve_folder(
    data: &Path,
    listen: Option<SocketAddr>,
    config: &ServerConfig,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), RunError> {
    serve_folder_with(data, listen, config, ready, |_| {}).await
}

/// [`serve_folder`], calling `opening` on the opening thread with the bound address just
/// before the ledger opens (a test holds the opening there to see what the server answers).
#[doc(hidden)]
pub async fn serve_folder_with(
    data: &Path,
    listen: Option<SocketAddr>,
    config: &ServerConfig,
    ready: impl FnOnce(SocketAddr),
    opening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), RunError> {
    let listen = listen.unwrap_or(config.listen);
    let listener = std::net::TcpListener::bind(listen)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|error| listen_failed(listen, error))?;
    let address = listener
        .local_addr()
        .map_err(|error| fail("无法读取监听地址", "cannot read the bound address", error))?;
    // Installed before anything is answered, so an early SIGTERM is a clean stop.
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let signal = crate::serve::termination_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = stop_tx.send(true);
    });
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };

    let starting = crate::startup::Starting::default();
    let early = tokio::net::TcpListener::from_std(
        listener
            .try_clone()
            .map_err(|error| fail("无法监听", "cannot listen", error))?,
    )
    .map_err(|error| fail("无法监听", "cannot listen", error))?;
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel::<()>();
    let early_server = tokio::spawn(std::future::IntoFuture::into_future(
        axum::serve(early, starting.router()).with_graceful_shutdown(async move {
            let _ = opened_rx.await;
        }),
    ));
    tracing::info!(%address, "listening; opening the ledger (requests answer 503 until it is open)");

    let (admin, admin_text) = AdminCredential::generate();
    let (result_tx, result_rx) = tokio::sync::oneshot::channel();
    let (data_owned, config_owned, observer) = (data.to_owned(), config.clone(), starting.clone());
    // A thread of its own rather than the runtime's blocking pool: the runtime waits for its
    // blocking tasks when it ends, and a signal while opening must not wait for a rebuild.
    std::thread::Builder::new()
        .name("opening".into())
        .spawn(move || {
            opening(address);
            let opened =
                open_state_observed(&data_owned, &config_owned, Some(admin), &mut |progress| {
                    observer.observe(progress)
                });
            let _ = result_tx.send(opened);
        })
        .map_err(|error| fail("无法启动", "cannot start the opening thread", error))?;
    let mut stopped = Box::pin(stopped);
    let opened = tokio::select! {
        opened = result_rx => opened.map_err(|_| RunError("打开台账的线程意外结束 / the thread opening the ledger ended unexpectedly".into()))?,
        () = &mut stopped => {
            tracing::info!("stopped while opening the ledger; a rebuild cut short starts again at the next start");
            return Ok(());
        }
    };
    // The early answers end (their connections close) before the service takes the address.
    let _ = opened_tx.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), early_server).await;
    let state = opened?;

    // The credential dies with the server: the file goes when serving ends, however it ends
    // (a file left by a killed process is stale, and the command line falls back to opening
    // the folder when nobody answers at its address).
    let admin_file = AdminFileGuard(data.join(ADMIN_FILE_NAME));
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|error| fail("无法监听", "cannot listen", error))?;
    let mut written = Ok(());
    let served = serve_listener(state, listener, stopped, |address| {
        // Written before readiness is announced, so a `token` command run right after sees it.
        written = write_admin_file(&admin_file.0, address, &admin_text);
        if let Err(error) = &written {
            tracing::warn!(%error, "token commands cannot reach this server");
        }
        ready(address)
    })
    .await;
    written?;
    served
}

/// Removes the admin file when dropped.
pub(crate) struct AdminFileGuard(pub(crate) PathBuf);

impl Drop for AdminFileGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What a running server tells the command line in `<ledger folder>/server-admin.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AdminFile {
    /// The address it serves on.
    pub address: SocketAddr,
    /// The local admin credential (`cla1.…`).
    pub credential: String,
}

/// Writes the admin file readable and writable by its owner only (created with mode 0600,
/// then renamed into place, so no reader sees a partial file).
pub(crate) fn write_admin_file(
    path: &Path,
    address: SocketAddr,
    credential: &str,
) -> Result<(), RunError> {
    use std::io::Write as _;
    let text = serde_json::to_vec(&AdminFile {
        address,
        credential: credential.to_owned(),
    })
    .map_err(|error| RunError(error.to_string()))?;
    let partial = path.with_extension("json.partial");
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let failed = |error: std::io::Error| {
        fail(
            "写入管理凭据失败",
            &format!("cannot write {}", path.display()),
            error,
        )
    };
    let mut file = options.open(&partial).map_err(failed)?;
    file.write_all(&text).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&partial, path).map_err(failed)
}

/// Serves an already built state.
pub async fn serve_state(
    state: AppState,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| listen_failed(listen, error))?;
    // Installed before readiness is announced, so an early SIGTERM is a graceful stop.
    let shutdown = crate::serve::termination_signal();
    serve_listener(state, listener, shutdown, ready).await
}

/// Serves `state` on a bound `listener` until `shutdown` completes.
async fn serve_listener<F>(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: F,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), RunError>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let address = listener
        .local_addr()
        .map_err(|error| fail("无法读取监听地址", "cannot read the bound address", error))?;
    tracing::info!(%address, head = state.ledger().head().position, "serving");
    ready(address);
    crate::serve::serve(listener, state, shutdown)
        .await
        .map_err(|error| fail("服务异常退出", "the server failed", error))
}

/// Parses a role name (`office`, `department`, …).
pub fn parse_role(text: &str) -> Result<Role, RunError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        RunError(format!(
            "未知角色 {text:?}（可选：office, department, township, community, intake, court, firm） / \
             unknown role {text:?} (one of: office, department, township, community, intake, court, firm)"
        ))
    })
}

fn token_store(data: &Path, config: &ServerConfig) -> Result<TokenStore, RunError> {
    // Both parts of a ledger, or it is none: opening a folder whose store is gone would
    // make an empty one beside its head file, and the folder would then read as broken.
    if !data.join(caseledger_log::HEAD_FILE_NAME).exists()
        || !data.join(caseledger_log::SLED_DIR_NAME).is_dir()
    {
        return Err(RunError(format!(
            "{} 不是台账目录（缺少 {} 或 {}）/ {} is not a ledger folder (no {} or no {})",
            data.display(),
            caseledger_log::HEAD_FILE_NAME,
            caseledger_log::SLED_DIR_NAME,
            data.display(),
            caseledger_log::HEAD_FILE_NAME,
            caseledger_log::SLED_DIR_NAME,
        )));
    }
    let ledger = caseledger_log::Ledger::open(
        data,
        caseledger_log::LedgerOptions::new(config.origin.clone()),
    )
    .map_err(|error| {
        fail(
            "打开台账失败（服务是否正在运行？）",
            "cannot open the ledger (is the server running?)",
            error,
        )
    })?;
    let tree = LedgerTokenTree::open(&ledger.store())
        .map_err(|error| fail("打开令牌存储失败", "cannot open the token store", error))?;
    TokenStore::new(std::sync::Arc::new(tree))
        .map_err(|error| fail("读取令牌存储失败", "cannot read the token store", error))
}

/// The principal a token for `role` acting for `unit` is bound to, checked against the
/// registry of `rules`.
pub fn checked_principal(
    rules: &Rules,
    role: &str,
    unit: &str,
    user: Option<&str>,
) -> Result<TokenPrincipal, RunError> {
    let role = parse_role(role)?;
    let unit_id = unit
        .parse()
        .map_err(|error| fail("单位编号无效", &format!("invalid unit id {unit:?}"), error))?;
    let principal = Principal::new(role, unit_id);
    principal
        .check(&rules.registry)
        .map_err(|error| RunError(error.to_string()))?;
    Ok(TokenPrincipal {
        role: role.as_str().to_owned(),
        unit: unit.to_owned(),
        user: user.map_or_else(|| format!("{}@{unit}", role.as_str()), str::to_owned),
    })
}

/// Where token commands go: the running server that holds the folder, or the folder itself.
enum TokenTarget {
    Server(AdminFile),
    Folder(TokenStore),
}

/// The server holding `data` if one answers at the address of its admin file, else the
/// folder opened directly.
fn token_target(data: &Path, config: &ServerConfig) -> Result<TokenTarget, RunError> {
    if let Ok(text) = std::fs::read(data.join(ADMIN_FILE_NAME)) {
        if let Ok(admin) = serde_json::from_slice::<AdminFile>(&text) {
            let address = admin_address(admin.address);
            if std::net::TcpStream::connect_timeout(&address, ADMIN_CONNECT_TIMEOUT).is_ok() {
                return Ok(TokenTarget::Server(admin));
            }
        }
    }
    token_store(data, config).map(TokenTarget::Folder)
}

/// How long the command line waits to reach a running server.
const ADMIN_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long the command line waits for a running server's answer.
const ADMIN_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The address to reach a server bound to `address` (an unspecified address is reached on
/// loopback).
fn admin_address(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        let loopback: std::net::IpAddr = if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        SocketAddr::new(loopback, address.port())
    } else {
        address
    }
}

/// One request to a running server's admin routes, answered with the status and body.
fn admin_request(
    admin: &AdminFile,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<(u16, Vec<u8>), RunError> {
    use std::io::{Read as _, Write as _};
    let address = admin_address(admin.address);
    let failed = |error: std::io::Error| {
        fail(
            "无法与运行中的服务通信",
            &format!("cannot talk to the running server at {address}"),
            error,
        )
    };
    let mut stream =
        std::net::TcpStream::connect_timeout(&address, ADMIN_CONNECT_TIMEOUT).map_err(failed)?;
    stream
        .set_read_timeout(Some(ADMIN_ANSWER_TIMEOUT))
        .map_err(failed)?;
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        admin.credential,
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).map_err(failed)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(failed)?;
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| RunError(format!("bad answer from {address}")))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| RunError(format!("bad status line from {address}")))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(RunError(format!(
            "unexpected chunked answer from {address}"
        )));
    }
    Ok((status, response[split + 4..].to_vec()))
}

/// The answer of an admin request, or the problem's detail as the error.
fn admin_answer<T: serde::de::DeserializeOwned>(
    admin: &AdminFile,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<T, RunError> {
    let (status, body) = admin_request(admin, method, path, body)?;
    if !(200..300).contains(&status) {
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|problem| problem["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(RunError(format!(
            "运行中的服务拒绝了请求 / the running server refused ({status}): {detail}"
        )));
    }
    serde_json::from_slice(&body).map_err(|error| {
        RunError(format!(
            "运行中的服务的回答无法解析 / cannot read the running server's answer: {error}"
        ))
    })
}

fn entry_of(view: TokenView) -> TokenEntry {
    TokenEntry {
        id: view.id,
        secret_sha256: String::new(),
        principal: TokenPrincipal {
            role: view.role,
            unit: view.unit,
            user: view.user,
        },
        issued_at: view.issued_at,
        revoked_at: view.revoked_at,
    }
}

/// Issues a token for `role` acting for `unit` (checked against the registry), stores only
/// its hash, and returns it once. Works whether or not a server holds the folder: a running
/// server is asked through its admin routes.
pub fn issue_token(
    data: &Path,
    config: &ServerConfig,
    role: &str,
    unit: &str,
    user: Option<&str>,
) -> Result<IssuedToken, RunError> {
    let rules = rules_of(config)?;
    let principal = checked_principal(&rules, role, unit, user)?;
    match token_target(data, config)? {
        TokenTarget::Server(admin) => {
            let body = serde_json::to_vec(&IssueTokenBody {
                role: principal.role,
                unit: principal.unit,
                user: Some(principal.user),
            })
            .map_err(|error| RunError(error.to_string()))?;
            let issued: IssuedTokenBody =
                admin_answer(&admin, "POST", "/api/v1/admin/tokens", Some(&body))?;
            Ok(IssuedToken {
                id: issued.entry.id,
                token: issued.token,
            })
        }
        TokenTarget::Folder(store) => store
            .issue(principal)
            .map_err(|error| fail("签发令牌失败", "cannot issue the token", error)),
    }
}

/// Revokes the token with `id`, on the running server if one holds the folder (in force
/// from its answer on), else in the folder.
pub fn revoke_token(data: &Path, config: &ServerConfig, id: &str) -> Result<TokenEntry, RunError> {
    let well_formed = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(RunError(format!("令牌编号无效 / invalid token id {id:?}")));
    }
    match token_target(data, config)? {
        TokenTarget::Server(admin) => {
            let path = format!("/api/v1/admin/tokens/{id}/revoke");
            let view: TokenView = admin_answer(&admin, "POST", &path, Some(b"{}"))?;
            Ok(entry_of(view))
        }
        TokenTarget::Folder(store) => store
            .revoke(id)
            .map_err(|error| fail("吊销令牌失败", "cannot revoke the token", error)),
    }
}

/// Lists the tokens (ids and principals; never secrets, which are not stored).
pub fn list_tokens(data: &Path, config: &ServerConfig) -> Result<Vec<TokenEntry>, RunError> {
    match token_target(data, config)? {
        TokenTarget::Server(admin) => {
            let list: TokenList = admin_answer(&admin, "GET", "/api/v1/admin/tokens", None)?;
            Ok(list.tokens.into_iter().map(entry_of).collect())
        }
        TokenTarget::Folder(store) => store
            .list()
            .map_err(|error| fail("读取令牌失败", "cannot list tokens", error)),
    }
}

/// The default data folder of `caseledger demo`.
pub fn demo_dir() -> PathBuf {
    PathBuf::from("demo-data")
}
