//! Payload-mode envelope -> request: never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::host::envelope;

fuzz_target!(|data: &[u8]| {
    let _ = envelope::to_request(data, "/api/cert-info");
});
