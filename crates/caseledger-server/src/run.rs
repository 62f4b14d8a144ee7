//! What the command line runs: serving a ledger folder, issuing and revoking tokens. The
//! `caseledger` binary parses arguments and calls these.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use caseledger_domain::context::Rules;
use caseledger_domain::principal::{Principal, Role};

use crate::auth::{IssuedToken, LedgerTokenTree, TokenEntry, TokenPrincipal, TokenStore};
use crate::config::ServerConfig;
use crate::rules::{embedded_rules, load_rules};
use crate::AppState;

/// Why a command failed; the message is for the operator, in Chinese and English.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunError(pub String);

fn fail(zh: &str, en: &str, cause: impl std::fmt::Display) -> RunError {
    RunError(format!("{zh} / {en}: {cause}"))
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
    let rules = rules_of(config)?;
    // The checkpoint key: refused when the group or others can read it (see crate::evidence).
    let key_path = crate::evidence::default_key_path(data);
    let key = crate::evidence::load_or_create_key(data, &key_path, &config.origin)
        .map_err(|error| RunError(error.to_string()))?;
    let (opened, evidence) = crate::evidence::open_ledger_with_evidence(
        data,
        &config.origin,
        caseledger_evidence::EvidenceOptions::new(key),
    )
    .map_err(|error| RunError(error.to_string()))?;
    AppState::builder(opened, rules)
        .limits(config.limits.clone())
        .evidence(evidence)
        .build()
        .map_err(|error| fail("打开台账存储失败", "cannot open the ledger's store", error))
}

/// Serves the ledger in `data` on `listen` (or the configured address) until Ctrl-C or
/// SIGTERM; in-flight requests finish first. `ready` is told the bound address.
pub async fn serve_folder(
    data: &Path,
    listen: Option<SocketAddr>,
    config: &ServerConfig,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), RunError> {
    let state = open_state(data, config)?;
    serve_state(state, listen.unwrap_or(config.listen), ready).await
}

/// Serves an already built state.
pub async fn serve_state(
    state: AppState,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| fail("无法监听地址", &format!("cannot listen on {listen}"), error))?;
    let address = listener
        .local_addr()
        .map_err(|error| fail("无法读取监听地址", "cannot read the bound address", error))?;
    // Installed before readiness is announced, so an early SIGTERM is a graceful stop.
    let shutdown = crate::serve::termination_signal();
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
    if !data.join(caseledger_log::HEAD_FILE_NAME).exists()
        && !data.join(caseledger_log::SLED_DIR_NAME).exists()
    {
        return Err(RunError(format!(
            "{} 不是台账目录 / {} is not a ledger folder",
            data.display(),
            data.display()
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
    Ok(TokenStore::new(std::sync::Arc::new(tree)))
}

/// Issues a token for `role` acting for `unit` (checked against the registry), stores only
/// its hash, and returns it once.
pub fn issue_token(
    data: &Path,
    config: &ServerConfig,
    role: &str,
    unit: &str,
    user: Option<&str>,
) -> Result<IssuedToken, RunError> {
    let rules = rules_of(config)?;
    let role = parse_role(role)?;
    let unit_id = unit
        .parse()
        .map_err(|error| fail("单位编号无效", &format!("invalid unit id {unit:?}"), error))?;
    let principal = Principal::new(role, unit_id);
    principal
        .check(&rules.registry)
        .map_err(|error| RunError(error.to_string()))?;
    let store = token_store(data, config)?;
    store
        .issue(TokenPrincipal {
            role: role.as_str().to_owned(),
            unit: unit.to_owned(),
            user: user.map_or_else(|| format!("{}@{unit}", role.as_str()), str::to_owned),
        })
        .map_err(|error| fail("签发令牌失败", "cannot issue the token", error))
}

/// Revokes the token with `id`.
pub fn revoke_token(data: &Path, config: &ServerConfig, id: &str) -> Result<TokenEntry, RunError> {
    token_store(data, config)?
        .revoke(id)
        .map_err(|error| fail("吊销令牌失败", "cannot revoke the token", error))
}

/// Lists the tokens (ids and principals; never secrets, which are not stored).
pub fn list_tokens(data: &Path, config: &ServerConfig) -> Result<Vec<TokenEntry>, RunError> {
    token_store(data, config)?
        .list()
        .map_err(|error| fail("读取令牌失败", "cannot list tokens", error))
}

/// The default data folder of `caseledger demo`.
pub fn demo_dir() -> PathBuf {
    PathBuf::from("demo-data")
}
