//! The structural read triage makes of a cold certificate (`client_cert::sketch`): never
//! panics, and reads every strict-DER certificate x509-parser parses, with the same serial,
//! issuer and subject bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::der;
use mtls_handler::client_cert::sketch::Sketch;

fuzz_target!(|data: &[u8]| {
    let sketch = Sketch::read(data);
    if let Some(sketch) = &sketch {
        let _ = sketch.common_names().count();
        let _ = sketch.alt_names().count();
    }
    if der::check_certificate(data).is_err() {
        return;
    }
    if let Ok((rest, cert)) = x509_parser::parse_x509_certificate(data)
        && rest.is_empty()
    {
        let sketch = sketch.expect("a certificate x509-parser parses has a sketch");
        assert_eq!(sketch.serial, cert.raw_serial());
        assert_eq!(sketch.issuer_element, cert.issuer().as_raw());
        assert_eq!(sketch.subject_element, cert.subject().as_raw());
    }
});
