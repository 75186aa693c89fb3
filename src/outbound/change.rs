//! What changed between the identity in use and a newly loaded one, in words, for the reload's
//! log line: the leaf (serial, notAfter, subject, issuer), the certificates after it, the key.
//! Pure: it compares two [`Identity`] values and logs nothing.

use rustls::pki_types::CertificateDer;

use super::chain::LeafFacts;
use super::identity::Identity;

/// `None` when the identities are the same (every certificate of the chain and the key);
/// otherwise what changed, e.g. `leaf serial 3001 -> 3002; chain 1 -> 2 certificates (issuers
/// none -> CN=Intermediate)`.
pub(super) fn describe(old: &Identity, new: &Identity) -> Option<String> {
    if old == new {
        return None;
    }
    let mut changes = Vec::new();
    if old.chain().first() != new.chain().first() {
        changes.push(leaf_change(old, new));
    }
    if old.chain().get(1..) != new.chain().get(1..) {
        changes.push(format!(
            "chain {} -> {} certificates (issuers {} -> {})",
            old.chain().len(),
            new.chain().len(),
            issuers(old.chain()),
            issuers(new.chain())
        ));
    }
    if changes.is_empty() {
        changes.push("private key".to_owned());
    }
    Some(changes.join("; "))
}

fn leaf_change(old: &Identity, new: &Identity) -> String {
    let mut text = format!(
        "leaf serial {} -> {}, notAfter {} -> {}",
        old.serial(),
        new.serial(),
        old.not_after(),
        new.not_after()
    );
    if old.subject() != new.subject() {
        text.push_str(&format!(", subject {} -> {}", old.subject(), new.subject()));
    }
    if !old.same_issuer_as(new) {
        text.push_str(&format!(", issuer {} -> {}", old.issuer(), new.issuer()));
    }
    text
}

fn issuers(chain: &[CertificateDer<'static>]) -> String {
    let names: Vec<String> = chain
        .iter()
        .skip(1)
        .map(|der| LeafFacts::read(der).map_or_else(|_| "?".to_owned(), |facts| facts.subject))
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
