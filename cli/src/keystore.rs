//! Wallet files under `<home>/wallets/<name>/`: `coldkey` (encrypted with a password by default:
//! argon2id → XChaCha20-Poly1305), `coldkeypub.txt`, and `hotkeys/<name>`. Never overwritten
//! without `--overwrite`.

use crate::error::{CliError, CliResult};
use argon2::Argon2;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use tensorchain_primitives::{AccountId, Keypair};

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    public: AccountId,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted: Option<Encrypted>,
}

#[derive(Serialize, Deserialize)]
struct Encrypted {
    kdf: String,
    salt: String,
    nonce: String,
    ciphertext: String,
}

pub struct Wallets {
    root: PathBuf,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system has no randomness source");
    b
}

fn derive_key(password: &str, salt: &[u8]) -> CliResult<[u8; 32]> {
    let mut key = [0u8; 32];
    Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut key)
        .map_err(|e| CliError::new("crypto_error", e.to_string(), ""))?;
    Ok(key)
}

fn encrypt(secret: &[u8; 32], password: &str) -> CliResult<Encrypted> {
    let salt: [u8; 16] = random();
    let nonce: [u8; 24] = random();
    let key = derive_key(password, &salt)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key));
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), secret.as_slice())
        .map_err(|_| CliError::new("crypto_error", "encryption failed", ""))?;
    Ok(Encrypted {
        kdf: "argon2id".into(),
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

fn decrypt(enc: &Encrypted, password: &str) -> CliResult<[u8; 32]> {
    let corrupt = || {
        CliError::new(
            "corrupt_key_file",
            "the coldkey file is damaged",
            "restore it from a backup",
        )
    };
    let salt = hex::decode(&enc.salt).map_err(|_| corrupt())?;
    let nonce = hex::decode(&enc.nonce).map_err(|_| corrupt())?;
    let ct = hex::decode(&enc.ciphertext).map_err(|_| corrupt())?;
    if nonce.len() != 24 {
        return Err(corrupt());
    }
    let key = derive_key(password, &salt)?;
    let plain = XChaCha20Poly1305::new(Key::from_slice(&key))
        .decrypt(XNonce::from_slice(&nonce), ct.as_slice())
        .map_err(|_| {
            CliError::new(
                "wrong_password",
                "the password does not decrypt this coldkey",
                "try again, or set TENSORCHAIN_PASSWORD",
            )
        })?;
    plain.try_into().map_err(|_| corrupt())
}

fn parse_secret(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out).ok()?;
    Some(out)
}

/// The password from `TENSORCHAIN_PASSWORD`, or a prompt on a terminal; never waits without one.
pub fn password(prompt: &str, confirm: bool) -> CliResult<String> {
    if let Ok(p) = std::env::var("TENSORCHAIN_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "password_required",
            "the coldkey is encrypted and there is no terminal to ask for its password",
            "set TENSORCHAIN_PASSWORD, or create keys with --no-password for test wallets",
        ));
    }
    let p = rpassword::prompt_password(prompt)?;
    if confirm && rpassword::prompt_password("Repeat password: ")? != p {
        return Err(CliError::new(
            "password_mismatch",
            "the passwords differ",
            "type the same password twice",
        ));
    }
    Ok(p)
}

impl Wallets {
    pub fn new(home: &Path) -> Wallets {
        Wallets {
            root: home.join("wallets"),
        }
    }

