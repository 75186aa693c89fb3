//! The CRL reader (`client_cert::crl`): any bytes from a file or a distribution point, read as
//! a file is (signature recorded, not required) and as a fetched body is (signature required,
//! against no configured CA), never panic and give a typed result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_handler::client_cert::crl::{Crl, CrlIssuers, SignatureRule};

fuzz_target!(|data: &[u8]| {
    let issuers = CrlIssuers::new(&[]);
    let _ = Crl::read(data, &issuers, SignatureRule::Recorded);
    let _ = Crl::read(data, &issuers, SignatureRule::Required);
});
