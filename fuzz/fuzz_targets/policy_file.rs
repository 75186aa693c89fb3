//! Policy file text -> rules: never panics, whatever the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::policy_file;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = policy_file::parse_policy_file(text);
    }
});
