//! DER -> ClientCert: never panics; what parses has consistent thumbprints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::ClientCert;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = ClientCert::parse(data.to_vec()) {
        assert_eq!(cert.sha1_thumbprint.len(), 40);
        assert_eq!(cert.sha256_thumbprint.len(), 64);
    }
});
