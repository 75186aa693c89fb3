//! rfc822Name (email address) name constraints, which webpki cannot evaluate: it refuses every
//! certificate with an email address below a CA that constrains them, so such a CA would vouch
//! for nobody. `webpki_view.rs` shows webpki the CA without its email subtrees, and the
//! verified path is held to them here, RFC 5280 §4.2.1.10:
//!
//! - a base with `@` is one mailbox (`ops@contoso.com`), one without names every address at a
//!   host (`contoso.com`), one with a leading period every address in a domain below it
//!   (`.contoso.com`, not `contoso.com` itself); the local part is compared exactly, the host
//!   ignoring ASCII case; an `*` is an ordinary character;
//! - every email address of every certificate below the CA on the path (SAN rfc822Names, or the
//!   subject's emailAddress attributes when it has no subjectAltName or an empty one) is inside
//!   a permitted subtree if the CA lists any, and inside no excluded one; self-issued
//!   intermediates are exempt, as RFC 5280 says;
//! - an address that is not a plain `local@host` (a dot-atom local part, a DNS host) cannot be
//!   checked, so under such a CA it is refused (fail closed). Quoted local parts are refused.
//!
//! Malformed bases are `subtrees.rs`'s business: a CA with one cannot vouch at all.

/// One CA certificate's email subtrees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailConstraints {
    permitted: Vec<EmailSubtree>,
    excluded: Vec<EmailSubtree>,
}

/// One rfc822Name subtree, and the base as written (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmailSubtree {
    base: String,
    form: Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// Exactly this mailbox (host lowercased).
    Mailbox { local: String, host: String },
    /// Every address at this host (lowercased).
    Host(String),
    /// Every address at a host below this domain (lowercased, without its leading period).
    Domain(String),
}

/// An email address split into its parts (host lowercased).
struct Mailbox<'a> {
    local: &'a str,
    host: String,
}

impl EmailConstraints {
    /// The constraints of `permitted` and `excluded` bases; `None` when both are empty.
    ///
    /// # Errors
    /// The first base that is neither a mailbox, a host nor a `.domain`, in words.
    pub fn from_bases(permitted: &[String], excluded: &[String]) -> Result<Option<Self>, String> {
        let parse = |bases: &[String]| -> Result<Vec<EmailSubtree>, String> {
            bases.iter().map(|base| EmailSubtree::parse(base)).collect()
        };
        let constraints = Self {
            permitted: parse(permitted)?,
            excluded: parse(excluded)?,
        };
        Ok((constraints != Self::default()).then_some(constraints))
    }

    /// Why `address` is outside these subtrees, or `None` when it is inside.
    pub fn refuses(&self, address: &str) -> Option<String> {
        let Some(mailbox) = mailbox(address) else {
            return Some(format!(
                "{address:?} is not an email address the CA's email name constraints can be checked against"
            ));
        };
        if let Some(subtree) = self
            .excluded
            .iter()
            .find(|subtree| subtree.covers(&mailbox))
        {
            return Some(format!(
                "{address:?} is inside the excluded email subtree {:?}",
                subtree.base
            ));
        }
        if !self.permitted.is_empty()
            && !self
                .permitted
                .iter()
                .any(|subtree| subtree.covers(&mailbox))
        {
            let bases: Vec<&str> = self.permitted.iter().map(|s| s.base.as_str()).collect();
            return Some(format!(
                "{address:?} is outside the permitted email subtrees {bases:?}"
            ));
        }
        None
    }
}

impl EmailSubtree {
    /// Reads an rfc822Name base.
    ///
    /// # Errors
    /// Why it is neither a mailbox, a host nor a `.domain`, in words.
    pub(crate) fn parse(base: &str) -> Result<Self, String> {
        let form = if base.contains('@') {
            mailbox(base).map(|mailbox| Form::Mailbox {
                local: mailbox.local.to_owned(),
                host: mailbox.host,
            })
        } else if let Some(domain) = base.strip_prefix('.') {
            is_host(domain).then(|| Form::Domain(domain.to_ascii_lowercase()))
        } else {
            is_host(base).then(|| Form::Host(base.to_ascii_lowercase()))
        };
        form.map(|form| Self {
            base: base.to_owned(),
            form,
        })
        .ok_or_else(|| {
            format!(
                "rfc822Name {base:?} is not a mailbox, a host or a domain with a leading period"
            )
        })
    }

