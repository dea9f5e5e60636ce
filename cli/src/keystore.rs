//! Wallet files under `<home>/wallets/<name>/`: `coldkey` (encrypted with a password by default:
//! argon2id → XChaCha20-Poly1305, the argon2 parameters stored in the file), `coldkeypub.txt`
//! (alone, it makes a watch-only wallet), and `hotkeys/<name>`. Files are created 0600 (their
//! directory 0700) and renamed into place, so a secret is never readable by others even for a
//! moment; nothing is overwritten without `--overwrite`; secrets are zeroized after use.
//! Mnemonics are never written: only the key they derive.

use crate::error::{CliError, CliResult};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use tensorchain_primitives::{AccountId, Keypair};
use zeroize::{Zeroize, Zeroizing};

const KEY_FILE_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    public: AccountId,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted: Option<Encrypted>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

#[derive(Serialize, Deserialize)]
struct Encrypted {
    kdf: String,
    /// Absent in version 1 files, which used argon2's defaults.
    #[serde(default = "KdfParams::v1")]
    kdf_params: KdfParams,
    salt: String,
    nonce: String,
    ciphertext: String,
}

/// argon2id cost parameters, as stored in the key file so that later versions may raise them
/// without losing old files.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
struct KdfParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

/// Upper bounds on the parameters a key file may ask for: a damaged or hostile file must not make
/// the CLI allocate gigabytes or spin for hours (1 GiB, 64 passes, 16 lanes).
const MAX_KDF: KdfParams = KdfParams {
    m_cost_kib: 1 << 20,
    t_cost: 64,
    p_cost: 16,
};

impl KdfParams {
    /// What new files use: 64 MiB, 3 passes, 1 lane (about 0.2 s on a laptop; OWASP's 2023
    /// argon2id floor is 19 MiB with 2 passes).
    const NEW: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    fn v1() -> KdfParams {
        KdfParams {
            m_cost_kib: Params::DEFAULT_M_COST,
            t_cost: Params::DEFAULT_T_COST,
            p_cost: Params::DEFAULT_P_COST,
        }
    }
}

pub struct Wallets {
    root: PathBuf,
}

/// A wallet as `wallet list` shows it.
pub struct WalletEntry {
    pub name: String,
    /// None when the coldkey file is missing or unreadable.
    pub coldkey: Option<AccountId>,
    /// Hotkey names with their addresses, sorted by name.
    pub hotkeys: Vec<(String, AccountId)>,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system has no randomness source");
    b
}

fn corrupt(what: &str) -> CliError {
    CliError::new(
        "corrupt_key_file",
        format!("the key file is damaged: {what}"),
        "restore it from a backup, or regenerate it from its mnemonic",
    )
}

fn derive_key(password: &str, salt: &[u8], p: KdfParams) -> CliResult<Zeroizing<[u8; 32]>> {
    if p.m_cost_kib > MAX_KDF.m_cost_kib || p.t_cost > MAX_KDF.t_cost || p.p_cost > MAX_KDF.p_cost {
        return Err(corrupt(
            "its argon2 parameters are beyond the allowed bounds",
        ));
    }
    let params = Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(32))
        .map_err(|e| corrupt(&format!("argon2 parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut key[..])
        .map_err(|e| CliError::new("crypto_error", e.to_string(), ""))?;
    Ok(key)
}

fn encrypt(secret: &[u8; 32], password: &str) -> CliResult<Encrypted> {
    let salt: [u8; 16] = random();
    let nonce: [u8; 24] = random();
    let key = derive_key(password, &salt, KdfParams::NEW)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&key[..]));
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), secret.as_slice())
        .map_err(|_| CliError::new("crypto_error", "encryption failed", ""))?;
    Ok(Encrypted {
        kdf: "argon2id".into(),
        kdf_params: KdfParams::NEW,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

fn decrypt(enc: &Encrypted, password: &str) -> CliResult<Zeroizing<[u8; 32]>> {
    if enc.kdf != "argon2id" {
        return Err(corrupt(&format!("unknown kdf '{}'", enc.kdf)));
    }
    let salt = hex::decode(&enc.salt).map_err(|_| corrupt("salt"))?;
    let nonce = hex::decode(&enc.nonce).map_err(|_| corrupt("nonce"))?;
    let ct = hex::decode(&enc.ciphertext).map_err(|_| corrupt("ciphertext"))?;
    if nonce.len() != 24 {
        return Err(corrupt("nonce length"));
    }
    let key = derive_key(password, &salt, enc.kdf_params)?;
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new(Key::from_slice(&key[..]))
            .decrypt(XNonce::from_slice(&nonce), ct.as_slice())
            .map_err(|_| {
                CliError::new(
                    "wrong_password",
                    "the password does not decrypt this coldkey",
                    "try again, or set TENSORCHAIN_PASSWORD",
                )
            })?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(corrupt("secret length"));
    }
    out.copy_from_slice(&plain);
    Ok(out)
}

fn parse_secret(s: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out[..]).ok()?;
    Some(out)
}

