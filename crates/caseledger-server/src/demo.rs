//! `caseledger demo`: a ledger of the sample county, filled with a synthetic year on first
//! run, with one token per sample principal, served on loopback.
//!
//! The history comes from `caseledger-sim`: every act decided by the domain's rules with the
//! principal the plan gives it. Complainants' data is sealed under keys in the ledger's own
//! key store, so the Office and the court can read it back through the API.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use caseledger_domain::ids::UnitId;
use caseledger_domain::principal::{Principal, Role};
use caseledger_sim::{append_all, SimConfig, Simulation};
use serde::{Deserialize, Serialize};

use crate::auth::TokenPrincipal;
use crate::auth::{AdminCredential, ADMIN_FILE_NAME};
use crate::config::ServerConfig;
use crate::run::{open_state_with, write_admin_file, AdminFileGuard, RunError};
use crate::AppState;

/// Complaint cases of the demo's synthetic year unless told otherwise.
pub const DEMO_CASES_DEFAULT: u64 = 5_000;

/// The most complaint cases a demo year simulates: twenty times the default, about a
/// million records. The simulation plans the whole year in memory, so an unbounded count
/// would only end in the machine running out of it.
pub const DEMO_CASES_MAX: u64 = 100_000;

/// The file the demo writes in its folder once its year is generated whole. A folder with
/// records but without it holds a year cut short (the process was stopped or killed while
/// generating), which the demo refuses rather than serve as if it were whole.
pub const DEMO_COMPLETE_FILE_NAME: &str = "demo-year-complete";

/// The seed of the demo's synthetic year: the same history every time.
pub const DEMO_SEED: u64 = 20_261_126;

/// The name of the token file inside the demo folder.
pub const TOKENS_FILE_NAME: &str = "tokens.json";

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The folder (`./demo-data`).
    pub dir: PathBuf,
    /// Cases to simulate on first run.
    pub cases: u64,
    /// Where to listen.
    pub listen: SocketAddr,
}

/// One token of the demo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoToken {
    /// The role.
    pub role: String,
    /// The unit.
    pub unit: String,
    /// What this principal is, in Chinese and English.
    pub about: String,
    /// The bearer token.
    pub token: String,
}

/// The content of `tokens.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoTokens {
    /// Where the demo serves.
    pub base_url: String,
    /// One token per sample principal.
    pub tokens: Vec<DemoToken>,
}

/// What a demo run did before serving.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Whether this run created the history (false: reused).
    pub generated: bool,
    /// The log's head.
    pub records: u64,
    /// Seconds the generation took (0 when reused).
    pub generation_seconds: f64,
    /// The tokens.
    pub tokens: DemoTokens,
    /// Where it serves.
    pub address: SocketAddr,
}

/// The sample principals, one token each: the roles the plan names, with real units of the
/// sample registry.
fn sample_principals(state: &AppState) -> Vec<(Principal, String)> {
    let registry = &state.rules().registry;
    let unit = |id: &str| id.parse::<UnitId>().ok();
    let mut principals: Vec<(Role, Option<UnitId>, &str)> = vec![
        (
            Role::Office,
            unit("office"),
            "领导小组办公室 / the Leading Group Office",
        ),
        (Role::Court, unit("court"), "人民法院 / the court"),
        (
            Role::Department,
            unit("housing"),
            "住建局 / housing (dispatches, keeps firms' files)",
        ),
        (
            Role::Department,
            unit("urban-management"),
            "城管局 / urban management (enforces)",
        ),
        (
            Role::Department,
            unit("market-supervision"),
            "市监局 / market supervision (enforces)",
        ),
        (
            Role::Department,
            unit("petitions"),
            "信访局 / petitions (dispatches)",
        ),
        (
            Role::Intake,
            unit("12345"),
            "12345 热线 / the 12345 hotline",
        ),
        (
            Role::Township,
            unit("township/dongping"),
            "东坪镇 / Dongping town (county seat)",
        ),
    ];
    let community = unit("township/dongping")
        .and_then(|town| registry.communities_of(&town).first().map(|c| c.id.clone()));
    principals.push((
        Role::Community,
        community,
        "东坪镇的一个社区 / a community of Dongping",
    ));
    let firm = registry.firms().next().map(|firm| firm.id.clone());
    principals.push((Role::Firm, firm, "一家样例物业企业 / a sample firm"));
    principals
        .into_iter()
        .filter_map(|(role, unit, about)| {
            let principal = Principal::new(role, unit?);
            principal
                .check(registry)
                .is_ok()
                .then(|| (principal, about.to_owned()))
        })
        .collect()
}

