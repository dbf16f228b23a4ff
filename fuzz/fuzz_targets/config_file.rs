//! `baton.toml`: any text is either a valid configuration or an error naming the place;
//! parsing never panics.
#![no_main]

use baton_server::ConfigFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = ConfigFile::parse(text, "fuzz.toml") {
        assert!(e.to_string().contains("fuzz.toml"));
    }
});
