//! Header value -> DER in every format: never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::header::{self, HeaderFormat};

const FORMATS: [HeaderFormat; 5] = HeaderFormat::ALL;

fuzz_target!(|data: &[u8]| {
    let Some((selector, value)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(*selector) % FORMATS.len()];
    let _ = header::decode(&[value], format, 16 * 1024);
});