fn read_tokens(path: &Path) -> Option<DemoTokens> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The tokens of the demo: those in `tokens.json` when every one still authenticates,
/// otherwise fresh ones.
fn tokens_for(state: &AppState, dir: &Path, base_url: &str) -> Result<DemoTokens, RunError> {
    let path = dir.join(TOKENS_FILE_NAME);
    let principals = sample_principals(state);
    if let Some(mut existing) = read_tokens(&path) {
        let valid = existing.tokens.len() == principals.len()
            && existing.tokens.iter().all(|token| {
                matches!(state.tokens().authenticate(&token.token), Ok(Some(principal))
                    if principal.role == token.role && principal.unit == token.unit)
            });
        if valid {
            existing.base_url = base_url.to_owned();
            write_tokens(&path, &existing)?;
            return Ok(existing);
        }
    }
    let mut tokens = Vec::new();
    for (principal, about) in principals {
        let issued = state
            .tokens()
            .issue(TokenPrincipal {
                role: principal.role.as_str().to_owned(),
                unit: principal.unit.as_str().to_owned(),
                user: format!("demo-{}", principal.role.as_str()),
            })
            .map_err(|error| {
                RunError(format!(
                    "签发演示令牌失败 / cannot issue demo tokens: {error}"
                ))
            })?;
        tokens.push(DemoToken {
            role: principal.role.as_str().to_owned(),
            unit: principal.unit.as_str().to_owned(),
            about,
            token: issued.token,
        });
    }
    let tokens = DemoTokens {
        base_url: base_url.to_owned(),
        tokens,
    };
    write_tokens(&path, &tokens)?;
    Ok(tokens)
}

fn write_tokens(path: &Path, tokens: &DemoTokens) -> Result<(), RunError> {
    let text = serde_json::to_string_pretty(tokens).map_err(|error| RunError(error.to_string()))?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text + "\n")
        .and_then(|()| restrict(&temporary))
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| {
            RunError(format!(
                "写入 {} 失败 / cannot write {}: {error}",
                path.display(),
                path.display()
            ))
        })
}

/// Tokens are secrets: readable by the owner only.
#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Fills an empty ledger with the synthetic year. Runs on a blocking thread.
fn generate(
    state: &AppState,
    cases: u64,
    progress: &(dyn Fn(String) + Sync),
) -> Result<f64, RunError> {
    let rules = state.rules();
    let mut keys = state.keys().clone();
    let simulation = Simulation::new(SimConfig::year(DEMO_SEED, cases), rules, &mut keys)
        .map_err(|error| RunError(error.to_string()))?;
    let mut last_report = 0u64;
    let summary = append_all(state.ledger(), simulation, |step| {
        if step.appended >= last_report + 10_000 {
            last_report = step.appended;
            progress(format!(
                "  已写入 {} 条记录 / {} records appended ({:.1} s)",
                step.appended, step.appended, step.elapsed_seconds
            ));
        }
    })
    .map_err(|error| RunError(error.to_string()))?;
    state.notify_appended(summary.head);
    Ok(summary.elapsed_seconds)
}

/// Prepares the demo folder: opens (or creates) the ledger, generates the year on first run,
/// and writes the tokens. Returns the state to serve and what was done.
pub async fn prepare(
    options: &DemoOptions,
    progress: impl Fn(String) + Send + Sync + 'static,
) -> Result<(AppState, bool, f64), RunError> {
    prepare_with_admin(options, None, progress).await
}

/// [`prepare`], the state accepting `admin` on the admin routes.
async fn prepare_with_admin(
    options: &DemoOptions,
    admin: Option<AdminCredential>,
    progress: impl Fn(String) + Send + Sync + 'static,
) -> Result<(AppState, bool, f64), RunError> {
    std::fs::create_dir_all(&options.dir).map_err(|error| {
        RunError(format!(
            "无法创建 {} / cannot create {}: {error}",
            options.dir.display(),
            options.dir.display()
        ))
    })?;
    let config = ServerConfig {
        listen: options.listen,
        ..ServerConfig::default()
    };
    let dir = options.dir.clone();
    let state = tokio::task::spawn_blocking(move || open_state_with(&dir, &config, admin))
        .await
        .map_err(|error| RunError(error.to_string()))??;
    let complete = options.dir.join(DEMO_COMPLETE_FILE_NAME);
    let head = state.ledger().head().position;
    if head > 0 {
        // A folder made before the mark existed counts as whole when it has its tokens:
        // they were written only after the year was.
        let whole = complete.exists() || options.dir.join(TOKENS_FILE_NAME).exists();
        if !whole {
            return Err(RunError(format!(
                "{} 中的模拟年度未生成完毕（{head} 条记录，没有完成标记 {DEMO_COMPLETE_FILE_NAME}）；\
                 请删除该目录后重新运行 / the demo year in {} was cut short ({head} records, no \
                 {DEMO_COMPLETE_FILE_NAME} mark): remove the folder and run the demo again",
                options.dir.display(),
                options.dir.display()
            )));
        }
        return Ok((state, false, 0.0));
    }
    progress(format!(
        "首次运行：生成一个县的模拟年度（{} 件投诉） / first run: generating a synthetic county year ({} complaints)",
        options.cases, options.cases
    ));
    let cases = options.cases;
    let generating = state.clone();
    let seconds = tokio::task::spawn_blocking(move || generate(&generating, cases, &progress))
        .await
        .map_err(|error| RunError(error.to_string()))??;
    std::fs::write(&complete, format!("{cases}\n")).map_err(|error| {
        RunError(format!(
            "无法写入 {} / cannot write {}: {error}",
            complete.display(),
            complete.display()
        ))
    })?;
    Ok((state, true, seconds))
}