    fn dir(&self, wallet: &str) -> CliResult<PathBuf> {
        let ok = !wallet.is_empty()
            && wallet
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(CliError::new(
                "bad_wallet_name",
                format!("'{wallet}' is not a wallet or key name"),
                "use letters, digits, - and _",
            ));
        }
        Ok(self.root.join(wallet))
    }

    fn write_new(path: &Path, contents: &str, overwrite: bool) -> CliResult<()> {
        if path.exists() && !overwrite {
            return Err(CliError::new(
                "key_exists",
                format!("{} already exists", path.display()),
                "pass --overwrite to replace it (the old key is lost unless backed up)",
            ));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    pub fn create_coldkey(
        &self,
        wallet: &str,
        key: &Keypair,
        password: Option<&str>,
        overwrite: bool,
    ) -> CliResult<PathBuf> {
        let dir = self.dir(wallet)?;
        let path = dir.join("coldkey");
        let secret = key.secret_bytes();
        let file = KeyFile {
            version: 1,
            public: key.account(),
            secret: password
                .is_none()
                .then(|| format!("0x{}", hex::encode(secret))),
            encrypted: password.map(|p| encrypt(&secret, p)).transpose()?,
        };
        Self::write_new(
            &path,
            &serde_json::to_string_pretty(&file).expect("key file serializes"),
            overwrite,
        )?;
        Self::write_new(&dir.join("coldkeypub.txt"), &key.account().to_ss58(), true)?;
        Ok(path)
    }

    pub fn create_hotkey(
        &self,
        wallet: &str,
        hotkey: &str,
        key: &Keypair,
        overwrite: bool,
    ) -> CliResult<PathBuf> {
        self.dir(hotkey)?;
        let path = self.dir(wallet)?.join("hotkeys").join(hotkey);
        let file = KeyFile {
            version: 1,
            public: key.account(),
            secret: Some(format!("0x{}", hex::encode(key.secret_bytes()))),
            encrypted: None,
        };
        Self::write_new(
            &path,
            &serde_json::to_string_pretty(&file).expect("key file serializes"),
            overwrite,
        )?;
        Ok(path)
    }

    fn read(path: &Path) -> CliResult<KeyFile> {
        let text = std::fs::read_to_string(path).map_err(|_| {
            CliError::new(
                "wallet_not_found",
                format!("no key at {}", path.display()),
                "create one with `tensorchain wallet create`, or use --uri alice on a devnet",
            )
        })?;
        serde_json::from_str(&text).map_err(|e| {
            CliError::new(
                "corrupt_key_file",
                format!("{}: {e}", path.display()),
                "restore it from a backup",
            )
        })
    }

    pub fn coldkey_public(&self, wallet: &str) -> CliResult<AccountId> {
        Ok(Self::read(&self.dir(wallet)?.join("coldkey"))?.public)
    }

    /// The coldkey's secret, asking for the password if it is encrypted.
    pub fn coldkey(&self, wallet: &str) -> CliResult<Keypair> {
        let file = Self::read(&self.dir(wallet)?.join("coldkey"))?;
        let secret = match (&file.secret, &file.encrypted) {
            (Some(s), _) => parse_secret(s)
                .ok_or_else(|| CliError::new("corrupt_key_file", "bad secret", ""))?,
            (None, Some(enc)) => decrypt(
                enc,
                &password(&format!("Password for wallet '{wallet}': "), false)?,
            )?,
            (None, None) => {
                return Err(CliError::new(
                    "corrupt_key_file",
                    "the coldkey file has no secret",
                    "",
                ))
            }
        };
        let key = Keypair::from_secret(secret);
        if key.account() != file.public {
            return Err(CliError::new(
                "corrupt_key_file",
                "the coldkey's secret does not match its public key",
                "",
            ));
        }
        Ok(key)
    }

    /// Wallet names with their coldkey address and hotkey names, sorted.
    pub fn list(&self) -> CliResult<Vec<(String, Option<AccountId>, Vec<(String, AccountId)>)>> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Ok(out);
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            let cold = self.coldkey_public(&name).ok();
            let mut hot = Vec::new();
            if let Ok(entries) = std::fs::read_dir(self.root.join(&name).join("hotkeys")) {
                for e in entries.filter_map(|e| e.ok()) {
                    if let (Ok(hk), Ok(file)) = (e.file_name().into_string(), Self::read(&e.path()))
                    {
                        hot.push((hk, file.public));
                    }
                }
            }
            hot.sort();
            out.push((name, cold, hot));
        }
        Ok(out)
    }
}

impl Wallets {
    /// A hotkey's secret (hotkeys are stored unencrypted, as in btcli).
    pub fn hotkey(&self, wallet: &str, hotkey: &str) -> CliResult<Keypair> {
        self.dir(hotkey)?;
        let file = Self::read(&self.dir(wallet)?.join("hotkeys").join(hotkey))?;
        let secret = file
            .secret
            .as_deref()
            .and_then(parse_secret)
            .ok_or_else(|| {
                CliError::new(
                    "corrupt_key_file",
                    "the hotkey file has no valid secret",
                    "",
                )
            })?;
        Ok(Keypair::from_secret(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_coldkey_round_trip_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallets::new(dir.path());
        let key = Keypair::generate();
        w.create_coldkey("main", &key, Some("pw"), false).unwrap();
        let text = std::fs::read_to_string(dir.path().join("wallets/main/coldkey")).unwrap();
        assert!(
            !text.contains(&hex::encode(key.secret_bytes())),
            "secret must not be stored in clear"
        );
        let file: KeyFile = serde_json::from_str(&text).unwrap();
        assert_eq!(
            decrypt(file.encrypted.as_ref().unwrap(), "pw").unwrap(),
            key.secret_bytes()
        );
        assert_eq!(
            decrypt(file.encrypted.as_ref().unwrap(), "nope")
                .unwrap_err()
                .code,
            "wrong_password"
        );
        let again = w
            .create_coldkey("main", &Keypair::generate(), None, false)
            .unwrap_err();
        assert_eq!(again.code, "key_exists");
        assert_eq!(w.coldkey_public("main").unwrap(), key.account());
    }

    #[test]
    fn bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallets::new(dir.path());
        assert_eq!(
            w.create_coldkey("../x", &Keypair::generate(), None, false)
                .unwrap_err()
                .code,
            "bad_wallet_name"
        );
    }
}
