//! Checking a CRL that arrived from a distribution point before it joins the CRL set: exactly
//! one CRL, issued and signed by a configured CA (anchor or intermediate) whose key may sign
//! CRLs, current (thisUpdate not in the future, nextUpdate not passed), and not older (by CRL
//! number) than the newest CRL of its series that the same URL served before ([`Served`]: a
//! CRL of another series, which an answer swapped on the plain-HTTP path can bring, neither
//! sets the bar for the URL's own CA nor lowers it). Delta CRLs pass the same checks.
//!
//! The transport is not trusted (distribution points are usually plain HTTP): the signature is.
//! So the signature over the raw TBS bytes is verified before a single entry is read
//! (`client_cert::crl`), and an unsigned body costs its own bytes and nothing more; the body
//! is dropped before the entries are indexed, and the CRL is held in that compact form only.
//! Pure function over bytes and values; the fetching is `fetch.rs`'s job.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::cert_file::{Encoding, check_single_der};
use crate::client_cert::crl::{
    Crl, CrlIssuers, CrlProblem, Series, SignatureRule, compare_numbers,
};

/// How many series a URL remembers the newest CRL number of (a URL serves one; more come only
/// from answers swapped on its path, each signed by a configured CA).
pub const MAX_SERIES_REMEMBERED: usize = 16;

/// The highest CRL number a URL has served in each series, the last
/// [`MAX_SERIES_REMEMBERED`] series it served.
#[derive(Debug, Clone, Default)]
pub struct Served {
    newest: Vec<(Series, Box<[u8]>)>,
}

impl Served {
    /// The highest number served in `crl`'s series.
    pub fn newest(&self, crl: &Crl) -> Option<&[u8]> {
        self.newest
            .iter()
            .find(|(series, _)| series.holds(crl))
            .map(|(_, number)| &**number)
    }

    /// Notes that `crl` was served (it passed [`check`]): its series goes last, with the higher
    /// of its number and the one noted; the series served longest ago is forgotten past the
    /// cap.
    pub fn note(&mut self, crl: &Crl) {
        let Some(number) = crl.number() else {
            return;
        };
        let mut number: Box<[u8]> = number.into();
        if let Some(at) = self.newest.iter().position(|(series, _)| series.holds(crl)) {
            let (_, held) = self.newest.remove(at);
            if compare_numbers(&held, &number).is_gt() {
                number = held;
            }
        }
        self.newest.push((crl.series(), number));
        if self.newest.len() > MAX_SERIES_REMEMBERED {
            self.newest.remove(0);
        }
    }
}

/// A CRL that passed [`check`], with what the source remembers of it.
#[derive(Debug, Clone)]
pub struct CheckedCrl {
    pub crl: Arc<Crl>,
    /// The SHA-256 of its DER: a CRL fetched again with the same bytes changes nothing.
    pub digest: [u8; 32],
    /// The CRL number, big-endian without leading zeros (`None`: the CRL carries none).
    pub number: Option<Vec<u8>>,
    /// thisUpdate and nextUpdate, unix seconds.
    pub this_update: i64,
    pub next_update: i64,
    /// The issuer, RFC 4514 (for logs).
    pub issuer: String,
}

/// Why a fetched CRL was refused (the last good CRL stays in force).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlRefused {
    #[error("not a crl: {0}")]
    NotCrl(String),
    #[error("{0} crls in one response: a distribution point serves one")]
    NotOne(usize),
    /// Who signed it, or what it lacks, in the CRL reader's words (no configured CA of its
    /// name, a signature that does not verify, no cRLSign, SHA-1, no nextUpdate).
    #[error(transparent)]
    Unusable(CrlProblem),
    #[error("thisUpdate {this_update} is in the future (now {now})")]
    NotYetValid { this_update: i64, now: i64 },
    #[error("already past its nextUpdate {next_update} (now {now})")]
    Expired { next_update: i64, now: i64 },
    #[error("crl number {got} is older than the {held} already held")]
    OlderNumber { got: String, held: String },
}

