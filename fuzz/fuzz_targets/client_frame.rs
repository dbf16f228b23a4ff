//! Any text an agent socket may send: `ClientFrame::parse`, then `Method::parse` of the op
//! it names and of every other method with the same args. Neither may panic, and what
//! parses must keep its shape.
#![no_main]

use baton_protocol::method::METHOD_NAMES;
use baton_protocol::{ClientFrame, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ClientFrame::parse(text) {
        Ok(ClientFrame::Request { op, args, .. }) => {
            if let Ok(method) = Method::parse(&op, &args) {
                assert_eq!(method.name(), op);
            }
            for name in METHOD_NAMES {
                if let Ok(method) = Method::parse(name, &args) {
                    assert_eq!(method.name(), *name);
                }
            }
        }
        Ok(ClientFrame::Reply { value: Some(v), .. }) => {
            // A reply's value is raw JSON that the server may forward as transfer data.
            assert!(serde_json::from_str::<&serde_json::value::RawValue>(v.get()).is_ok());
        }
        Ok(_) => {}
        Err(e) => {
            let _ = e.to_api_error();
        }
    }
});
