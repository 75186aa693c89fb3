//! The PKCS#12 work count that runs before p12-keystore: any bytes never panic, and the work it
//! admits is within the limit it was given (the limit is kept small so that an input which
//! makes it decrypt a safe stays fast).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::outbound::pkcs12_work;

const LIMIT: u64 = 20_000;

fuzz_target!(|data: &[u8]| {
    for password in ["", "password"] {
        if let Ok(work) = pkcs12_work::check(data, password, LIMIT) {
            assert!(work.iterations <= LIMIT, "admitted past the limit: {work:?}");
        }
    }
});
