//! The machine identity: one ed25519 key pair per user and machine
//! (`store-format.md` § *Identity key*).
//!
//! The secret key lives in `$GADN_HOME/identity.key` ([`KEY_FILE`]); `GADN_HOME`
//! defaults to `$XDG_CONFIG_HOME/gadn`, else `$HOME/.config/gadn`, so several peers
//! can run side by side on one machine by giving each its own `GADN_HOME`.
//!
//! * The file holds exactly the 32-byte ed25519 secret seed ([`SEED_LEN`]), nothing
//!   else. A file of any other size is refused, never repaired or overwritten.
//! * It is created on first use with mode `0600` (its directory `0700` when gadn
//!   creates it): written to a temporary file in the same directory, fsynced, then
//!   hard-linked into place, so a reader never sees a partial key and two processes
//!   creating it at once agree on one key (the loser loads the winner's).
//! * A key file readable or writable by group or others, not a regular file, or
//!   owned by another user is refused with a message saying how to fix it.
//!
//! Public keys print as [`PublicKey::to_text`]: `gadn1` followed by the 32 bytes in
//! 64 lowercase hex digits.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Name of the secret key file inside the gadn home directory.
pub const KEY_FILE: &str = "identity.key";

/// Length of the key file: the ed25519 secret seed, in bytes.
pub const SEED_LEN: usize = 32;

/// Prefix of a public key's text form.
pub const PUBLIC_KEY_PREFIX: &str = "gadn1";

/// What can go wrong loading, creating or parsing keys.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Neither `GADN_HOME`, `XDG_CONFIG_HOME` nor `HOME` is set.
    #[error("cannot find a home for the identity key: set GADN_HOME (or HOME)")]
    NoHome,
    /// The key file or its directory could not be read or written.
    #[error("identity key {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file does not hold exactly [`SEED_LEN`] bytes.
    #[error("identity key {} is {len} bytes, expected {SEED_LEN}: it is damaged or not a gadn key\nhint: move it away to create a new identity (peers will see a new key)", path.display())]
    BadSize {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The key file is accessible to others, not a regular file, or not ours.
    #[error("identity key {} is not safe to use: {reason}", path.display())]
    Unsafe {
        /// The key file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A public key's text form is malformed.
    #[error("bad public key '{text}': {reason} (expected {PUBLIC_KEY_PREFIX} and 64 lowercase hex digits)")]
    BadPublicKey {
        /// The text given.
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The gadn home directory: `$GADN_HOME`, else `$XDG_CONFIG_HOME/gadn`, else
/// `$HOME/.config/gadn`. Empty variables count as unset.
pub fn home_dir() -> Result<PathBuf, IdentityError> {
    home_dir_from(|k| std::env::var_os(k))
}

/// [`home_dir`] with the environment given as a lookup function.
fn home_dir_from(
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<PathBuf, IdentityError> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(h) = var("GADN_HOME") {
        return Ok(PathBuf::from(h));
    }
    if let Some(x) = var("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("gadn"));
    }
    match var("HOME") {
        Some(h) => Ok(PathBuf::from(h).join(".config").join("gadn")),
        None => Err(IdentityError::NoHome),
    }
}

/// An ed25519 public key: who signed a record.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(pub [u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl serde::Serialize for PublicKey {
    /// As its text form ([`PublicKey::to_text`]), the form users copy between machines.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl PublicKey {
    /// `gadn1` followed by 64 lowercase hex digits.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(PUBLIC_KEY_PREFIX.len() + 64);
        s.push_str(PUBLIC_KEY_PREFIX);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// The first 12 hex digits after the prefix, for listings.
    pub fn short(&self) -> String {
        self.to_text()[..PUBLIC_KEY_PREFIX.len() + 12].to_string()
    }

    /// Parses [`PublicKey::to_text`]'s form; refuses upper case, wrong lengths and
    /// byte strings that are not a valid ed25519 point.
    pub fn parse(text: &str) -> Result<PublicKey, IdentityError> {
        let bad = |reason| IdentityError::BadPublicKey {
            text: text.into(),
            reason,
        };
        let hex = text
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or_else(|| bad("missing the gadn1 prefix"))?;
        if hex.len() != 64 {
            return Err(bad("wrong length"));
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => out[i] = h << 4 | l,
                _ => return Err(bad("not lowercase hex")),
            }
        }
        VerifyingKey::from_bytes(&out).map_err(|_| bad("not a valid ed25519 key"))?;
        Ok(PublicKey(out))
    }

    /// True if `signature` is this key's ed25519 signature of `message` (strict
    /// verification: no malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_strict(message, &sig).is_ok()
    }
}

