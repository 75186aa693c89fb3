//! Test PKI generated with rcgen at test time: a root CA, intermediates, leaves with chosen
//! names, EKUs and validity, and CRLs. No key is ever written to the repository.
//!
//! Times are offsets in seconds from [`BASE`] (2025-01-01T00:00:00Z), the tests' `now`.

use std::ops::{Add, Sub};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use rustls_pki_types::UnixTime;

pub use super::test_crl::tlv;
use super::test_crl::{CrlSpec, children, content};

/// 2025-01-01T00:00:00Z, unix seconds: the tests' "now".
pub const BASE: u64 = 1_735_689_600;
pub const DAY: i64 = 86_400;

/// `BASE + offset` as the `UnixTime` handed to `authorize`.
pub fn at(offset: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(BASE.saturating_add_signed(offset)))
}

fn shift<T: Add<Duration, Output = T> + Sub<Duration, Output = T>>(base: T, offset: i64) -> T {
    let magnitude = Duration::from_secs(offset.unsigned_abs());
    if offset >= 0 {
        base + magnitude
    } else {
        base - magnitude
    }
}

/// What a leaf certificate should contain.
#[derive(Clone)]
pub struct Leaf {
    pub subject: Vec<(DnType, String)>,
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    pub emails: Vec<String>,
    pub eku: Vec<ExtendedKeyUsagePurpose>,
    pub not_before: i64,
    pub not_after: i64,
    pub serial: u64,
    pub custom_extensions: Vec<CustomExtension>,
    /// A last change to the rcgen parameters (key usages, name constraints, odd serials ...).
    pub edit: Option<fn(&mut CertificateParams)>,
    /// cRLDistributionPoints URIs (one point each).
    pub crl_points: Vec<String>,
}

impl Leaf {
    /// A client leaf with `CN=<cn>`, clientAuth EKU, valid from a day ago for 30 days.
    pub fn cn(cn: &str) -> Self {
        Self {
            subject: vec![(DnType::CommonName, cn.to_owned())],
            dns_names: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
            eku: vec![ExtendedKeyUsagePurpose::ClientAuth],
            not_before: -DAY,
            not_after: 30 * DAY,
            serial: 1000,
            custom_extensions: Vec::new(),
            edit: None,
            crl_points: Vec::new(),
        }
    }

    /// Adds a cRLDistributionPoints point with this URI.
    pub fn crl_point(mut self, uri: &str) -> Self {
        self.crl_points.push(uri.to_owned());
        self
    }

    /// This leaf with `edit` applied to its rcgen parameters last.
    pub fn edited(mut self, edit: fn(&mut CertificateParams)) -> Self {
        self.edit = Some(edit);
        self
    }

    /// Adds an extension of `oid` with an empty SEQUENCE as its value, marked critical.
    pub fn critical_extension(mut self, oid: &[u64]) -> Self {
        let mut extension = CustomExtension::from_oid_content(oid, vec![0x30, 0x00]);
        extension.set_criticality(true);
        self.custom_extensions.push(extension);
        self
    }

    pub fn attr(mut self, ty: DnType, value: &str) -> Self {
        self.subject.push((ty, value.to_owned()));
        self
    }

    pub fn valid(mut self, not_before: i64, not_after: i64) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    pub fn serial(mut self, serial: u64) -> Self {
        self.serial = serial;
        self
    }

    pub fn eku(mut self, eku: Vec<ExtendedKeyUsagePurpose>) -> Self {
        self.eku = eku;
        self
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (ty, value) in &self.subject {
            params.distinguished_name.push(ty.clone(), value.as_str());
        }
        let ia5 = |v: &String| v.clone().try_into().expect("test names are ASCII");
        params.subject_alt_names = (self.dns_names.iter().map(|v| SanType::DnsName(ia5(v))))
            .chain(self.uris.iter().map(|v| SanType::URI(ia5(v))))
            .chain(self.emails.iter().map(|v| SanType::Rfc822Name(ia5(v))))
            .collect();
        params.extended_key_usages = self.eku.clone();
        params.not_before = shift(rcgen::date_time_ymd(2025, 1, 1), self.not_before);
        params.not_after = shift(rcgen::date_time_ymd(2025, 1, 1), self.not_after);
        params.serial_number = Some(SerialNumber::from(self.serial));
        params.custom_extensions = self.custom_extensions.clone();
        params.crl_distribution_points = self
            .crl_points
            .iter()
            .map(|uri| rcgen::CrlDistributionPoint {
                uris: vec![uri.clone()],
            })
            .collect();
        if let Some(edit) = self.edit {
            edit(&mut params);
        }
        params
    }

