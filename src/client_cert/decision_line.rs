//! The decision line: one line per decision, with what is known of the certificate (code,
//! thumbprints, subject, issuer, serial, notAfter, the rule or the reason). Values are
//! borrowed, so a line whose level is off costs nothing; the formatter escapes every value
//! (`telemetry::escape`), and names are RFC 4514-escaped too. How many refusal lines are
//! written is decided by the caller (`telemetry::summary`), not here.

use sha1::{Digest, Sha1};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use super::certificate::hex_upper;
use super::name::Name;
use super::sketch::Sketch;
use super::{Authorized, ClientCert, Denied};

/// What a decision line says about the certificate; `-` where it is not known (a header that
/// did not decode, or a cached refusal, which keeps only the thumbprints).
pub(super) struct Described<'a> {
    pub(super) sha256: &'a str,
    pub(super) sha1: &'a str,
    pub(super) subject: &'a str,
    pub(super) issuer: &'a str,
    pub(super) serial: &'a str,
    pub(super) not_after: &'a str,
}

impl<'a> Described<'a> {
    pub(super) const NOTHING: Described<'static> = Described {
        sha256: "-",
        sha1: "-",
        subject: "-",
        issuer: "-",
        serial: "-",
        not_after: "-",
    };

    pub(super) fn cert(cert: &'a ClientCert) -> Self {
        Self {
            sha256: &cert.sha256_thumbprint,
            sha1: &cert.sha1_thumbprint,
            subject: &cert.subject.rfc4514,
            issuer: &cert.issuer.rfc4514,
            serial: &cert.serial_hex,
            not_after: &cert.not_after_rfc3339,
        }
    }
}

/// The line of a refusal made from a sketch, before any parse: the subject, issuer and serial
/// it located (rendered now, so only for a line that is written) and `-` for notAfter.
pub(super) fn write_sketched(denied: &Denied, key: &[u8; 32], der: &[u8], sketch: &Sketch<'_>) {
    let render = |element: &[u8]| {
        X509Name::from_der(element)
            .map_or_else(|_| "-".to_owned(), |(_, name)| Name::read(&name).rfc4514)
    };
    let (sha256, sha1) = (hex_upper(key), hex_upper(&Sha1::digest(der)));
    let (subject, issuer) = (
        render(sketch.subject_element),
        render(sketch.issuer_element),
    );
    let serial = hex_upper(sketch.serial);
    let described = Described {
        sha256: &sha256,
        sha1: &sha1,
        subject: &subject,
        issuer: &issuer,
        serial: &serial,
        not_after: "-",
    };
    write(&Err(denied.clone()), &described, false);
}

/// Writes one decision line: an accept at info (warn on an unverified name), a refusal at warn.
pub(super) fn write(decision: &Result<Authorized, Denied>, cert: &Described<'_>, cached: bool) {
    // Borrowed, not copied: when the level is off, logging a decision costs nothing. The
    // formatter escapes every value (telemetry::escape); the names are RFC 4514-escaped too.
    let Described {
        sha256,
        sha1,
        subject,
        issuer,
        serial,
        not_after,
    } = cert;
    match decision {
        Ok(authorized) => {
            if authorized.unverified_name {
                tracing::warn!(code = "ok", %sha256, %sha1, %subject, %issuer, %serial, %not_after,
                    matched_rule = %authorized.matched_rule, cached,
                    "client certificate accepted on an unverified name (CLIENT_CERT_ALLOW_UNVERIFIED_NAMES)");
            } else {
                tracing::info!(code = "ok", %sha256, %sha1, %subject, %issuer, %serial, %not_after,
                    matched_rule = %authorized.matched_rule,
                    verified_chain = authorized.verified_chain, cached,
                    "client certificate accepted");
            }
        }
        Err(denied) => {
            tracing::warn!(code = denied.code(), %sha256, %sha1, %subject, %issuer, %serial,
                %not_after, reason = %denied, cached, "client certificate refused");
        }
    }
}
