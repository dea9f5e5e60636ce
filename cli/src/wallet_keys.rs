//! Keys with recovery phrases (issue 19): `wallet create`, `new-hotkey`, `regen-coldkey`,
//! `regen-hotkey`, `regen-coldkeypub`, and off-chain `sign` / `verify`.

use crate::error::{CliError, CliResult};
use crate::keystore::{mnemonic, password, Wallets};
use crate::mnemonic::{generate, keypair_from_suri};
use crate::output::print_json;
use crate::wallet::{bad_address, signer};
use crate::Global;
use serde_json::json;
use std::path::Path;
use tensorchain_primitives::{AccountId, Keypair, Signature};
use zeroize::Zeroizing;

const PHRASE_WARNING: &str = "write this phrase down and keep it offline: it is shown only this \
    once, it is the only way to recover the key, and anyone who has it controls the key";

/// The coldkey's password: none with `--no-password`, else asked twice (or from the environment).
fn new_password(no_password: bool) -> CliResult<Option<Zeroizing<String>>> {
    if no_password {
        Ok(None)
    } else {
        password("New coldkey password: ", true).map(Some)
    }
}

/// Prints a freshly generated phrase once: to stdout, with the warning on stderr (JSON carries
/// both in the caller's object).
fn show_phrase(label: &str, phrase: &str) {
    println!("  {label} mnemonic: {phrase}");
}

pub fn create(g: &Global, words: usize, no_password: bool, overwrite: bool) -> CliResult<()> {
    let wallets = Wallets::new(&g.home());
    wallets.check_new_wallet(&g.wallet, &g.hotkey, overwrite)?;
    let cold_phrase = generate(words)?;
    let hot_phrase = generate(words)?;
    let cold = keypair_from_suri(&cold_phrase)?;
    let hot = keypair_from_suri(&hot_phrase)?;
    let pw = new_password(no_password)?;
    let cold_path = wallets.create_coldkey(
        &g.wallet,
        &cold,
        pw.as_deref().map(|p| p.as_str()),
        overwrite,
    )?;
    let hot_path = wallets.create_hotkey(&g.wallet, &g.hotkey, &hot, overwrite)?;
    if g.json {
        print_json(&json!({
            "wallet": g.wallet, "coldkey": cold.account(), "hotkey": hot.account(),
            "hotkey_name": g.hotkey, "encrypted": pw.is_some(),
            "coldkey_path": cold_path, "hotkey_path": hot_path,
            "mnemonic": *cold_phrase, "hotkey_mnemonic": *hot_phrase, "warning": PHRASE_WARNING,
        }));
    } else {
        println!("wallet '{}' created", g.wallet);
        println!("  coldkey  {}  ({})", cold.account(), cold_path.display());
        println!("  hotkey   {}  ({})", hot.account(), hot_path.display());
        show_phrase("coldkey", &cold_phrase);
        show_phrase("hotkey", &hot_phrase);
        eprintln!("warning: {PHRASE_WARNING}");
        if pw.is_none() {
            eprintln!("warning: the coldkey is stored unencrypted");
        }
    }
    Ok(())
}

pub fn new_hotkey(g: &Global, words: usize, overwrite: bool) -> CliResult<()> {
    let wallets = Wallets::new(&g.home());
    wallets.coldkey_public(&g.wallet)?;
    let phrase = generate(words)?;
    let hot = keypair_from_suri(&phrase)?;
    let path = wallets.create_hotkey(&g.wallet, &g.hotkey, &hot, overwrite)?;
    if g.json {
        print_json(&json!({
            "wallet": g.wallet, "hotkey_name": g.hotkey, "hotkey": hot.account(), "path": path,
            "mnemonic": *phrase, "warning": PHRASE_WARNING,
        }));
    } else {
        println!(
            "hotkey '{}' of wallet '{}': {}",
            g.hotkey,
            g.wallet,
            hot.account()
        );
        show_phrase("hotkey", &phrase);
        eprintln!("warning: {PHRASE_WARNING}");
    }
    Ok(())
}

fn print_restored(g: &Global, kind: &str, address: &AccountId, path: &Path) {
    if g.json {
        print_json(&json!({
            "wallet": g.wallet, "kind": kind, "address": address, "path": path,
            "hotkey_name": (kind == "hotkey").then_some(&g.hotkey),
        }));
    } else {
        println!(
            "{kind} of wallet '{}' restored: {address}  ({})",
            g.wallet,
            path.display()
        );
    }
}

