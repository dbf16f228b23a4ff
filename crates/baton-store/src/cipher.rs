//! Encryption at rest of transfer-data content: AES-256-GCM with named keys.
//!
//! A stored value is `v1:<key id>:<nonce>:<ciphertext>` (nonce and ciphertext in unpadded
//! standard base64; the ciphertext ends with GCM's 16-byte tag). The key id says which key
//! wrote it, so keys can be rotated: new values are written with the *current* key, and a
//! value written with an older key stays readable while that key is still listed.
//!
//! The callers bind each value to its row (the store passes the leg id as associated data),
//! so a value copied into another row does not decrypt.
//!
//! Key text (file or environment): entries `<id>:<key>`, one per line or separated by
//! commas; `#` starts a comment line. A key is 32 bytes written as 64 hex digits or as
//! standard base64. The **last** entry is the current key: to rotate, append a new entry.
//!
//! Values that do not start with `v1:` are plaintext written before a key was configured
//! (a JSON value never starts with `v`), and are returned as they are.

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rand::RngCore;

const PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 12;

/// Why keys could not be loaded or a value could not be decrypted. Never holds key bytes or
/// data content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("data key {0}")]
    BadKey(String),
    #[error("cannot read the data key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error(
        "transfer data was encrypted with data key {0:?}, which is not configured (list it in the data key file)"
    )]
    UnknownKey(String),
    #[error("stored transfer data is encrypted but no data key is configured")]
    NoKey,
    #[error("stored transfer data is not a valid encrypted value")]
    Malformed,
    #[error("stored transfer data does not decrypt with data key {0:?}: wrong key or altered row")]
    Tampered(String),
    #[error(
        "stored transfer data is plaintext while encryption is on: refused (a row written outside Baton?)"
    )]
    Plaintext,
}

/// The data keys and which one encrypts new values.
#[derive(Clone)]
pub struct DataCipher {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
    /// Ids in the order they were listed (for logs).
    order: Vec<String>,
}

/// Keys never print.
impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataCipher")
            .field("current", &self.current)
            .field("keys", &self.order)
            .finish()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()?
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .ok()?
    };
    bytes.try_into().ok()
}

impl DataCipher {
    /// One key, which is current. For tests and embedding.
    pub fn single(id: &str, key: [u8; 32]) -> Result<Self, CipherError> {
        if !valid_id(id) {
            return Err(CipherError::BadKey(format!(
                "id {id:?} must be 1 to 32 of A-Z a-z 0-9 - _ ."
            )));
        }
        let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
        Ok(Self {
            current: id.to_owned(),
            keys: HashMap::from([(id.to_owned(), cipher)]),
            order: vec![id.to_owned()],
        })
    }

    /// Parses key text (see the module docs). The last entry is current.
    pub fn parse(text: &str) -> Result<Self, CipherError> {
        let mut keys = HashMap::new();
        let mut order = Vec::new();
        for (n, entry) in text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| CipherError::BadKey(format!("entry {} is not <id>:<key>", n + 1)))?;
            let id = id.trim();
            if !valid_id(id) {
                return Err(CipherError::BadKey(format!(
                    "entry {}: id {id:?} must be 1 to 32 of A-Z a-z 0-9 - _ .",
                    n + 1
                )));
            }
            let key = decode_key(key).ok_or_else(|| {
                CipherError::BadKey(format!("{id:?} is not 32 bytes as 64 hex digits or base64"))
            })?;
            if keys
                .insert(
                    id.to_owned(),
                    Aes256Gcm::new_from_slice(&key).expect("32 bytes"),
                )
                .is_some()
            {
                return Err(CipherError::BadKey(format!("id {id:?} is listed twice")));
            }
            order.push(id.to_owned());
        }
        let current = order
            .last()
            .cloned()
            .ok_or_else(|| CipherError::BadKey("text holds no key".into()))?;
        Ok(Self {
            current,
            keys,
            order,
        })
    }

    /// Reads key text from a file. Warns when others than the owner may read it.
    pub fn from_file(path: &Path) -> Result<Self, CipherError> {
        let text = std::fs::read_to_string(path).map_err(|e| CipherError::KeyFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    path = %path.display(),
                    "the data key file can be read by other users: chmod 600 it"
                );
            }
        }
        Self::parse(&text)
    }

    /// The id of the key that encrypts new values.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Every configured key id, in the order listed.
    pub fn key_ids(&self) -> &[String] {
        &self.order
    }

    /// Encrypts `plaintext` with the current key.
    pub fn encrypt(&self, plaintext: &str) -> String {
        self.encrypt_with_aad(plaintext, b"")
    }

    /// Decrypts a value from [`encrypt`](Self::encrypt); plaintext (no `v1:`) is refused.
    pub fn decrypt(&self, stored: &str) -> Result<String, CipherError> {
        self.decrypt_with_aad(stored, b"")
    }

    /// Encrypts with the current key, binding the value to `aad` (e.g. the row's id).
    pub fn encrypt_with_aad(&self, plaintext: &str, aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = &self.keys[&self.current];
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer does not fail");
        format!(
            "{PREFIX}{}:{}:{}",
            self.current,
            STANDARD_NO_PAD.encode(nonce),
            STANDARD_NO_PAD.encode(sealed)
        )
    }

    /// Decrypts a value bound to `aad`. A value without the `v1:` prefix is refused: with
    /// encryption on, plaintext in the store was not written by Baton (or predates the key,
    /// and [`is_sealed`] lets the store's one-time upgrade find those rows).
    pub fn decrypt_with_aad(&self, stored: &str, aad: &[u8]) -> Result<String, CipherError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Err(CipherError::Plaintext);
        };
        let mut parts = rest.splitn(3, ':');
        let (Some(id), Some(nonce), Some(sealed)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CipherError::Malformed);
        };
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| CipherError::UnknownKey(id.to_owned()))?;
        let nonce = STANDARD_NO_PAD
            .decode(nonce)
            .map_err(|_| CipherError::Malformed)?;
        if nonce.len() != NONCE_BYTES {
            return Err(CipherError::Malformed);
        }
        let sealed = STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| CipherError::Malformed)?;
        let plain = cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &sealed, aad })
            .map_err(|_| CipherError::Tampered(id.to_owned()))?;
        String::from_utf8(plain).map_err(|_| CipherError::Malformed)
    }

    /// Whether `stored` was written by the current key (so rotation can skip it).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(id, _)| id == self.current)
    }
}

