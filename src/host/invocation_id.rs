//! Which header carries the host's invocation id: `x-ms-invocation-id` in proxying mode, else
//! `X-Azure-Functions-InvocationId` (forwarding and payload modes; proxying sets both).
//!
//! A pure function over the request headers, for the request span. It does not validate that
//! the id is a GUID beyond what keeps a log line unambiguous.

use warp::http::HeaderMap;

/// The header the host sets in proxying mode.
pub const PROXYING_HEADER: &str = "x-ms-invocation-id";
/// The header the host sets in every mode.
pub const HOST_HEADER: &str = "x-azure-functions-invocationid";
/// Longer values are not invocation ids (a GUID is 36 characters).
pub const MAX_LEN: usize = 64;

/// The invocation id of a request, or `""` when neither header holds a plausible one: at most
/// [`MAX_LEN`] ASCII letters, digits and `-`, so that a value a caller sent on its own can never
/// add text of its choosing to a log line.
pub fn invocation_id(headers: &HeaderMap) -> &str {
    [PROXYING_HEADER, HOST_HEADER]
        .into_iter()
        .filter_map(|name| headers.get(name))
        .filter_map(|value| value.to_str().ok())
        .find(|value| is_plausible(value))
        .unwrap_or("")
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
    const OTHER: &str = "0f6a0000-0000-0000-0000-000000000000";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn takes_the_id_from_either_header_preferring_the_proxying_one() {
        for (pairs, expected, reason) in [
            (vec![("x-ms-invocation-id", GUID)], GUID, "proxying mode"),
            (
                vec![("X-Azure-Functions-InvocationId", GUID)],
                GUID,
                "forwarding and payload modes",
            ),
            (
                vec![
                    ("X-Azure-Functions-InvocationId", OTHER),
                    ("x-ms-invocation-id", GUID),
                ],
                GUID,
                "proxying mode sets both; x-ms-invocation-id wins",
            ),
            (vec![], "", "no header"),
            (vec![("x-ms-invocation-id", "")], "", "empty"),
            (
                vec![
                    ("x-ms-invocation-id", "a b=c"),
                    ("X-Azure-Functions-InvocationId", GUID),
                ],
                GUID,
                "an implausible value is skipped",
            ),
            (
                vec![("x-ms-invocation-id", "id\" level=ERROR")],
                "",
                "text that could forge a log field",
            ),
        ] {
            assert_eq!(invocation_id(&headers(&pairs)), expected, "{reason}");
        }
    }

    #[test]
    fn an_overlong_value_is_not_an_invocation_id() {
        let long = "a".repeat(MAX_LEN + 1);
        assert_eq!(
            invocation_id(&headers(&[("x-ms-invocation-id", &long)])),
            ""
        );
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(
            invocation_id(&headers(&[("x-ms-invocation-id", &longest)])),
            longest
        );
    }
}