fn secret_hex(key: &Keypair) -> String {
    let secret = Zeroizing::new(key.secret_bytes());
    format!("0x{}", hex::encode(&secret[..]))
}

/// A secret from an environment variable, or a hidden prompt on a terminal; never waits without
/// one. `what` names it in errors ("password", "mnemonic").
fn secret_input(env: &str, prompt: &str, what: &str, hint: &str) -> CliResult<Zeroizing<String>> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            &format!("{what}_required"),
            format!("a {what} is needed and there is no terminal to ask for it"),
            hint,
        ));
    }
    Ok(Zeroizing::new(rpassword::prompt_password(prompt)?))
}

/// The password from `TENSORCHAIN_PASSWORD`, or a prompt on a terminal; never waits without one.
pub fn password(prompt: &str, confirm: bool) -> CliResult<Zeroizing<String>> {
    let p = secret_input(
        "TENSORCHAIN_PASSWORD",
        prompt,
        "password",
        "set TENSORCHAIN_PASSWORD, or create keys with --no-password for test wallets",
    )?;
    if confirm
        && std::env::var_os("TENSORCHAIN_PASSWORD").is_none()
        && *Zeroizing::new(rpassword::prompt_password("Repeat password: ")?) != *p
    {
        return Err(CliError::new(
            "password_mismatch",
            "the passwords differ",
            "type the same password twice",
        ));
    }
    Ok(p)
}

/// A recovery phrase: `--mnemonic`, else `TENSORCHAIN_MNEMONIC`, else a hidden prompt (which keeps
/// it out of shell history and `ps`).
pub fn mnemonic(given: Option<String>) -> CliResult<Zeroizing<String>> {
    match given {
        Some(m) => Ok(Zeroizing::new(m)),
        None => secret_input(
            "TENSORCHAIN_MNEMONIC",
            "Mnemonic: ",
            "mnemonic",
            "pass --mnemonic \"…\" or set TENSORCHAIN_MNEMONIC",
        ),
    }
}

