//! `caseledger token issue|revoke|list`: bearer tokens of a ledger. While a server holds the
//! folder, the command goes through that server's admin routes with the local admin
//! credential it wrote to `DIR/server-admin.json`, and takes effect on it at once; otherwise
//! it opens the folder itself.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `token`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// 签发令牌（只显示一次，只保存其摘要） / Issue a token: printed once, only its hash is stored.
    Issue {
        /// 账本目录 / The ledger folder.
        #[arg(long)]
        data: PathBuf,
        /// 角色 / Role: office, department, township, community, intake, court, firm.
        #[arg(long)]
        role: String,
        /// 单位编号 / Unit id in the registry (`township/dongping`, `housing`, `firm/<uscc>` …).
        #[arg(long)]
        unit: String,
        /// 用户名（记入每条行为的 actor） / User name recorded as the actor of every act.
        #[arg(long)]
        user: Option<String>,
        /// 配置文件 / Configuration file (for `origin` and `ops`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// 吊销令牌 / Revoke a token by its id.
    Revoke {
        /// 账本目录 / The ledger folder.
        #[arg(long)]
        data: PathBuf,
        /// 令牌编号（令牌中间那段） / The token id (the middle part of the token).
        #[arg(long)]
        id: String,
        /// 配置文件 / Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// 列出令牌（不含密钥） / List tokens (ids and principals; secrets are never stored).
    List {
        /// 账本目录 / The ledger folder.
        #[arg(long)]
        data: PathBuf,
        /// 配置文件 / Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs `token`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    use caseledger_server::run::{issue_token, list_tokens, load_config, revoke_token};
    match args.command {
        Command::Issue {
            data,
            role,
            unit,
            user,
            config,
        } => {
            let config = load_config(config.as_deref())?;
            let issued = issue_token(&data, &config, &role, &unit, user.as_deref())?;
            eprintln!(
                "令牌 {} 已签发，只显示这一次 / token {} issued; shown this once:",
                issued.id, issued.id
            );
            println!("{}", issued.token);
        }
        Command::Revoke { data, id, config } => {
            let config = load_config(config.as_deref())?;
            let entry = revoke_token(&data, &config, &id)?;
            println!(
                "令牌 {} 已吊销 / token {} revoked ({} {})",
                entry.id, entry.id, entry.principal.role, entry.principal.unit
            );
        }
        Command::List { data, config } => {
            let config = load_config(config.as_deref())?;
            for entry in list_tokens(&data, &config)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    entry.id,
                    entry.principal.role,
                    entry.principal.unit,
                    entry.issued_at,
                    entry.revoked_at.as_deref().unwrap_or("active")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