/// This machine's secret key.
pub struct MachineKey {
    key: SigningKey,
}

impl std::fmt::Debug for MachineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "MachineKey({})", self.public())
    }
}

impl MachineKey {
    /// A key from a known seed (tests, and keys held elsewhere).
    pub fn from_seed(seed: [u8; SEED_LEN]) -> MachineKey {
        MachineKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The key in [`home_dir`], created if there is none yet.
    pub fn from_env() -> Result<MachineKey, IdentityError> {
        MachineKey::load_or_create(&home_dir()?)
    }

    /// The key in [`home_dir`] if one exists; never creates one.
    pub fn existing_from_env() -> Result<Option<MachineKey>, IdentityError> {
        MachineKey::load(&home_dir()?)
    }

    /// Loads `home/identity.key`; `None` if it does not exist.
    pub fn load(home: &Path) -> Result<Option<MachineKey>, IdentityError> {
        let path = home.join(KEY_FILE);
        let io = |source| IdentityError::Io {
            path: path.clone(),
            source,
        };
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        check_safe(&path, &meta)?;
        if meta.len() != SEED_LEN as u64 {
            return Err(IdentityError::BadSize {
                path,
                len: meta.len(),
            });
        }
        let mut seed = [0u8; SEED_LEN];
        let mut f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io)?;
        f.read_exact(&mut seed).map_err(io)?;
        Ok(Some(MachineKey::from_seed(seed)))
    }