fn refuse_existing(path: &Path, overwrite: bool) -> CliResult<()> {
    if path.exists() && !overwrite {
        return Err(CliError::new(
            "key_exists",
            format!("{} already exists", path.display()),
            "pass --overwrite to replace it (the old key is lost unless backed up)",
        ));
    }
    Ok(())
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

    /// Refuses (`key_exists`) before anything is written if the coldkey or the hotkey exists, so
    /// that `wallet create` never leaves one new key whose phrase was not shown.
    pub fn check_new_wallet(&self, wallet: &str, hotkey: &str, overwrite: bool) -> CliResult<()> {
        self.dir(hotkey)?;
        let dir = self.dir(wallet)?;
        refuse_existing(&dir.join("coldkey"), overwrite)?;
        refuse_existing(&dir.join("hotkeys").join(hotkey), overwrite)
    }

    /// Writes a key file readable by its owner only: created 0600 under a temporary name in a
    /// 0700 directory, synced, then renamed over `path`.
    fn write_new(path: &Path, contents: &str, overwrite: bool) -> CliResult<()> {
        refuse_existing(path, overwrite)?;
        let parent = path.parent().expect("key paths have a directory");
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            dirs.mode(0o700);
            opts.mode(0o600);
        }
        dirs.create(parent)?;
        let name = path
            .file_name()
            .expect("key paths name a file")
            .to_string_lossy();
        let tmp = parent.join(format!(".{name}.tmp"));
        // A crash between create and rename leaves the temporary file; it is ours to replace.
        let _ = std::fs::remove_file(&tmp);
        let mut f = opts.open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    fn write_key_file(path: &Path, file: &KeyFile, overwrite: bool) -> CliResult<()> {
        let text = Zeroizing::new(serde_json::to_string_pretty(file).expect("key file serializes"));
        Self::write_new(path, &text, overwrite)
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
        let secret = Zeroizing::new(key.secret_bytes());
        let file = KeyFile {
            version: KEY_FILE_VERSION,
            public: key.account(),
            secret: password.is_none().then(|| secret_hex(key)),
            encrypted: password.map(|p| encrypt(&secret, p)).transpose()?,
        };
        Self::write_key_file(&path, &file, overwrite)?;
        Self::write_new(&dir.join("coldkeypub.txt"), &key.account().to_ss58(), true)?;
        Ok(path)
    }

    /// A watch-only wallet: the coldkey's address without its secret. It can query balances and
    /// stakes; signing with it is a `watch_only` error.
    pub fn create_coldkeypub(
        &self,
        wallet: &str,
        address: &AccountId,
        overwrite: bool,
    ) -> CliResult<PathBuf> {
        let dir = self.dir(wallet)?;
        let secret = dir.join("coldkey");
        let public = dir.join("coldkeypub.txt");
        refuse_existing(&secret, overwrite)?;
        refuse_existing(&public, overwrite)?;
        if secret.exists() {
            std::fs::remove_file(&secret)?;
        }
        Self::write_new(&public, &address.to_ss58(), true)?;
        Ok(public)
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
            version: KEY_FILE_VERSION,
            public: key.account(),
            secret: Some(secret_hex(key)),
            encrypted: None,
        };
        Self::write_key_file(&path, &file, overwrite)?;
        Ok(path)
    }

    fn read(path: &Path) -> CliResult<KeyFile> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|_| {
            CliError::new(
                "wallet_not_found",
                format!("no key at {}", path.display()),
                "create one with `tensorchain wallet create`, or use --uri alice on a devnet",
            )
        })?);
        serde_json::from_str(&text).map_err(|e| {
            CliError::new(
                "corrupt_key_file",
                format!("{}: {e}", path.display()),
                "restore it from a backup, or regenerate it from its mnemonic",
            )
        })
    }

    /// The coldkey's address: from the key file, or `coldkeypub.txt` for a watch-only wallet.
    pub fn coldkey_public(&self, wallet: &str) -> CliResult<AccountId> {
        let dir = self.dir(wallet)?;
        if self.is_watch_only(wallet)? {
            let path = dir.join("coldkeypub.txt");
            let text = std::fs::read_to_string(&path)?;
            return text
                .trim()
                .parse()
                .map_err(|e| corrupt(&format!("{}: {e}", path.display())));
        }
        Ok(Self::read(&dir.join("coldkey"))?.public)
    }

    /// True when the wallet has `coldkeypub.txt` but no `coldkey`.
    pub fn is_watch_only(&self, wallet: &str) -> CliResult<bool> {
        let dir = self.dir(wallet)?;
        Ok(!dir.join("coldkey").exists() && dir.join("coldkeypub.txt").exists())
    }

    /// The coldkey's secret, asking for the password if it is encrypted.
    pub fn coldkey(&self, wallet: &str) -> CliResult<Keypair> {
        if self.is_watch_only(wallet)? {
            return Err(CliError::new(
                "watch_only",
                format!("wallet '{wallet}' is watch-only: it holds the coldkey's address, not its secret"),
                "restore the secret with `tensorchain wallet regen-coldkey --overwrite`",
            ));
        }
        let file = Self::read(&self.dir(wallet)?.join("coldkey"))?;
        let secret = match (&file.secret, &file.encrypted) {
            (Some(s), _) => parse_secret(s).ok_or_else(|| corrupt("bad secret"))?,
            (None, Some(enc)) => decrypt(
                enc,
                &password(&format!("Password for wallet '{wallet}': "), false)?,
            )?,
            (None, None) => return Err(corrupt("the coldkey file has no secret")),
        };
        let key = Keypair::from_secret(*secret);
        if key.account() != file.public {
            return Err(corrupt(
                "the coldkey's secret does not match its public key",
            ));
        }
        Ok(key)
    }

    /// Every wallet, sorted by name.
    pub fn list(&self) -> CliResult<Vec<WalletEntry>> {
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
                    let Ok(hk) = e.file_name().into_string() else {
                        continue;
                    };
                    if hk.starts_with('.') {
                        continue;
                    }
                    if let Ok(file) = Self::read(&e.path()) {
                        hot.push((hk, file.public));
                    }
                }
            }
            hot.sort();
            out.push(WalletEntry {
                name,
                coldkey: cold,
                hotkeys: hot,
            });
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
            .ok_or_else(|| corrupt("the hotkey file has no valid secret"))?;
        let key = Keypair::from_secret(*secret);
        if key.account() != file.public {
            return Err(corrupt("the hotkey's secret does not match its public key"));
        }
        Ok(key)
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
            *decrypt(file.encrypted.as_ref().unwrap(), "pw").unwrap(),
            key.secret_bytes()
        );
        assert_eq!(file.encrypted.as_ref().unwrap().kdf_params, KdfParams::NEW);
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

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_from_creation() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let w = Wallets::new(dir.path());
        w.create_coldkey("main", &Keypair::generate(), None, false)
            .unwrap();
        w.create_hotkey("main", "hk", &Keypair::generate(), false)
            .unwrap();
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("wallets/main/coldkey"), 0o600);
        assert_eq!(mode("wallets/main/hotkeys/hk"), 0o600);
        assert_eq!(mode("wallets/main"), 0o700);
        assert_eq!(
            w.list().unwrap()[0].hotkeys.len(),
            1,
            "no temporary file is listed"
        );
    }

    #[test]
    fn version_1_files_decrypt_and_hostile_kdf_params_are_refused() {
        let key = Keypair::generate();
        // A version 1 file: argon2's default parameters, none stored.
        let salt = [7u8; 16];
        let nonce = [9u8; 24];
        let k = derive_key("pw", &salt, KdfParams::v1()).unwrap();
        let ct = XChaCha20Poly1305::new(Key::from_slice(&k[..]))
            .encrypt(XNonce::from_slice(&nonce), key.secret_bytes().as_slice())
            .unwrap();
        let v1 = format!(
            r#"{{"kdf":"argon2id","salt":"{}","nonce":"{}","ciphertext":"{}"}}"#,
            hex::encode(salt),
            hex::encode(nonce),
            hex::encode(ct)
        );
        let enc: Encrypted = serde_json::from_str(&v1).unwrap();
        assert_eq!(*decrypt(&enc, "pw").unwrap(), key.secret_bytes());
        let hostile = Encrypted {
            kdf_params: KdfParams {
                m_cost_kib: u32::MAX,
                ..KdfParams::NEW
            },
            ..enc
        };
        assert_eq!(
            decrypt(&hostile, "pw").unwrap_err().code,
            "corrupt_key_file"
        );
    }

    #[test]
    fn watch_only_wallets_know_the_address_but_cannot_sign() {
        let dir = tempfile::tempdir().unwrap();
        let w = Wallets::new(dir.path());
        let key = Keypair::generate();
        w.create_coldkeypub("watch", &key.account(), false).unwrap();
        assert!(w.is_watch_only("watch").unwrap());
        assert_eq!(w.coldkey_public("watch").unwrap(), key.account());
        assert_eq!(w.coldkey("watch").unwrap_err().code, "watch_only");
        // Making a full wallet watch-only needs --overwrite.
        w.create_coldkey("full", &key, None, false).unwrap();
        assert_eq!(
            w.create_coldkeypub("full", &key.account(), false)
                .unwrap_err()
                .code,
            "key_exists"
        );
        assert!(!w.is_watch_only("full").unwrap());
    }
}
