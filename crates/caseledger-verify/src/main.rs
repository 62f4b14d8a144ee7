//! `caseledger-verify`: checks a case evidence bundle, or the consistency of two checkpoints,
//! offline — no network, no access to the ledger — and prints a plain report in Chinese and
//! English that a court can file.
//!
//! ```text
//! caseledger-verify BUNDLE --key PUBKEY [--json]
//! caseledger-verify consistency OLD_CHECKPOINT NEW_CHECKPOINT PROOF --key PUBKEY [--json]
//! ```
//!
//! `PUBKEY` is the ledger's verifier key text (`name+id+base64`) or a file holding it.
//! Exit status: 0 when everything holds, 1 when a check fails, 2 on usage or file errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use caseledger_proof::bundle::{file_digest, verify_bundle, EvidenceBundle};
use caseledger_proof::consistency::{verify_checkpoint_consistency, ConsistencyProof};
use caseledger_proof::note::NoteVerifier;
use clap::Parser;

/// Files larger than this are not bundles, checkpoints or proofs: refuse them before reading.
const INPUT_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Checks a caseledger evidence bundle against the ledger's public key.
/// 用账本公钥核验案件证据包。
#[derive(Parser)]
#[command(
    name = "caseledger-verify",
    version,
    after_help = "Also / 另有: caseledger-verify consistency OLD_CHECKPOINT NEW_CHECKPOINT PROOF --key PUBKEY\n\
                  Exit status / 退出码: 0 all checks hold 全部通过; 1 a check failed 核验失败; 2 usage or file error 用法或文件错误"
)]
struct BundleArgs {
    /// The evidence bundle (JSON) / 证据包文件
    bundle: PathBuf,
    /// The ledger's public key: verifier key text or a file holding it / 账本公钥（文本或文件）
    #[arg(long)]
    key: String,
    /// Print the report as JSON / 以 JSON 输出报告
    #[arg(long)]
    json: bool,
}

/// Checks that a later signed checkpoint extends an earlier one.
/// 核验新检查点是旧检查点的延续。
#[derive(Parser)]
#[command(name = "caseledger-verify consistency", version)]
struct ConsistencyArgs {
    /// The earlier signed checkpoint note / 旧检查点文件
    old_checkpoint: PathBuf,
    /// The later signed checkpoint note / 新检查点文件
    new_checkpoint: PathBuf,
    /// The consistency proof (JSON, format caseledger-consistency-proof/v1) / 一致性证明文件
    proof: PathBuf,
    /// The ledger's public key: verifier key text or a file holding it / 账本公钥（文本或文件）
    #[arg(long)]
    key: String,
    /// Print the report as JSON / 以 JSON 输出报告
    #[arg(long)]
    json: bool,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("无法读取 / cannot read {}", path.display()))?
        .len();
    if size > INPUT_BYTES_MAX {
        return Err(anyhow!(
            "文件过大 / file too large: {} ({size} bytes, at most {INPUT_BYTES_MAX})",
            path.display()
        ));
    }
    std::fs::read(path).with_context(|| format!("无法读取 / cannot read {}", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|_| anyhow!("不是 UTF-8 文本 / not UTF-8 text: {}", path.display()))
}

/// The key from its text, or from the file the argument names.
fn load_key(argument: &str) -> anyhow::Result<NoteVerifier> {
    if let Ok(key) = NoteVerifier::from_text(argument) {
        return Ok(key);
    }
    let text = read_text(Path::new(argument)).with_context(|| {
        "--key 既不是公钥文本，也不是可读的文件 / --key is neither a verifier key nor a readable file"
    })?;
    NoteVerifier::from_text(text.trim())
        .map_err(|error| anyhow!("公钥无效 / invalid public key in {argument}: {error}"))
}

fn run_bundle(args: BundleArgs) -> anyhow::Result<bool> {
    let key = load_key(&args.key)?;
    let bytes = read(&args.bundle)?;
    let bundle: EvidenceBundle = serde_json::from_slice(&bytes).map_err(|error| {
        anyhow!(
            "证据包不是有效的 JSON 或缺少字段 / the bundle is not valid bundle JSON: {}: {error}",
            args.bundle.display()
        )
    })?;
    let report = verify_bundle(&bundle, &key);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("文件 / File: {}", args.bundle.display());
        println!("文件 SHA-256 / File SHA-256: {}", file_digest(&bytes));
        print!("{}", report.to_text());
    }
    Ok(report.ok)
}

fn run_consistency(args: ConsistencyArgs) -> anyhow::Result<bool> {
    let key = load_key(&args.key)?;
    let old = read_text(&args.old_checkpoint)?;
    let new = read_text(&args.new_checkpoint)?;
    let proof: ConsistencyProof = serde_json::from_slice(&read(&args.proof)?).map_err(|error| {
        anyhow!(
            "证明文件无效 / the proof file is not valid proof JSON: {}: {error}",
            args.proof.display()
        )
    })?;
    let report = verify_checkpoint_consistency(&old, &new, &proof, &key);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.ok)
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = if args.get(1).is_some_and(|a| a == "consistency") {
        // clap names the program in its usage line after the first argument: make that the
        // whole command, so that the usage shown is one a user can type.
        args.remove(1);
        args[0] = "caseledger-verify consistency".into();
        ConsistencyArgs::try_parse_from(args).map(run_consistency)
    } else {
        BundleArgs::try_parse_from(args).map(run_bundle)
    };
    match result {
        Err(usage) => {
            // Help and version print to stdout and succeed; real usage errors exit 2.
            let _ = usage.print();
            if usage.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => ExitCode::from(1),
        Ok(Err(error)) => {
            eprintln!("错误 / error: {error:#}");
            ExitCode::from(2)
        }
    }
}