    /// Loads `home/identity.key`, creating `home` (mode 0700) and a fresh key (mode
    /// 0600) if needed.
    pub fn load_or_create(home: &Path) -> Result<MachineKey, IdentityError> {
        if let Some(k) = MachineKey::load(home)? {
            return Ok(k);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IdentityError::Io { path, source }
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(home)
            .map_err(io(home))?;
        let seed = random_seed().map_err(io(Path::new("/dev/urandom")))?;
        let path = home.join(KEY_FILE);
        let tmp = home.join(format!("{KEY_FILE}.tmp-{}", std::process::id()));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&seed)?;
            f.sync_all()?;
            // Fails if another process created the key meanwhile; theirs wins.
            match std::fs::hard_link(&tmp, &path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        })();
        let _ = std::fs::remove_file(&tmp);
        written.map_err(io(&path))?;
        if let Ok(dir) = std::fs::File::open(home) {
            let _ = dir.sync_all();
        }
        MachineKey::load(home)?.ok_or_else(|| IdentityError::Io {
            path,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The secret key as a PKCS#8 v2 DER document (RFC 8410: seed and public key),
    /// the form TLS libraries load keys in (`sync::tls`). The bytes are the secret:
    /// never log, print or store them.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, ed25519_dalek::pkcs8::Error> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        Ok(self.key.to_pkcs8_der()?.as_bytes().to_vec())
    }
}

/// Refuses a key file that others could read or replace.
fn check_safe(path: &Path, meta: &std::fs::Metadata) -> Result<(), IdentityError> {
    let unsafe_ = |reason: String| IdentityError::Unsafe {
        path: path.to_path_buf(),
        reason,
    };
    if !meta.file_type().is_file() {
        return Err(unsafe_("it is not a regular file".into()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unsafe_(format!(
            "its permissions are {mode:04o}, so other users can reach it\nhint: chmod 600 {}",
            path.display()
        )));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(unsafe_(format!(
            "it belongs to user id {}, not to you ({me})",
            meta.uid()
        )));
    }
    Ok(())
}

/// 32 bytes from the kernel's CSPRNG.
fn random_seed() -> std::io::Result<[u8; SEED_LEN]> {
    let mut seed = [0u8; SEED_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_use_creates_a_private_key_and_later_uses_load_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a/gadn");
        assert!(MachineKey::load(&home).unwrap().is_none());
        let k = MachineKey::load_or_create(&home).unwrap();
        let file = home.join(KEY_FILE);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&home), 0o700);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), SEED_LEN as u64);
        let again = MachineKey::load_or_create(&home).unwrap();
        assert_eq!(again.public(), k.public());
        assert_eq!(
            MachineKey::load(&home).unwrap().unwrap().public(),
            k.public()
        );
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(KEY_FILE)]);
        // Two homes, two identities.
        let other = MachineKey::load_or_create(&dir.path().join("b")).unwrap();
        assert_ne!(other.public(), k.public());
        assert!(format!("{k:?}").starts_with("MachineKey(gadn1"));
    }

    #[test]
    fn unsafe_or_damaged_key_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let file = home.join(KEY_FILE);
        MachineKey::load_or_create(home).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MachineKey::load_or_create(home).unwrap_err();
        assert!(matches!(err, IdentityError::Unsafe { .. }), "{err}");
        assert!(err.to_string().contains("0644"), "{err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&file, [1u8; 31]).unwrap();
        let err = MachineKey::load_or_create(home).unwrap_err();
        assert!(
            matches!(err, IdentityError::BadSize { len: 31, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("31 bytes, expected 32"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), [1u8; 31]);
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        let err = MachineKey::load(home).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn a_home_that_cannot_be_created_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = MachineKey::load_or_create(&blocker.join("gadn")).unwrap_err();
        assert!(matches!(err, IdentityError::Io { .. }), "{err}");
        assert!(err.to_string().contains("identity key"), "{err}");
    }

    #[test]
    fn public_keys_print_and_parse() {
        let k = MachineKey::from_seed([7; 32]);
        let p = k.public();
        let text = p.to_text();
        assert!(text.starts_with("gadn1"));
        assert_eq!(text.len(), 5 + 64);
        assert_eq!(PublicKey::parse(&text).unwrap(), p);
        assert_eq!(format!("{p}"), text);
        assert_eq!(format!("{p:?}"), text);
        assert_eq!(p.short(), text[..17]);
        let upper = format!("gadn1{}", text[5..].to_uppercase());
        let cases = [
            (text[5..].to_string(), "missing the gadn1 prefix"),
            (text[..60].to_string(), "wrong length"),
            (upper, "not lowercase hex"),
            (format!("gadn1{}", "zz".repeat(32)), "not lowercase hex"),
        ];
        for (bad, why) in cases {
            let err = PublicKey::parse(&bad).unwrap_err();
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
        // y = 2 is not on the curve: decompression fails.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        let off = PublicKey(off_curve).to_text();
        let err = PublicKey::parse(&off).unwrap_err();
        assert!(err.to_string().contains("not a valid ed25519 key"), "{err}");
        assert!(!PublicKey(off_curve).verify(b"m", &[0; 64]));
    }

    #[test]
    fn signatures_verify_only_for_the_signed_message_and_key() {
        let k = MachineKey::from_seed([1; 32]);
        let sig = k.sign(b"hello");
        assert!(k.public().verify(b"hello", &sig));
        assert!(!k.public().verify(b"hellO", &sig));
        let other = MachineKey::from_seed([2; 32]);
        assert!(!other.public().verify(b"hello", &sig));
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!k.public().verify(b"hello", &bad));
    }

    #[test]
    fn home_dir_follows_the_documented_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let all: &'static [(&str, &str)] = &[
            ("GADN_HOME", "/g"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ];
        let got = |p: &'static [(&'static str, &'static str)]| home_dir_from(env(p));
        assert_eq!(got(all).unwrap(), PathBuf::from("/g"));
        assert_eq!(
            got(&[("GADN_HOME", ""), ("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]).unwrap(),
            PathBuf::from("/x/gadn")
        );
        assert_eq!(
            got(&[("HOME", "/h")]).unwrap(),
            PathBuf::from("/h/.config/gadn")
        );
        let err = got(&[]).unwrap_err();
        assert!(matches!(err, IdentityError::NoHome));
        assert!(err.to_string().contains("GADN_HOME"));
        // The real environment resolves the same way.
        assert_eq!(home_dir().ok(), home_dir_from(|k| std::env::var_os(k)).ok());
    }
}
