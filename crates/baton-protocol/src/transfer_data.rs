//! Transfer data: any JSON value, kept as the exact text the sender produced.

use serde_json::value::RawValue;
use sha2_free::sha256_hex;

/// JSON text that has been checked to be one valid JSON value no larger than a limit.
///
/// It is kept as text, never re-serialised, because the receiver must get exactly the
/// bytes that were sent (DESIGN.md, transfer-data rule 5).
#[derive(Clone, PartialEq, Eq)]
pub struct TransferData(String);

/// Why a candidate is not acceptable transfer data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferDataError {
    #[error("transfer data is {size} bytes, the limit is {max}")]
    TooLarge { size: usize, max: usize },
    #[error("transfer data is not valid JSON: {0}")]
    Invalid(String),
}

impl TransferData {
    /// Checks `text` is one JSON value of at most `max_bytes` UTF-8 bytes.
    ///
    /// Whitespace around the value is not part of it and is dropped (a frame cannot carry
    /// it anyway); every byte inside is kept as the sender wrote it.
    pub fn parse(text: &str, max_bytes: usize) -> Result<Self, TransferDataError> {
        let text = text.trim_matches([' ', '\t', '\n', '\r']);
        if text.len() > max_bytes {
            return Err(TransferDataError::TooLarge {
                size: text.len(),
                max: max_bytes,
            });
        }
        serde_json::from_str::<&RawValue>(text)
            .map_err(|e| TransferDataError::Invalid(e.to_string()))?;
        Ok(Self(text.to_owned()))
    }

    /// Wraps text that was validated before (for example when it was stored).
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lower-case hex SHA-256 of the bytes. Not for history: an unkeyed hash of short
    /// content can be searched by guessing; history uses [`Self::digest`].
    pub fn sha256(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// Lower-case hex HMAC-SHA256 of the bytes under `key` (the server's digest key): lets
    /// an auditor holding the key check that content matches history, while the history
    /// alone tells nothing about the content.
    pub fn digest(&self, key: &[u8; 32]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
        mac.update(self.0.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .fold(String::with_capacity(64), |mut out, b| {
                use std::fmt::Write;
                let _ = write!(out, "{b:02x}");
                out
            })
    }

    /// The data as a raw JSON value, for embedding verbatim in a frame.
    pub fn to_raw(&self) -> Box<RawValue> {
        RawValue::from_string(self.0.clone()).expect("validated at construction")
    }
}

/// Content is never printed: logs must not contain transfer data.
impl std::fmt::Debug for TransferData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransferData({} bytes)", self.0.len())
    }
}

mod sha2_free {
    use sha2::{Digest, Sha256};

    pub fn sha256_hex(bytes: &[u8]) -> String {
        let digest = Sha256::digest(bytes);
        let mut out = String::with_capacity(64);
        for b in digest {
            use std::fmt::Write;
            let _ = write!(out, "{b:02x}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_keyed() {
        let data = TransferData::parse(r#"{"a":1}"#, 100).unwrap();
        let (a, b) = (data.digest(&[1; 32]), data.digest(&[2; 32]));
        assert_ne!(a, b);
        assert_ne!(a, data.sha256());
        assert_eq!(a.len(), 64);
        // RFC 4231 test case 2 ("Jefe"), as a check of the construction.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let text = TransferData::from_trusted("what do ya want for nothing?".into());
        let mut short = hmac_with_short_key("Jefe", text.as_str());
        short.truncate(64);
        assert_eq!(
            short,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A 32-byte key zero-padded from "Jefe" is the same HMAC key (HMAC pads to 64).
        assert_eq!(text.digest(&key), short);
    }

    fn hmac_with_short_key(key: &str, text: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn keeps_exact_bytes() {
        let text = r#"{ "b":1.50, "a" : [1e2,"é"] }"#;
        let data = TransferData::parse(text, 1000).unwrap();
        assert_eq!(data.as_str(), text);
        assert_eq!(data.to_raw().get(), text);
    }

    #[test]
    fn rejects_bad_json_and_oversize() {
        assert!(matches!(
            TransferData::parse("{", 10),
            Err(TransferDataError::Invalid(_))
        ));
        assert!(matches!(
            TransferData::parse("", 10),
            Err(TransferDataError::Invalid(_))
        ));
        assert!(matches!(
            TransferData::parse("1 2", 10),
            Err(TransferDataError::Invalid(_))
        ));
        assert_eq!(
            TransferData::parse("\"12345\"", 5),
            Err(TransferDataError::TooLarge { size: 7, max: 5 })
        );
        assert!(TransferData::parse("null", 4).is_ok());
        assert_eq!(TransferData::parse(" [1] ", 10).unwrap().as_str(), "[1]");
    }

    #[test]
    fn debug_hides_content() {
        let data = TransferData::parse(r#"{"secret":"x"}"#, 100).unwrap();
        assert!(!format!("{data:?}").contains("secret"));
    }

    #[test]
    fn sha256_is_hex_of_bytes() {
        let data = TransferData::parse("{}", 100).unwrap();
        assert_eq!(
            data.sha256(),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