pub fn regen_coldkey(
    g: &Global,
    phrase: Option<String>,
    no_password: bool,
    overwrite: bool,
) -> CliResult<()> {
    let key = keypair_from_suri(&mnemonic(phrase)?)?;
    let pw = new_password(no_password)?;
    let path = Wallets::new(&g.home()).create_coldkey(
        &g.wallet,
        &key,
        pw.as_deref().map(|p| p.as_str()),
        overwrite,
    )?;
    print_restored(g, "coldkey", &key.account(), &path);
    Ok(())
}

pub fn regen_hotkey(g: &Global, phrase: Option<String>, overwrite: bool) -> CliResult<()> {
    let key = keypair_from_suri(&mnemonic(phrase)?)?;
    let path = Wallets::new(&g.home()).create_hotkey(&g.wallet, &g.hotkey, &key, overwrite)?;
    print_restored(g, "hotkey", &key.account(), &path);
    Ok(())
}

pub fn regen_coldkeypub(g: &Global, address: &str, overwrite: bool) -> CliResult<()> {
    let id: AccountId = address.parse().map_err(|e| bad_address(address, e))?;
    let path = Wallets::new(&g.home()).create_coldkeypub(&g.wallet, &id, overwrite)?;
    print_restored(g, "coldkeypub", &id, &path);
    Ok(())
}

/// The bytes an off-chain signature covers: polkadot.js's `<Bytes>…</Bytes>` wrapping (not
/// repeated if the message already has it). Transactions and votes sign 32-byte blake3 digests of
/// domain-tagged encodings, which can never start with `<Bytes>` and end with `</Bytes>` by
/// choice, so a signed message can never pass as either.
pub fn wrap_message(message: &[u8]) -> Vec<u8> {
    const OPEN: &[u8] = b"<Bytes>";
    const CLOSE: &[u8] = b"</Bytes>";
    if message.starts_with(OPEN)
        && message.ends_with(CLOSE)
        && message.len() >= OPEN.len() + CLOSE.len()
    {
        return message.to_vec();
    }
    [OPEN, message, CLOSE].concat()
}

/// The key `wallet sign` uses: the hotkey (-H, or the dev hotkey of --uri), or the coldkey.
fn message_key(g: &Global, coldkey: bool) -> CliResult<Keypair> {
    match (coldkey, &g.uri) {
        (true, _) => signer(g),
        (false, Some(name)) => Ok(tensorchain_genesis::dev_hotkey(name)),
        (false, None) => Wallets::new(&g.home()).hotkey(&g.wallet, &g.hotkey),
    }
}

pub fn sign(g: &Global, message: &str, coldkey: bool) -> CliResult<()> {
    let key = message_key(g, coldkey)?;
    let signature = key.sign(&wrap_message(message.as_bytes()));
    if g.json {
        print_json(&json!({
            "address": key.account(), "message": message, "signature": signature,
            "key": if coldkey { "coldkey" } else { "hotkey" },
        }));
    } else {
        println!("address    {}", key.account());
        println!("signature  {}", signature.to_hex());
    }
    Ok(())
}

pub fn verify(g: &Global, message: &str, signature: &str, address: &str) -> CliResult<()> {
    let id: AccountId = address.parse().map_err(|e| bad_address(address, e))?;
    let sig: Signature = serde_json::from_value(json!(signature)).map_err(|_| {
        CliError::new(
            "malformed_signature",
            format!("'{signature}' is not a signature"),
            "give the 0x-prefixed 128 hex digits printed by `wallet sign`",
        )
    })?;
    id.verify(&wrap_message(message.as_bytes()), &sig)
        .map_err(|e| {
            CliError::new(
                e.code(),
                format!("the signature is not {id}'s over this message: {e}"),
                "check the message (exact bytes), the address and the signature",
            )
        })?;
    if g.json {
        print_json(&json!({"valid": true, "address": id, "message": message}));
    } else {
        println!("valid: signed by {id}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_wrapped_once() {
        assert_eq!(wrap_message(b"hi"), b"<Bytes>hi</Bytes>");
        assert_eq!(wrap_message(b"<Bytes>hi</Bytes>"), b"<Bytes>hi</Bytes>");
        assert_eq!(wrap_message(b""), b"<Bytes></Bytes>");
        assert_eq!(wrap_message(b"<Bytes>"), b"<Bytes><Bytes></Bytes>");
    }
}