/// Checks `body` (PEM or DER) as a CRL from `issuers` at `now`, against the CRL numbers the
/// same source `served` before in its series. The body is consumed: it is dropped as soon as
/// the CRL's DER is known, before the entries are indexed.
///
/// # Errors
/// [`CrlRefused`] saying why.
pub fn check(
    body: Vec<u8>,
    issuers: &CrlIssuers,
    now: i64,
    served: Option<&Served>,
) -> Result<CheckedCrl, CrlRefused> {
    let der = match Encoding::sniff(&body) {
        Encoding::Binary => body,
        Encoding::Pem => pem_in_place(body)?,
    };
    check_single_der(&der).map_err(|error| CrlRefused::NotCrl(error.to_string()))?;
    let digest: [u8; 32] = Sha256::digest(&der).into();
    let crl = Crl::read(&der, issuers, SignatureRule::Required).map_err(refused)?;
    drop(der);
    let (this_update, next_update) = (crl.this_update(), crl.next_update());
    if this_update > now {
        return Err(CrlRefused::NotYetValid { this_update, now });
    }
    if next_update <= now {
        return Err(CrlRefused::Expired { next_update, now });
    }
    let number = crl.number().map(<[u8]>::to_vec);
    if let (Some(got), Some(held)) = (
        number.as_deref(),
        served.and_then(|served| served.newest(&crl)),
    ) && is_older(got, held)
    {
        return Err(CrlRefused::OlderNumber {
            got: hex(got),
            held: hex(held),
        });
    }
    Ok(CheckedCrl {
        issuer: crl.issuer_text().to_owned(),
        crl: Arc::new(crl),
        digest,
        number,
        this_update,
        next_update,
    })
}

/// The DER of the one `X509 CRL` block of a PEM `body`, decoded into the body's own buffer
/// (the DER is shorter than its base64, so it is written behind what is read): a PEM response
/// costs its own size, not also a copy. Text around the block is ignored, as PEM allows.
fn pem_in_place(mut body: Vec<u8>) -> Result<Vec<u8>, CrlRefused> {
    use base64::Engine as _;
    const BEGIN: &[u8] = b"-----BEGIN X509 CRL-----";
    const END: &[u8] = b"-----END X509 CRL-----";
    let not_crl = |detail: &str| CrlRefused::NotCrl(format!("response: invalid pem: {detail}"));
    let blocks: Vec<usize> = body
        .windows(BEGIN.len())
        .enumerate()
        .filter(|(_, window)| *window == BEGIN)
        .map(|(at, _)| at + BEGIN.len())
        .collect();
    let start = match blocks.as_slice() {
        [] => return Err(CrlRefused::NotCrl("response: no crl found".to_owned())),
        [start] => *start,
        more => return Err(CrlRefused::NotOne(more.len())),
    };
    let end = body[start..]
        .windows(END.len())
        .position(|window| window == END)
        .map(|at| start + at)
        .ok_or_else(|| not_crl("no END line"))?;
    // Base64 in chunks of 4,096 characters (whitespace skipped), each decoded to at most
    // 3,072 bytes and written at `written`, which never passes what was read.
    let (mut chunk, mut filled, mut written) = ([0u8; 4096], 0, 0);
    let mut decoded = [0u8; 3072];
    let mut flush = |body: &mut Vec<u8>, chunk: &[u8], written: &mut usize| {
        let length = base64::engine::general_purpose::STANDARD
            .decode_slice(chunk, &mut decoded)
            .map_err(|_| not_crl("not base64"))?;
        body[*written..*written + length].copy_from_slice(&decoded[..length]);
        *written += length;
        Ok::<(), CrlRefused>(())
    };
    for read in start..end {
        let character = body[read];
        if character.is_ascii_whitespace() {
            continue;
        }
        chunk[filled] = character;
        filled += 1;
        if filled == chunk.len() {
            flush(&mut body, &chunk, &mut written)?;
            filled = 0;
        }
    }
    flush(&mut body, &chunk[..filled], &mut written)?;
    body.truncate(written);
    Ok(body)
}

fn refused(problem: CrlProblem) -> CrlRefused {
    match problem {
        CrlProblem::UnknownIssuer { .. }
        | CrlProblem::BadSignature { .. }
        | CrlProblem::NotCrlSigner { .. }
        | CrlProblem::WeakSignature
        | CrlProblem::NoNextUpdate => CrlRefused::Unusable(problem),
        other => CrlRefused::NotCrl(other.to_string()),
    }
}