    /// This leaf, self-signed.
    pub fn self_signed(&self) -> Vec<u8> {
        self.self_signed_with(&KeyPair::generate().expect("key generation"))
    }

    /// This leaf, self-signed with `key` (e.g. re-minted by whoever holds a pinned key).
    pub fn self_signed_with(&self, key: &KeyPair) -> Vec<u8> {
        let cert = self.params().self_signed(key).expect("self-signed leaf");
        cert.der().to_vec()
    }
}

/// A certificate authority: its parameters, key and certificate.
pub struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pub der: Vec<u8>,
}

impl Ca {
    /// A self-signed root valid from a year before `BASE` for ten years.
    pub fn root(cn: &str) -> Self {
        let params = ca_params(cn, 1);
        let key = KeyPair::generate().expect("key generation");
        let der = params.self_signed(&key).expect("root").der().to_vec();
        Self { params, key, der }
    }

    /// A self-signed root like [`Ca::root`] that expires at `not_after` (offset).
    pub fn root_until(cn: &str, not_after: i64) -> Self {
        let mut params = ca_params(cn, 1);
        params.not_after = shift(rcgen::date_time_ymd(2025, 1, 1), not_after);
        Self::self_signed(params)
    }

    /// A self-signed root like [`Ca::root`] valid from `not_before` to `not_after` (offsets).
    pub fn root_valid(cn: &str, not_before: i64, not_after: i64) -> Self {
        let mut params = ca_params(cn, 1);
        params.not_before = shift(rcgen::date_time_ymd(2025, 1, 1), not_before);
        params.not_after = shift(rcgen::date_time_ymd(2025, 1, 1), not_after);
        Self::self_signed(params)
    }

    /// A self-signed root like [`Ca::root`] with dNSName constraints.
    pub fn root_with_dns_constraints(cn: &str, permitted: &[&str], excluded: &[&str]) -> Self {
        let mut params = ca_params(cn, 1);
        params.name_constraints = Some(dns_constraints(permitted, excluded));
        Self::self_signed(params)
    }

    /// An intermediate CA issued by this CA, with dNSName constraints.
    pub fn intermediate_with_dns_constraints(
        &self,
        cn: &str,
        serial: u64,
        permitted: &[&str],
        excluded: &[&str],
    ) -> Self {
        let mut params = ca_params(cn, serial);
        params.name_constraints = Some(dns_constraints(permitted, excluded));
        self.intermediate_with(params)
    }

    /// A self-signed root like [`Ca::root`] with `edit` applied to its rcgen parameters.
    pub fn root_edited(cn: &str, edit: fn(&mut CertificateParams)) -> Self {
        let mut params = ca_params(cn, 1);
        edit(&mut params);
        Self::self_signed(params)
    }

    /// An intermediate like [`Ca::intermediate`] with `edit` applied to its rcgen parameters.
    pub fn intermediate_edited(
        &self,
        cn: &str,
        serial: u64,
        edit: fn(&mut CertificateParams),
    ) -> Self {
        let mut params = ca_params(cn, serial);
        edit(&mut params);
        self.intermediate_with(params)
    }

    /// A self-signed CA certificate (cA=TRUE) whose KeyUsage extension lists only `usages`.
    pub fn root_with_key_usages(cn: &str, usages: Vec<KeyUsagePurpose>) -> Self {
        let mut params = ca_params(cn, 1);
        params.key_usages = usages;
        Self::self_signed(params)
    }

    /// This root re-issued with the same key and name, `edit` applied to a copy of its
    /// parameters (a root renewed with its key, e.g. with new validity or name constraints).
    pub fn reissued(&self, edit: fn(&mut CertificateParams)) -> Self {
        let mut params = self.params.clone();
        edit(&mut params);
        let key = KeyPair::from_pem(&self.key.serialize_pem()).expect("key round-trips");
        let der = params
            .self_signed(&key)
            .expect("reissued root")
            .der()
            .to_vec();
        Self { params, key, der }
    }

    /// This CA's certificate with the same key and name issued by `issuer` instead, `edit`
    /// applied to a copy of its parameters (a cross-certificate).
    pub fn cross_signed_by(&self, issuer: &Ca, edit: fn(&mut CertificateParams)) -> Self {
        let mut params = self.params.clone();
        edit(&mut params);
        let key = KeyPair::from_pem(&self.key.serialize_pem()).expect("key round-trips");
        let der = params
            .signed_by(&key, &issuer.issuer())
            .expect("cross-certificate")
            .der()
            .to_vec();
        Self { params, key, der }
    }

