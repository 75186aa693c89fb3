//! CRLs written by hand for tests and signed with a test CA's key: what rcgen cannot write
//! (delta CRLs, freshestCRL, an issuingDistributionPoint of our choosing, reason codes, a
//! serial that is not minimal DER); and the small DER helpers the test PKI shares.
//!
//! Self-contained (the `time` crate only): `tests/api` includes it with `#[path]` too.
#![allow(dead_code)]

/// reasonCode certificateHold and removeFromCRL.
pub const CERTIFICATE_HOLD: u8 = 6;
pub const REMOVE_FROM_CRL: u8 = 8;

/// A CRL to write: number, dates (unix seconds), entries and extensions.
#[derive(Clone)]
pub struct CrlSpec {
    number: u64,
    this_update: i64,
    next_update: i64,
    entries: Vec<(Vec<u8>, Option<u8>)>,
    delta_base: Option<u64>,
    freshest: Vec<String>,
    partition: Vec<String>,
    /// Extensions added as they are (whole encodings).
    more: Vec<Vec<u8>>,
    /// The cRLNumber extension: `Some(critical)`, or `None` to leave it out.
    number_critical: Option<bool>,
}

impl CrlSpec {
    /// CRL number `number`, from `this_update` to `next_update` (unix seconds).
    pub fn new(number: u64, this_update: i64, next_update: i64) -> Self {
        Self {
            number,
            this_update,
            next_update,
            entries: Vec::new(),
            delta_base: None,
            freshest: Vec::new(),
            partition: Vec::new(),
            more: Vec::new(),
            number_critical: Some(false),
        }
    }

    /// Without a cRLNumber extension.
    pub fn without_number(mut self) -> Self {
        self.number_critical = None;
        self
    }

    /// With the cRLNumber extension marked critical.
    pub fn with_critical_number(mut self) -> Self {
        self.number_critical = Some(true);
        self
    }

    pub fn valid(mut self, this_update: i64, next_update: i64) -> Self {
        self.this_update = this_update;
        self.next_update = next_update;
        self
    }

    pub fn revoke(self, serial: u64) -> Self {
        self.revoke_raw(&integer(serial), None)
    }

    pub fn revoke_as(self, serial: u64, reason: u8) -> Self {
        self.revoke_raw(&integer(serial), Some(reason))
    }

    /// An entry whose serial INTEGER has exactly `content`.
    pub fn revoke_raw(mut self, content: &[u8], reason: Option<u8>) -> Self {
        self.entries.push((content.to_vec(), reason));
        self
    }

    /// A delta CRL on top of base CRL number `base` (deltaCRLIndicator).
    pub fn delta_of(mut self, base: u64) -> Self {
        self.delta_base = Some(base);
        self
    }

    /// Announces delta CRLs at `uri` (freshestCRL).
    pub fn announcing_deltas(mut self, uri: &str) -> Self {
        self.freshest.push(uri.to_owned());
        self
    }

    /// A partition: an issuingDistributionPoint whose fullName is `uri`.
    pub fn partition(mut self, uri: &str) -> Self {
        self.partition.push(uri.to_owned());
        self
    }

    /// Adds an extension of `oid` (content) with `value`.
    pub fn extension(mut self, oid: &[u8], critical: bool, value: &[u8]) -> Self {
        self.more.push(extension(oid, critical, value));
        self
    }

    /// This CRL (DER), issued by the CA of certificate `ca_der` and signed by `sign` (its key),
    /// with the algorithm the CA's own certificate is signed with (the test CAs share one).
    pub fn signed(&self, ca_der: &[u8], sign: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let outer = children(content(ca_der));
        let algorithm = outer[1].to_vec();
        let subject = children(content(outer[0]))[5];
        let mut tbs = tlv(0x02, &[0x01]);
        tbs.extend(&algorithm);
        tbs.extend(subject);
        tbs.extend(utc_time(self.this_update));
        tbs.extend(utc_time(self.next_update));
        if !self.entries.is_empty() {
            let entries: Vec<u8> = self
                .entries
                .iter()
                .flat_map(|(serial, reason)| entry(serial, *reason, self.this_update))
                .collect();
            tbs.extend(tlv(0x30, &entries));
        }
        tbs.extend(tlv(0xa0, &tlv(0x30, &self.extensions())));
        let tbs = tlv(0x30, &tbs);
        let mut signature = vec![0x00];
        signature.extend(sign(&tbs));
        tlv(0x30, &[tbs, algorithm, tlv(0x03, &signature)].concat())
    }