/// Whether a stored value is encrypted (has the `v1:` prefix).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Reads a stored value when the store may or may not have a cipher.
pub fn open_stored(
    cipher: Option<&DataCipher>,
    stored: String,
    aad: &[u8],
) -> Result<String, CipherError> {
    match cipher {
        Some(c) => c.decrypt_with_aad(&stored, aad),
        None if stored.starts_with(PREFIX) => Err(CipherError::NoKey),
        None => Ok(stored),
    }
}

/// Writes a value for storage: encrypted when there is a cipher.
pub fn seal(cipher: Option<&DataCipher>, plaintext: &str, aad: &[u8]) -> String {
    match cipher {
        Some(c) => c.encrypt_with_aad(plaintext, aad),
        None => plaintext.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "0101010101010101010101010101010101010101010101010101010101010101";

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let c = DataCipher::parse(&format!("k1:{K1}")).unwrap();
        let text = r#"{"caseId": "C-1042", "é": 1.50}"#;
        let stored = c.encrypt(text);
        assert!(stored.starts_with("v1:k1:"), "{stored}");
        assert!(!stored.contains("C-1042"));
        assert_ne!(stored, c.encrypt(text), "a fresh nonce each time");
        assert_eq!(c.decrypt(&stored).unwrap(), text);
        // With a key configured, a value that is not sealed is never taken as plaintext.
        assert_eq!(c.decrypt("{\"plain\":1}"), Err(CipherError::Plaintext));
    }

    #[test]
    fn rotation_writes_with_the_last_key_and_reads_with_any_listed() {
        let old = DataCipher::parse(&format!("k1:{K1}")).unwrap();
        let k2 = STANDARD.encode([7u8; 32]);
        let both = DataCipher::parse(&format!("# keys\nk1:{K1}\nk2:{k2}\n")).unwrap();
        assert_eq!(both.current_key_id(), "k2");
        let written_before = old.encrypt("[1]");
        assert_eq!(both.decrypt(&written_before).unwrap(), "[1]");
        assert!(!both.is_current(&written_before));
        let written_after = both.encrypt("[2]");
        assert!(both.is_current(&written_after));
        assert_eq!(
            old.decrypt(&written_after),
            Err(CipherError::UnknownKey("k2".into()))
        );
        let only_new = DataCipher::parse(&format!("k2:{k2}")).unwrap();
        assert_eq!(
            only_new.decrypt(&written_before),
            Err(CipherError::UnknownKey("k1".into()))
        );
        let commas = DataCipher::parse(&format!("k1:{K1}, k2:{k2}")).unwrap();
        assert_eq!(commas.key_ids(), ["k1", "k2"]);
    }

    #[test]
    fn associated_data_and_tampering_are_checked() {
        let c = DataCipher::parse(&format!("k1:{K1}")).unwrap();
        let stored = c.encrypt_with_aad("\"x\"", b"leg-1");
        assert_eq!(c.decrypt_with_aad(&stored, b"leg-1").unwrap(), "\"x\"");
        assert_eq!(
            c.decrypt_with_aad(&stored, b"leg-2"),
            Err(CipherError::Tampered("k1".into()))
        );
        let mut bytes = stored.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        assert!(c.decrypt_with_aad(&altered, b"leg-1").is_err());
        assert_eq!(c.decrypt("v1:k1:short"), Err(CipherError::Malformed));
        assert_eq!(
            open_stored(None, "v1:k1:a:b".into(), b""),
            Err(CipherError::NoKey)
        );
    }

    #[test]
    fn bad_key_text_is_refused_without_echoing_the_key() {
        for bad in [
            "",
            "# only a comment",
            "nokey",
            "k1:abcd",
            "bad id:0101",
            &format!("k1:{K1}\nk1:{K1}"),
        ] {
            let err = DataCipher::parse(bad).unwrap_err().to_string();
            assert!(!err.contains(K1), "{err}");
        }
        let c = DataCipher::parse(&format!("k1:{K1}")).unwrap();
        assert!(!format!("{c:?}").contains(K1));
    }
}
