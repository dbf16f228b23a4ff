//! Transfer-data validation and its storage form: `TransferData::parse` under a size
//! limit keeps the exact bytes of the value (surrounding JSON whitespace dropped); the at-rest cipher round-trips whatever was accepted and never
//! panics on a stored value it did not write.
#![no_main]

use baton_protocol::{TransferData, TransferDataError};
use baton_store::DataCipher;
use libfuzzer_sys::fuzz_target;

fn cipher() -> &'static DataCipher {
    static C: std::sync::OnceLock<DataCipher> = std::sync::OnceLock::new();
    C.get_or_init(|| DataCipher::single("fuzz", [7; 32]).unwrap())
}

fuzz_target!(|input: (u16, &str)| {
    let (max, input) = input;
    let max = max as usize;
    // JSON whitespace around the value is not part of it; every byte inside is kept.
    let text = input.trim_matches([' ', '\t', '\n', '\r']);
    match TransferData::parse(input, max) {
        Ok(data) => {
            assert!(text.len() <= max);
            assert_eq!(data.as_str(), text);
            assert_eq!(data.to_raw().get(), text);
            assert_eq!(data.sha256().len(), 64);
            let stored = cipher().encrypt_with_aad(text, b"leg");
            if text.len() >= 16 {
                assert!(!stored.contains(text), "ciphertext shows the plaintext");
            }
            assert_eq!(cipher().decrypt_with_aad(&stored, b"leg").unwrap(), text);
        }
        Err(TransferDataError::TooLarge { size, max: m }) => {
            assert_eq!((size, m), (text.len(), max));
            assert!(size > max);
        }
        Err(TransferDataError::Invalid(_)) => {
            assert!(serde_json::from_str::<serde_json::Value>(text).is_err());
        }
    }
    // Whatever is in the column, reading it answers and does not panic; with a key, a value
    // that is not sealed is never taken as plaintext.
    let read = cipher().decrypt_with_aad(text, b"leg");
    if !text.starts_with("v1:") {
        assert!(read.is_err(), "an unsealed value was read as plaintext");
    }
    let _ = cipher().decrypt_with_aad(&format!("v1:fuzz:{text}"), b"leg");
});
