//! The strict DER checker: never panics, never recurses past its bound; a certificate that
//! passes is DER throughout, so the general check passes it too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::der;

fuzz_target!(|data: &[u8]| {
    let general = der::check(data);
    if der::check_certificate(data).is_ok() {
        assert_eq!(general, Ok(()));
    }
});