/// What to print once serving: where, and how to try it.
pub fn instructions(report: &DemoReport, dir: &Path) -> String {
    let base = &report.tokens.base_url;
    let token = |role: &str| {
        report
            .tokens
            .tokens
            .iter()
            .find(|token| token.role == role)
            .map_or("<token>", |token| token.token.as_str())
            .to_owned()
    };
    let office = token("office");
    let township = token("township");
    let tokens_path = dir.join(TOKENS_FILE_NAME);
    format!(
        "\
caseledger 演示 / demo
  台账 / ledger: {dir} ({records} 条记录 / records{generated})
  令牌 / tokens: {tokens} (每个样例角色一个 / one per sample principal)
  服务 / serving: {base}  (Ctrl-C 停止 / to stop)

试一试 / try it:
  curl {base}/healthz
  curl {base}/api/v1/public/credit
  curl {base}/api/v1/public/lists
  curl -H 'Authorization: Bearer {office}' '{base}/api/v1/cases?limit=5'
  curl -H 'Authorization: Bearer {office}' '{base}/api/v1/measures?group_by=township&from=2025-07&to=2026-06'
  curl -H 'Authorization: Bearer {office}' '{base}/api/v1/workload'
  curl -H 'Authorization: Bearer {office}' '{base}/api/v1/audit/verify'
  curl -N -H 'Authorization: Bearer {office}' '{base}/api/v1/events?after=0'
  curl -H 'Authorization: Bearer {township}' '{base}/api/v1/cases?state=in-progress'
  # one case's history (a court's view): take a case_id from the list above, then
  curl -H 'Authorization: Bearer {office}' '{base}/api/v1/cases/<case_id>/history'
  # the API: {base}/api/v1/openapi.json
",
        dir = dir.display(),
        records = report.records,
        generated = if report.generated {
            format!("，本次生成用时 {:.1} 秒 / generated in {:.1} s", report.generation_seconds, report.generation_seconds)
        } else {
            "，沿用已有数据 / reused".to_owned()
        },
        tokens = tokens_path.display(),
    )
}

/// Runs the demo until `shutdown` completes: prepare, bind, write tokens, print where and how
/// to try it (through `say`), serve.
pub async fn run_demo<F>(
    options: DemoOptions,
    shutdown: F,
    say: impl Fn(String) + Send + Sync + Clone + 'static,
) -> Result<DemoReport, RunError>
where
    F: Future<Output = ()> + Send + 'static,
{
    // The address first, as `serve` binds it: a port in use is refused before the folder is
    // made or a year generated.
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|error| crate::run::listen_failed(options.listen, error))?;
    // As `serve` does, so that the `token` commands reach the demo's server too.
    let (admin, admin_text) = AdminCredential::generate();
    // A signal while the year is generated ends the demo there (the folder then lacks its
    // completion mark, and the next run says so); after that, it stops the server.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    let (state, generated, generation_seconds) = tokio::select! {
        prepared = prepare_with_admin(&options, Some(admin), say.clone()) => prepared?,
        () = stopped(stop_rx.clone()) => {
            return Err(RunError(format!(
                "生成模拟年度时收到停止信号；{} 中的年度不完整，下次运行前请删除该目录 / stopped \
                 while generating the year: the year in {} is incomplete; remove the folder \
                 before the next run",
                options.dir.display(),
                options.dir.display()
            )));
        }
    };
    stop_rx.mark_unchanged();
    let shutdown = stopped(stop_rx);
    let address = listener
        .local_addr()
        .map_err(|error| RunError(error.to_string()))?;
    let base_url = format!("http://{address}");
    let tokens = tokens_for(&state, &options.dir, &base_url)?;
    let report = DemoReport {
        generated,
        records: state.ledger().head().position,
        generation_seconds,
        tokens,
        address,
    };
    let admin_file = AdminFileGuard(options.dir.join(ADMIN_FILE_NAME));
    write_admin_file(&admin_file.0, address, &admin_text)?;
    say(instructions(&report, &options.dir));
    crate::serve::serve(listener, state, shutdown)
        .await
        .map_err(|error| RunError(format!("服务异常退出 / the server failed: {error}")))?;
    Ok(report)
}