    /// This CA's certificate with its TBSCertificate re-encoded by `edit` (see [`reencode`];
    /// the path `[]` is the TBSCertificate) and signed again by `issuer`: what rcgen will not
    /// write, e.g. a serial that is not minimal DER.
    pub fn reencoded_by(&self, issuer: &Ca, edit: &Edit<'_>) -> Self {
        use rcgen::SigningKey;
        let outer = children(content(&self.der));
        let tbs = reencode(outer[0], edit);
        let mut signature = vec![0x00];
        signature.extend(issuer.key.sign(&tbs).expect("signing"));
        let der = tlv(
            0x30,
            &[tbs, outer[1].to_vec(), tlv(0x03, &signature)].concat(),
        );
        let key = KeyPair::from_pem(&self.key.serialize_pem()).expect("key round-trips");
        Self {
            params: self.params.clone(),
            key,
            der,
        }
    }

    fn self_signed(params: CertificateParams) -> Self {
        let key = KeyPair::generate().expect("key generation");
        let der = params.self_signed(&key).expect("root").der().to_vec();
        Self { params, key, der }
    }

    /// An intermediate CA issued by this CA.
    pub fn intermediate(&self, cn: &str, serial: u64) -> Self {
        self.intermediate_with(ca_params(cn, serial))
    }

    /// An intermediate CA issued by this CA that expires at `not_after` (offset).
    pub fn intermediate_until(&self, cn: &str, serial: u64, not_after: i64) -> Self {
        let mut params = ca_params(cn, serial);
        params.not_after = shift(rcgen::date_time_ymd(2025, 1, 1), not_after);
        self.intermediate_with(params)
    }

    /// An intermediate CA issued by this CA whose KeyUsage extension lists only `usages`.
    pub fn intermediate_with_key_usages(
        &self,
        cn: &str,
        serial: u64,
        usages: Vec<KeyUsagePurpose>,
    ) -> Self {
        let mut params = ca_params(cn, serial);
        params.key_usages = usages;
        self.intermediate_with(params)
    }

    fn intermediate_with(&self, params: CertificateParams) -> Self {
        let key = KeyPair::generate().expect("key generation");
        let der = params
            .signed_by(&key, &self.issuer())
            .expect("intermediate")
            .der()
            .to_vec();
        Self { params, key, der }
    }

    /// A leaf issued by this CA.
    pub fn issue(&self, leaf: &Leaf) -> Vec<u8> {
        self.issue_with(leaf, &KeyPair::generate().expect("key generation"))
    }

    /// A leaf for `key` issued by this CA.
    pub fn issue_with(&self, leaf: &Leaf, key: &KeyPair) -> Vec<u8> {
        let cert = leaf.params().signed_by(key, &self.issuer()).expect("leaf");
        cert.der().to_vec()
    }

    /// A DER CRL revoking `serials`, valid from `this_update` to `next_update` (offsets).
    pub fn crl(&self, serials: &[u64], this_update: i64, next_update: i64) -> Vec<u8> {
        self.crl_numbered(1, serials, this_update, next_update)
    }

    /// Like [`Ca::crl`], with CRL number `number`.
    pub fn crl_numbered(
        &self,
        number: u64,
        serials: &[u64],
        this_update: i64,
        next_update: i64,
    ) -> Vec<u8> {
        let revoked_at = shift(rcgen::date_time_ymd(2025, 1, 1), this_update);
        let params = CertificateRevocationListParams {
            this_update: revoked_at,
            next_update: shift(rcgen::date_time_ymd(2025, 1, 1), next_update),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from(*serial),
                    revocation_time: revoked_at,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer())
            .expect("crl")
            .der()
            .to_vec()
    }

    /// Like [`Ca::crl`], signed even when this CA's KeyUsage lacks cRLSign (rcgen refuses).
    pub fn crl_ignoring_key_usage(
        &self,
        serials: &[u64],
        this_update: i64,
        next_update: i64,
    ) -> Vec<u8> {
        let mut params = self.params.clone();
        params.key_usages.push(KeyUsagePurpose::CrlSign);
        let crl_signer = Self {
            params,
            key: KeyPair::from_pem(&self.key.serialize_pem()).expect("key round-trips"),
            der: self.der.clone(),
        };
        crl_signer.crl(serials, this_update, next_update)
    }

