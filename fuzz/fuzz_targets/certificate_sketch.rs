//! The structural read triage makes of a cold certificate (`client_cert::sketch`): never
//! panics, and reads every certificate webpki reads, with the same serial, issuer and subject
//! bytes (the issuer is what triage compares with the configured CAs' subjects, as webpki
//! does, so "unknown issuer" means the same in both).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::sketch::Sketch;
use rustls_pki_types::CertificateDer;

fuzz_target!(|data: &[u8]| {
    let sketch = Sketch::read(data);
    if let Some(sketch) = &sketch {
        let _ = sketch.common_names().count();
        let _ = sketch.alt_names().count();
    }
    let der = CertificateDer::from(data);
    if let Ok(cert) = webpki::EndEntityCert::try_from(&der) {
        let sketch = sketch.expect("a certificate webpki reads has a sketch");
        assert_eq!(sketch.serial, cert.serial());
        assert_eq!(sketch.issuer, cert.issuer());
        assert_eq!(sketch.subject, cert.subject());
    }
});