    fn extensions(&self) -> Vec<u8> {
        let number = tlv(0x02, &integer(self.number));
        let mut extensions = match self.number_critical {
            Some(critical) => extension(&[0x55, 0x1d, 0x14], critical, &number),
            None => Vec::new(),
        };
        if let Some(base) = self.delta_base {
            let base = tlv(0x02, &integer(base));
            extensions.extend(extension(&[0x55, 0x1d, 0x1b], true, &base));
        }
        if !self.partition.is_empty() {
            let point = tlv(0xa0, &tlv(0xa0, &uris(&self.partition)));
            extensions.extend(extension(&[0x55, 0x1d, 0x1c], true, &tlv(0x30, &point)));
        }
        if !self.freshest.is_empty() {
            let point = tlv(0x30, &tlv(0xa0, &tlv(0xa0, &uris(&self.freshest))));
            extensions.extend(extension(&[0x55, 0x1d, 0x2e], false, &tlv(0x30, &point)));
        }
        extensions.extend(self.more.concat());
        extensions
    }
}

fn entry(serial: &[u8], reason: Option<u8>, revoked_at: i64) -> Vec<u8> {
    let mut fields = tlv(0x02, serial);
    fields.extend(utc_time(revoked_at));
    if let Some(code) = reason {
        let reason_code = extension(&[0x55, 0x1d, 0x15], false, &tlv(0x0a, &[code]));
        fields.extend(tlv(0x30, &reason_code));
    }
    tlv(0x30, &fields)
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut fields = tlv(0x06, oid);
    if critical {
        fields.extend([0x01, 0x01, 0xff]);
    }
    fields.extend(tlv(0x04, value));
    tlv(0x30, &fields)
}

fn uris(uris: &[String]) -> Vec<u8> {
    uris.iter()
        .flat_map(|uri| tlv(0x86, uri.as_bytes()))
        .collect()
}

/// `serial` as a minimal INTEGER's content.
pub fn integer(serial: u64) -> Vec<u8> {
    let mut content: Vec<u8> = serial
        .to_be_bytes()
        .into_iter()
        .skip_while(|octet| *octet == 0)
        .collect();
    if content.first().is_none_or(|first| first & 0x80 != 0) {
        content.insert(0, 0x00);
    }
    content
}

fn utc_time(unix: i64) -> Vec<u8> {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).expect("a test time");
    let text = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        at.year() % 100,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    tlv(0x17, text.as_bytes())
}

/// (header length, content length) of the DER element at the start of `der`.
fn header(der: &[u8]) -> (usize, usize) {
    let first = usize::from(der[1]);
    if first < 0x80 {
        return (2, first);
    }
    let count = first & 0x7f;
    let length = der[2..2 + count]
        .iter()
        .fold(0, |acc, byte| (acc << 8) | usize::from(*byte));
    (2 + count, length)
}

/// The content of the DER element at the start of `der`.
pub fn content(der: &[u8]) -> &[u8] {
    let (head, length) = header(der);
    &der[head..head + length]
}

/// The DER elements `der` is made of, each whole.
pub fn children(mut der: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (head, length) = header(der);
        out.push(&der[..head + length]);
        der = &der[head + length..];
    }
    out
}

/// A DER element: `tag`, the shortest length, `body`.
pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = body.len();
    if length < 0x80 {
        out.push(u8::try_from(length).expect("short length"));
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|byte| *byte == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).expect("length fits"));
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}