    /// `spec` written by hand and signed with this CA's key (what rcgen cannot write).
    pub fn crl_from(&self, spec: &CrlSpec) -> Vec<u8> {
        use rcgen::SigningKey;
        spec.signed(&self.der, &|message| {
            self.key.sign(message).expect("signing")
        })
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn dns_constraints(permitted: &[&str], excluded: &[&str]) -> rcgen::NameConstraints {
    let subtrees = |names: &[&str]| {
        names
            .iter()
            .map(|name| rcgen::GeneralSubtree::DnsName((*name).to_owned()))
            .collect()
    };
    rcgen::NameConstraints {
        permitted_subtrees: subtrees(permitted),
        excluded_subtrees: subtrees(excluded),
    }
}

fn ca_params(cn: &str, serial: u64) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = shift(rcgen::date_time_ymd(2025, 1, 1), -365 * DAY);
    params.not_after = shift(rcgen::date_time_ymd(2025, 1, 1), 3650 * DAY);
    params.serial_number = Some(SerialNumber::from(serial));
    params
}

/// Rewrites a certificate so its subject's first two RDNs become one multi-valued RDN (still DER).
/// The signature no longer verifies; parsing must refuse the certificate before that matters.
pub fn merge_first_two_subject_rdns(cert: &[u8]) -> Vec<u8> {
    let outer = children(content(cert));
    let mut tbs = children(content(outer[0]));
    let subject_index = 5; // [0] version, serial, signature, issuer, validity, subject
    let rdns = children(content(tbs[subject_index]));
    // DER orders a SET OF by encoding.
    let mut members = [content(rdns[0]), content(rdns[1])];
    members.sort();
    let merged = members.concat();
    let mut subject_body = tlv(0x31, &merged);
    for rdn in &rdns[2..] {
        subject_body.extend_from_slice(rdn);
    }
    let subject = tlv(0x30, &subject_body);
    tbs[subject_index] = &subject;
    let tbs = tlv(0x30, &tbs.concat());
    let mut body = tbs;
    for part in &outer[1..] {
        body.extend_from_slice(part);
    }
    tlv(0x30, &body)
}

/// An edit for [`reencode`]: (path, tag, re-encoded content) -> a replacement encoding.
pub type Edit<'a> = dyn Fn(&[usize], u8, &[u8]) -> Option<Vec<u8>> + 'a;

/// Re-encodes `der` element by element (descending into constructed ones), letting `edit`
/// replace any element's encoding: it gets the element's path (child indexes from the root),
/// its tag and its re-encoded content, and returns `None` to keep the DER encoding.
pub fn reencode(der: &[u8], edit: &Edit<'_>) -> Vec<u8> {
    fn element(der: &[u8], path: &mut Vec<usize>, edit: &Edit<'_>) -> Vec<u8> {
        let tag = der[0];
        let body = if tag & 0x20 != 0 {
            let mut body = Vec::new();
            for (index, child) in children(content(der)).into_iter().enumerate() {
                path.push(index);
                body.extend(element(child, path, edit));
                path.pop();
            }
            body
        } else {
            content(der).to_vec()
        };
        edit(path, tag, &body).unwrap_or_else(|| tlv(tag, &body))
    }
    element(der, &mut Vec::new(), edit)
}

/// A TLV whose length is written in the long form with `octets` length octets (BER, not DER).
pub fn tlv_long_length(tag: u8, body: &[u8], octets: usize) -> Vec<u8> {
    let mut out = vec![tag, 0x80 | u8::try_from(octets).expect("few octets")];
    out.extend_from_slice(&body.len().to_be_bytes()[8 - octets..]);
    out.extend_from_slice(body);
    out
}

/// The CAs a CRL may be signed by: `cas`, as startup reads them.
pub fn issuers(cas: &[&Ca]) -> crate::client_cert::crl::CrlIssuers {
    let ders: Vec<rustls_pki_types::CertificateDer<'static>> = cas
        .iter()
        .map(|ca| rustls_pki_types::CertificateDer::from(ca.der.clone()))
        .collect();
    crate::client_cert::crl::CrlIssuers::new(&ders)
}

/// A hand-written CRL numbered `number`, issued a day before [`BASE`], next update a week after.
pub fn crl_spec(number: u64) -> CrlSpec {
    let base = i64::try_from(BASE).expect("base fits");
    CrlSpec::new(number, base - DAY, base + 7 * DAY)
}

/// `BASE + offset`, unix seconds (for [`CrlSpec::valid`]).
pub fn unix(offset: i64) -> i64 {
    i64::try_from(BASE).expect("base fits") + offset
}
