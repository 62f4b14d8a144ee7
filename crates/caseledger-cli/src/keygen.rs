//! `caseledger keygen --out FILE`: a new checkpoint signing key. The signer key goes to FILE
//! with mode 0600 and the verifier key (signed-note verifier-key text, the one to give a
//! court) to `FILE.pub`. Neither file is ever overwritten. `caseledger serve` reads the key
//! from `<data>/checkpoint.key` and refuses it when the group or others can read it.

use std::path::PathBuf;
use std::process::ExitCode;

use caseledger_evidence::keyfile::{generate_key_files, public_key_path};

/// Arguments of `keygen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 私钥文件（权限 0600；公钥写入同名 .pub） / The signing key file (mode 0600; the public key goes to FILE.pub).
    #[arg(long)]
    out: PathBuf,
    /// 账本来源名称，即密钥名 / The ledger's origin name, which is the key's name.
    #[arg(long, default_value = caseledger_server::ORIGIN_DEFAULT)]
    origin: String,
}

/// Runs `keygen`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let signer = generate_key_files(&args.out, &args.origin)?;
    println!(
        "签名私钥 / signing key: {}\n验证公钥 / verifier key: {}\n{}",
        args.out.display(),
        public_key_path(&args.out).display(),
        signer.verifier().to_text()
    );
    Ok(ExitCode::SUCCESS)
}
