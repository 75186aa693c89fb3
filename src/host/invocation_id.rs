//! The host's invocation id, for the request span: taken from `X-Azure-Functions-InvocationId`
//! only, the one header the host sets in every mode, and never guessed between values.
//!
//! - Payload mode: the host's own `POST /<Function>` carries it once; the caller's headers are
//!   inside the envelope, out of reach.
//! - Forwarding mode: the host copies the caller's headers, then *adds* its own, so a caller
//!   who sends the header too makes it arrive twice (as two lines or one comma-joined value).
//! - Proxying mode: the host overwrites it. It also sets `x-ms-invocation-id`, which is not
//!   read: that header exists in this mode only, and whether a caller's copy of it survives
//!   beside the host's depends on the host's version.
//!
//! So one header serves every mode, and a header that arrives with more than one value is
//! [`InvocationId::Ambiguous`]: logged as such with the values seen, rather than one of them,
//! which could be the caller's. A pure function over the request headers; it does not check
//! that an id is a GUID beyond what keeps a log line unambiguous.

use std::fmt;

use warp::http::HeaderMap;

/// The header the host sets in every mode.
pub const HOST_HEADER: &str = "x-azure-functions-invocationid";
/// Longer values are not invocation ids (a GUID is 36 characters).
pub const MAX_LEN: usize = 64;
/// The most values an ambiguous id lists.
pub const MAX_LISTED: usize = 4;

/// What the request says its invocation id is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationId<'a> {
    /// No header, or no plausible value in it.
    Absent,
    /// One plausible value.
    One(&'a str),
    /// More than one value: the plausible ones, at most [`MAX_LISTED`].
    Ambiguous(Vec<&'a str>),
}

impl InvocationId<'_> {
    /// The values an ambiguous id lists, comma-separated (`None` otherwise).
    pub fn listed(&self) -> Option<String> {
        match self {
            Self::Ambiguous(values) => Some(values.join(",")),
            Self::Absent | Self::One(_) => None,
        }
    }
}

impl fmt::Display for InvocationId<'_> {
    /// The id; `""` when absent; `ambiguous` when the header had more than one value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => Ok(()),
            Self::One(id) => f.write_str(id),
            Self::Ambiguous(_) => f.write_str("ambiguous"),
        }
    }
}

/// The invocation id of a request (see the module doc). A plausible value is at most
/// [`MAX_LEN`] ASCII letters, digits and `-`, so that a value a caller sent can never add text
/// of its choosing to a log line.
pub fn invocation_id(headers: &HeaderMap) -> InvocationId<'_> {
    let mut values = headers
        .get_all(HOST_HEADER)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("\u{0}").split(','))
        .map(str::trim);
    let Some(first) = values.next() else {
        return InvocationId::Absent;
    };
    let rest: Vec<&str> = values.collect();
    if rest.is_empty() {
        return if is_plausible(first) {
            InvocationId::One(first)
        } else {
            InvocationId::Absent
        };
    }
    InvocationId::Ambiguous(
        std::iter::once(first)
            .chain(rest)
            .filter(|value| is_plausible(value))
            .take(MAX_LISTED)
            .collect(),
    )
}

fn is_plausible(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    const GUID: &str = "5b0a6b8e-3f0e-4a57-9c8e-0d6f1c7e2a11";
    const OTHER: &str = "deadbeef-0000-4000-8000-00000000beef";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn takes_the_id_from_the_hosts_header_only() {
        for (pairs, expected, reason) in [
            (
                vec![("X-Azure-Functions-InvocationId", GUID)],
                InvocationId::One(GUID),
                "every mode",
            ),
            (
                vec![
                    ("x-ms-invocation-id", OTHER),
                    ("X-Azure-Functions-InvocationId", GUID),
                ],
                InvocationId::One(GUID),
                "proxying mode: x-ms-invocation-id is not read, whatever it says",
            ),
            (
                vec![("x-ms-invocation-id", OTHER)],
                InvocationId::Absent,
                "a caller's x-ms-invocation-id alone is no invocation id",
            ),
            (vec![], InvocationId::Absent, "no header"),
            (
                vec![("X-Azure-Functions-InvocationId", "")],
                InvocationId::Absent,
                "empty",
            ),
            (
                vec![("X-Azure-Functions-InvocationId", "id\" level=ERROR")],
                InvocationId::Absent,
                "text that could forge a log field",
            ),
        ] {
            assert_eq!(invocation_id(&headers(&pairs)), expected, "{reason}");
        }
    }

    #[test]
    fn a_header_with_two_values_is_ambiguous_in_either_order() {
        for (pairs, reason) in [
            (
                vec![
                    ("X-Azure-Functions-InvocationId", OTHER),
                    ("X-Azure-Functions-InvocationId", GUID),
                ],
                "forwarding: the caller's line, then the host's",
            ),
            (
                vec![(
                    "X-Azure-Functions-InvocationId",
                    &format!("{OTHER}, {GUID}"),
                )],
                "the same, joined on one line",
            ),
        ] {
            let map = headers(&pairs);
            let id = invocation_id(&map);
            assert_eq!(id, InvocationId::Ambiguous(vec![OTHER, GUID]), "{reason}");
            assert_eq!(id.to_string(), "ambiguous", "{reason}");
            assert_eq!(id.listed(), Some(format!("{OTHER},{GUID}")), "{reason}");
        }
        let swapped = headers(&[
            ("X-Azure-Functions-InvocationId", GUID),
            ("X-Azure-Functions-InvocationId", OTHER),
        ]);
        assert_eq!(invocation_id(&swapped).to_string(), "ambiguous");
    }

    #[test]
    fn an_ambiguous_id_lists_only_plausible_values_and_at_most_four() {
        let many = [GUID; 9].join(",");
        let map = headers(&[("X-Azure-Functions-InvocationId", &format!("a b=c,{many}"))]);
        let id = invocation_id(&map);
        assert_eq!(id, InvocationId::Ambiguous(vec![GUID; MAX_LISTED]));
    }

    #[test]
    fn an_overlong_value_is_not_an_invocation_id() {
        let long = "a".repeat(MAX_LEN + 1);
        assert_eq!(
            invocation_id(&headers(&[("X-Azure-Functions-InvocationId", &long)])),
            InvocationId::Absent
        );
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(
            invocation_id(&headers(&[("X-Azure-Functions-InvocationId", &longest)])),
            InvocationId::One(&longest)
        );
    }
}
