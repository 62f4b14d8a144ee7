//! The checkpoint signing key on disk (签名密钥文件).
//!
//! `caseledger keygen --out FILE` writes two files:
//! - `FILE`: the signed-note signer key (`PRIVATE+KEY+<name>+<id>+<key>`), mode 0600, created
//!   exclusively so an existing key is never overwritten;
//! - `FILE.pub`: the verifier key (`<name>+<id>+<key>`), the text a court is given.
//!
//! [`load_signer`] refuses a signer key file that the group or others may read or write:
//! anyone who can read it can sign checkpoints in the ledger's name.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use caseledger_proof::note::{NoteError, NoteSigner};

/// The suffix of the verifier key file written beside the signer key.
pub const PUBLIC_KEY_SUFFIX: &str = ".pub";

/// The permission bits a signer key file may not have: any access by group or others.
pub const KEY_MODE_FORBIDDEN_BITS: u32 = 0o077;

/// The largest key file read: a signer key is under 300 bytes.
pub const KEY_FILE_BYTES_MAX: u64 = 4096;

/// Why a key file could not be written or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file system failed.
    #[error("密钥文件 {path} 读写失败 / key file {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error, in the message (not as the error's source, which a report printing
        /// the chain of causes would repeat).
        cause: std::io::Error,
    },
    /// The key file already exists; keygen never overwrites a key.
    #[error(
        "密钥文件 {0} 已存在，不会覆盖 / key file {0} already exists; it is never overwritten"
    )]
    Exists(PathBuf),
    /// The signer key file is readable or writable by the group or others.
    #[error(
        "密钥文件 {path} 的权限为 {mode:04o}，组或其他用户可以访问；请执行 chmod 600 / \
         key file {path} has mode {mode:04o}: the group or others can access it; run chmod 600"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is larger than any key.
    #[error("密钥文件 {0} 过大 / key file {0} is too large to be a key")]
    TooLarge(PathBuf),
    /// The content is not a signer key.
    #[error("密钥文件 {path} 内容无效 / key file {path} is not a signer key: {cause}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why, in the message (see `Io`).
        cause: NoteError,
    },
    /// A new key cannot take this name (the ledger's origin).
    #[error("无法以此名称生成密钥 / cannot make a key with this name: {0}")]
    Name(NoteError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |cause| KeyFileError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// The verifier key file beside a signer key file: `FILE.pub`.
pub fn public_key_path(signer_path: &Path) -> PathBuf {
    let mut name = signer_path.as_os_str().to_owned();
    name.push(PUBLIC_KEY_SUFFIX);
    PathBuf::from(name)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn write_new(path: &Path, text: &str, private: bool) -> Result<(), KeyFileError> {
    let opened = if private {
        create_private(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = opened.map_err(|error| match error.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::Exists(path.to_path_buf()),
        _ => KeyFileError::Io {
            path: path.to_path_buf(),
            cause: error,
        },
    })?;
    file.write_all(text.as_bytes()).map_err(io(path))?;
    file.write_all(b"\n").map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Generates a key named `name` (the ledger's origin) and writes the signer key to `path`
/// (mode 0600) and the verifier key to [`public_key_path`]. Neither file may exist yet.
/// Returns the signer.
pub fn generate_key_files(path: &Path, name: &str) -> Result<NoteSigner, KeyFileError> {
    let public = public_key_path(path);
    if public.exists() {
        return Err(KeyFileError::Exists(public));
    }
    let signer = NoteSigner::generate(name).map_err(KeyFileError::Name)?;
    write_new(path, &signer.to_text(), true)?;
    write_new(&public, &signer.verifier().to_text(), false)?;
    Ok(signer)
}

/// Checks that a signer key file gives no access to the group or others.
#[cfg(unix)]
pub fn check_private(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o7777;
    if mode & KEY_MODE_FORBIDDEN_BITS != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Checks that a signer key file gives no access to the group or others (no permission bits
/// to check on this platform).
#[cfg(not(unix))]
pub fn check_private(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

/// Loads the signer key in `path`, refusing a file the group or others can access.
pub fn load_signer(path: &Path) -> Result<NoteSigner, KeyFileError> {
    check_private(path)?;
    let size = std::fs::metadata(path).map_err(io(path))?.len();
    if size > KEY_FILE_BYTES_MAX {
        return Err(KeyFileError::TooLarge(path.to_path_buf()));
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    NoteSigner::from_text(text.trim_end()).map_err(|cause| KeyFileError::Format {
        path: path.to_path_buf(),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger_proof::note::NoteVerifier;

    #[test]
    fn keygen_writes_a_private_signer_and_a_public_verifier() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.key");
        let signer = generate_key_files(&path, "caseledger.test/keys").unwrap();
        let loaded = load_signer(&path).unwrap();
        assert_eq!(loaded.to_text(), signer.to_text());
        let public = std::fs::read_to_string(public_key_path(&path)).unwrap();
        let verifier = NoteVerifier::from_text(public.trim_end()).unwrap();
        assert_eq!(verifier, signer.verifier());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn keygen_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        generate_key_files(&path, "caseledger.test/keys").unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        let error = generate_key_files(&path, "caseledger.test/keys").unwrap_err();
        assert!(matches!(error, KeyFileError::Exists(_)), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        generate_key_files(&path, "caseledger.test/keys").unwrap();
        for mode in [0o640, 0o604, 0o660, 0o644, 0o602] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = load_signer(&path).unwrap_err();
            match &error {
                KeyFileError::TooOpen { mode: found, .. } => assert_eq!(*found, mode),
                other => panic!("mode {mode:o}: {other}"),
            }
            assert!(error.to_string().contains("chmod 600"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        load_signer(&path).unwrap();
    }

    #[test]
    fn a_verifier_key_is_not_a_signer_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        generate_key_files(&path, "caseledger.test/keys").unwrap();
        let public = public_key_path(&path);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let error = load_signer(&public).unwrap_err();
        assert!(matches!(error, KeyFileError::Format { .. }), "{error}");
    }
}