fn is_older(got: &[u8], held: &[u8]) -> bool {
    let trim =
        |bytes: &[u8]| -> Vec<u8> { bytes.iter().copied().skip_while(|b| *b == 0).collect() };
    let (got, held) = (trim(got), trim(held));
    (got.len(), got.as_slice()) < (held.len(), held.as_slice())
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "0".to_owned();
    }
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_cert::test_pki::{BASE, Ca, DAY, crl_spec, issuers};
    use base64::Engine as _;
    use rcgen::KeyUsagePurpose;

    /// `ders` as one PEM body, each block in 64-character lines with CRLF line ends.
    fn pem(ders: &[&[u8]]) -> Vec<u8> {
        let mut text = b"CRL published by the test CA\r\n".to_vec();
        for der in ders {
            let base64 = base64::engine::general_purpose::STANDARD.encode(der);
            text.extend_from_slice(b"-----BEGIN X509 CRL-----\r\n");
            for line in base64.as_bytes().chunks(64) {
                text.extend_from_slice(line);
                text.extend_from_slice(b"\r\n");
            }
            text.extend_from_slice(b"-----END X509 CRL-----\r\n");
        }
        text
    }

    #[test]
    fn a_crl_is_accepted_only_from_a_configured_signer_while_current_and_not_older() {
        let root = Ca::root("Crl Root");
        let impostor = Ca::root("Crl Root");
        let stranger = Ca::root("Stranger Root");
        let no_crl_sign = Ca::root_with_key_usages(
            "No CrlSign Root",
            vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::DigitalSignature,
            ],
        );
        let configured = issuers(&[&root, &no_crl_sign]);
        let good = root.crl(&[5], -DAY, 7 * DAY);
        let now = BASE as i64;
        // What the URL served before: the root's CRL number 1, or number 5.
        let served = |number: u64| {
            let der = root.crl_numbered(number, &[], -DAY, 7 * DAY);
            let earlier = check(der, &configured, now, None).expect("the root's crl");
            let mut served = Served::default();
            served.note(&earlier.crl);
            served
        };
        let (served_same, served_newer) = (served(1), served(5));
        type Case<'a> = (&'a str, Vec<u8>, Option<&'a Served>, Option<&'a str>);
        let cases: Vec<Case<'_>> = vec![
            ("a current crl from the root", good.clone(), None, None),
            ("the same crl again", good.clone(), Some(&served_same), None),
            (
                "garbage",
                b"<html>503</html>".to_vec(),
                None,
                Some("not a crl"),
            ),
            (
                "a same-named ca's crl",
                impostor.crl(&[], -DAY, DAY),
                None,
                Some("signature does not verify"),
            ),
            (
                "an unknown issuer",
                stranger.crl(&[], -DAY, DAY),
                None,
                Some("no configured ca"),
            ),
            (
                "a ca without cRLSign",
                no_crl_sign.crl_ignoring_key_usage(&[], -DAY, DAY),
                None,
                Some("cRLSign"),
            ),
            (
                "past nextUpdate",
                root.crl(&[], -2 * DAY, -DAY),
                None,
                Some("past its nextUpdate"),
            ),
            (
                "thisUpdate ahead",
                root.crl(&[], DAY, 2 * DAY),
                None,
                Some("in the future"),
            ),
            (
                "an older crl number",
                good.clone(),
                Some(&served_newer),
                Some("older"),
            ),
            (
                "a delta numbered below the base served: another series",
                root.crl_from(&crl_spec(2).delta_of(1)),
                Some(&served_newer),
                None,
            ),
            (
                "one DER sequence that is not a crl",
                vec![0x30, 0x03, 0x02, 0x01, 0x01],
                None,
                Some("not a crl: malformed: no tbsCertList"),
            ),
            (
                "a delta crl from the root",
                root.crl_from(&crl_spec(2).delta_of(1).revoke(5)),
                None,
                None,
            ),
            (
                "review: a serial that is not minimal der",
                root.crl_from(&crl_spec(2).revoke_raw(&[0x00, 0x12, 0x34], None)),
                None,
                Some("serial 001234 is not minimal DER"),
            ),
            ("the crl as pem", pem(&[&good]), None, None),
            (
                "two crls in one pem body",
                pem(&[&good, &good]),
                None,
                Some("2 crls in one response"),
            ),
        ];
        for (reason, body, held, refused) in cases {
            let result = check(body, &configured, now, held);
            match refused {
                None => assert!(result.is_ok(), "{reason}: {result:?}"),
                Some(fragment) => {
                    let error = result.expect_err(reason).to_string();
                    assert!(error.contains(fragment), "{reason}: {error}");
                    assert!(
                        !error.contains('{') && !error.contains("BadDer"),
                        "{reason}: words, not Debug text: {error}"
                    );
                }
            }
        }
    }
}