    fn covers(&self, mailbox: &Mailbox<'_>) -> bool {
        match &self.form {
            Form::Mailbox { local, host } => *local == mailbox.local && *host == mailbox.host,
            Form::Host(host) => *host == mailbox.host,
            Form::Domain(domain) => mailbox
                .host
                .strip_suffix(domain.as_str())
                .is_some_and(|below| below.len() > 1 && below.ends_with('.')),
        }
    }
}

/// `local@host`: one `@`, a dot-atom local part of at most 64 octets, a DNS host.
fn mailbox(address: &str) -> Option<Mailbox<'_>> {
    let (local, host) = address.split_once('@')?;
    let atext = |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&byte);
    let dot_atom = local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(atext));
    (dot_atom && is_host(host)).then(|| Mailbox {
        local,
        host: host.to_ascii_lowercase(),
    })
}

fn is_host(host: &str) -> bool {
    super::name_constraints::is_dns_name(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraints(permitted: &[&str], excluded: &[&str]) -> EmailConstraints {
        let owned = |bases: &[&str]| bases.iter().map(|b| (*b).to_owned()).collect::<Vec<_>>();
        EmailConstraints::from_bases(&owned(permitted), &owned(excluded))
            .expect("test bases are well-formed")
            .expect("test bases are not empty")
    }

    #[test]
    fn email_subtrees_match_as_rfc_5280_reads_them() {
        let cases = [
            ("foo@example.com", &["foo@example.com"][..], true),
            ("foo@EXAMPLE.com", &["foo@example.com"], true),
            ("Foo@example.com", &["foo@example.com"], false),
            ("foo@example.com", &["example.com"], true),
            ("foo@sub.example.com", &["example.com"], false),
            ("foo@sub.example.com", &[".example.com"], true),
            ("foo@example.com", &[".example.com"], false),
            ("foo@evilexample.com", &[".example.com"], false),
            ("*@example.com", &["*@example.com"], true),
            ("user@example.com", &["*@example.com"], false),
            ("*@subdomain.example.com", &["*@example.com"], false),
            ("**@example.com", &["**@example.com"], true),
            ("*@example.com", &["**@example.com"], false),
            ("user*@example.com", &["user*@example.com"], true),
            ("invalid@address@example.com", &["example.com"], false),
            ("\"quoted\"@example.com", &["example.com"], false),
            ("no-at-sign", &["example.com"], false),
        ];
        for (address, permitted, inside) in cases {
            assert_eq!(
                constraints(permitted, &[]).refuses(address).is_none(),
                inside,
                "{address:?} in {permitted:?}"
            );
        }
    }

    #[test]
    fn an_excluded_subtree_wins_over_a_permitted_one() {
        let both = constraints(&["example.com", ".example.com"], &["ceo@example.com"]);
        assert_eq!(both.refuses("ops@example.com"), None);
        assert!(
            both.refuses("ceo@example.com")
                .is_some_and(|why| why.contains("excluded")),
            "excluded"
        );
        let only_excluded = constraints(&[], &[".example.net"]);
        assert_eq!(
            only_excluded.refuses("a@example.com"),
            None,
            "no permitted list"
        );
        assert!(only_excluded.refuses("a@b.example.net").is_some());
    }

    #[test]
    fn malformed_bases_are_refused_with_their_text() {
        for base in [
            "invalid@invalid@example.com",
            "",
            ".",
            "a b.example",
            "@example.com",
        ] {
            let error = EmailConstraints::from_bases(&[base.to_owned()], &[]).expect_err(base);
            assert!(error.contains("is not a mailbox"), "{base:?}: {error}");
        }
    }
}
