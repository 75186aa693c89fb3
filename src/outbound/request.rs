//! Calls of one's own through the outbound client: any method, a full `https` URL or a path on
//! `REMOTE_API_URL`'s host, headers and a body; the answer's status, headers and bytes.
//!
//! Every call goes through the client's policy (`client.rs`): the renewal-following identity,
//! the trusted roots, HTTPS and HTTP/1.1 only, no redirects, the connect and total timeouts,
//! and the response body cap, enforced while the body streams in. The client presents its
//! identity to whatever host a call names, so never build the URL from caller input (a caller
//! choosing the host could have our identity presented anywhere, and read what it returns).
//!
//! ```no_run
//! # async fn orders(state: mtls_handler::state::AppState) -> Result<(), Box<dyn std::error::Error>> {
//! use mtls_handler::outbound::http::Method;
//! let client = state.outbound()?;
//! let response = client
//!     .request(Method::POST, "/orders")
//!     .header("content-type", "application/json")
//!     .body(r#"{"sku":"A-1"}"#)
//!     .send()
//!     .await?;
//! assert!(response.status().is_success());
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use super::client::{OutboundClient, loggable};
use super::error::{OutboundError, classify};

/// A call being put together; nothing is sent before [`OutboundRequest::send`].
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct OutboundRequest {
    client: OutboundClient,
    method: Method,
    target: Result<Url, OutboundError>,
    headers: HeaderMap,
    body: Bytes,
    /// The first bad header, reported by `send`.
    invalid: Option<OutboundError>,
}

/// What the upstream answered: any status is an answer; the caller decides what a 500 means.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    elapsed: Duration,
}

// === impl OutboundClient ===

impl OutboundClient {
    /// A call: `target` is a full `https` URL, or a path (`/orders/42?expand=lines`) on
    /// `REMOTE_API_URL`'s scheme, host and port (its path, query and userinfo are not kept). A
    /// path that parses as naming another host (`/\other.example/x`) fails the call.
    pub fn request(&self, method: Method, target: &str) -> OutboundRequest {
        OutboundRequest {
            client: self.clone(),
            method,
            target: resolve(self.remote_api_url(), target),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            invalid: None,
        }
    }

    /// `GET target`, as [`OutboundClient::request`].
    pub fn get(&self, target: &str) -> OutboundRequest {
        self.request(Method::GET, target)
    }

    /// `POST target`, as [`OutboundClient::request`].
    pub fn post(&self, target: &str) -> OutboundRequest {
        self.request(Method::POST, target)
    }
}

// === impl OutboundRequest ===

impl OutboundRequest {
    /// Adds a header (an invalid name or value fails the call at [`OutboundRequest::send`]).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: std::fmt::Display,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: std::fmt::Display,
    {
        let header = HeaderName::try_from(name)
            .map_err(|error| format!("invalid header name: {error}"))
            .and_then(|name| {
                HeaderValue::try_from(value)
                    .map(|value| (name, value))
                    .map_err(|error| format!("invalid header value: {error}"))
            });
        match header {
            Ok((name, value)) => {
                self.headers.append(name, value);
            }
            Err(detail) => {
                self.invalid
                    .get_or_insert(OutboundError::InvalidRequest { detail });
            }
        }
        self
    }

    /// Adds every header of `headers`.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers.extend(headers);
        self
    }

    /// The request body (none by default).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the call and reads the whole answer, at most `OUTBOUND_MAX_RESPONSE_BYTES` of
    /// body, within `OUTBOUND_TIMEOUT_MS` (connecting within `OUTBOUND_CONNECT_TIMEOUT_MS`).
    ///
    /// # Errors
    /// [`OutboundError::Unavailable`] while no identity is loaded;
    /// [`OutboundError::InvalidRequest`] for a bad target or header;
    /// [`OutboundError::Timeout`], [`OutboundError::Tls`], [`OutboundError::Unreachable`] or
    /// [`OutboundError::BodyTooLarge`] as the call goes.
    pub async fn send(self) -> Result<OutboundResponse, OutboundError> {
        let url = self.target?;
        if let Some(invalid) = self.invalid {
            return Err(invalid);
        }
        let http = self.client.http().map_err(OutboundError::Unavailable)?;
        let inner = &self.client.inner;
        let span = tracing::debug_span!("outbound", method = %self.method, url = %loggable(&url));
        let _entered = span.enter();
        let started = Instant::now();
        let mut response = http
            .request(self.method, url)
            .headers(self.headers)
            .body(self.body)
            .send()
            .await
            .map_err(|error| classify(error, inner.timeout))?;
        let limit = inner.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(OutboundError::BodyTooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| classify(error, inner.timeout))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(OutboundError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let elapsed = started.elapsed();
        let status = response.status();
        tracing::debug!(
            status = status.as_u16(),
            bytes = body.len(),
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "upstream answered"
        );
        Ok(OutboundResponse {
            status,
            headers: std::mem::take(response.headers_mut()),
            body: Bytes::from(body),
            elapsed,
        })
    }
}

// === impl OutboundResponse ===

impl OutboundResponse {
    /// The status the upstream answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The whole body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, taken.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// From sending to the last byte of the body.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// `target` as a URL: absolute `https`, or a path on `base`'s origin.
fn resolve(base: Option<&Url>, target: &str) -> Result<Url, OutboundError> {
    let invalid = |detail: String| OutboundError::InvalidRequest { detail };
    let url = if target.starts_with('/') && !target.starts_with("//") {
        let base = base.ok_or_else(|| {
            invalid(
                "a path needs REMOTE_API_URL for its host: set it, or pass a full https URL"
                    .to_owned(),
            )
        })?;
        let mut origin = base.clone();
        origin.set_query(None);
        origin.set_fragment(None);
        // Userinfo of REMOTE_API_URL is the demo's; a call of one's own sets its own headers.
        origin.set_username("").ok();
        origin.set_password(None).ok();
        let joined = origin
            .join(target)
            .map_err(|error| invalid(format!("invalid path: {error}")))?;
        // The URL parser reads `\` as `/` and drops tabs and newlines, so a "path" such as
        // `/\host/x` is a scheme-relative URL: a path must stay on REMOTE_API_URL's origin.
        if joined.origin() != origin.origin() {
            return Err(invalid(
                "a path must stay on REMOTE_API_URL's host (it names another host once parsed); \
                 pass a full https URL to call another host"
                    .to_owned(),
            ));
        }
        joined
    } else {
        Url::parse(target).map_err(|error| {
            invalid(format!(
                "not a full https URL or a path starting with /: {error}"
            ))
        })?
    };
    if url.scheme() != "https" || url.host().is_none() {
        return Err(invalid(format!(
            "only https URLs with a host are called, not {}",
            url.scheme()
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::outbound::identity::Identity;
    use crate::outbound::test_pki::{KeyKind, TestPki, provider};
    use crate::outbound::upstream::{Reply, Upstream};

    async fn client_and_upstream(pki: &TestPki, reply: Reply) -> (OutboundClient, Upstream) {
        let server = Upstream::start(
            Some(pki.root()),
            pki.server_chain.clone(),
            pki.server_key(),
            reply,
        )
        .await;
        let client = pki.client(KeyKind::Ec, None);
        let bytes = client.p12_with_key(&client.key_pkcs8, "");
        let identity =
            Identity::from_pkcs12(&bytes, &SecretString::from(String::new()), &provider())
                .expect("identity");
        let settings = pki.settings(&server.url("/api/health?code=demo-key"), Some(&identity));
        (OutboundClient::build(&settings).expect("client"), server)
    }

    #[tokio::test]
    async fn a_call_of_ones_own_sends_method_path_headers_and_body_and_reads_the_whole_answer() {
        // Arrange: an upstream that answers 201 with a header and bytes that are not UTF-8.
        let pki = TestPki::new("Own call");
        let reply = Reply {
            status: 201,
            headers: vec![("x-upstream".to_owned(), "yes".to_owned())],
            ..Reply::ok(vec![0xff, 0x00, 0x41])
        };
        let (client, server) = client_and_upstream(&pki, reply).await;

        // Act
        let response = client
            .request(Method::POST, "/orders/42?expand=lines")
            .header("x-request-id", "r-1")
            .header("content-type", "application/json")
            .body(r#"{"sku":"A-1"}"#)
            .send()
            .await
            .expect("answered");

        // Assert: what the upstream saw, and what the caller gets.
        let received = server.received();
        assert_eq!(received.len(), 1);
        assert_eq!(
            received[0].request_line, "POST /orders/42?expand=lines HTTP/1.1",
            "a path goes to REMOTE_API_URL's host, without its path or query"
        );
        assert_eq!(received[0].header("x-request-id"), Some("r-1"));
        assert_eq!(received[0].body, br#"{"sku":"A-1"}"#);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            response
                .headers()
                .get("x-upstream")
                .map(HeaderValue::as_bytes),
            Some(b"yes".as_slice())
        );
        assert_eq!(response.body().as_ref(), [0xff, 0x00, 0x41]);
    }

    #[tokio::test]
    async fn the_body_cap_and_the_timeout_apply_to_ones_own_calls() {
        let pki = TestPki::new("Own call limits");
        let big = Reply {
            chunked: true,
            ..Reply::ok(vec![b'x'; 64 * 1024])
        };
        let (client, _server) = client_and_upstream(&pki, big).await;
        let error = client.get("/big").send().await.expect_err("over the cap");
        assert_eq!(error.code(), "upstream_body_too_large", "{error}");

        let slow = Reply {
            delay: Duration::from_secs(5),
            ..Reply::ok("late")
        };
        let (client, _server) = client_and_upstream(&pki, slow).await;
        let started = Instant::now();
        let error = client.get("/slow").send().await.expect_err("too slow");
        assert_eq!(error.code(), "upstream_timeout", "{error}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn an_invalid_header_fails_the_call_before_anything_is_sent() {
        let pki = TestPki::new("Own call header");
        let (client, server) = client_and_upstream(&pki, Reply::ok("x")).await;

        let error = client
            .get("/orders")
            .header("bad header", "v")
            .send()
            .await
            .expect_err("invalid");

        assert_eq!(error.code(), "outbound_invalid_request", "{error}");
        assert_eq!(server.requests(), 0);
    }

    #[test]
    fn targets_resolve_to_https_urls_on_the_right_host() {
        let base = Url::parse("https://user:pw@partner.example:8443/api/health?code=key").ok();
        let cases = [
            ("/orders/42", Some("https://partner.example:8443/orders/42")),
            (
                "/orders?expand=lines",
                Some("https://partner.example:8443/orders?expand=lines"),
            ),
            (
                "https://other.example/v1/x",
                Some("https://other.example/v1/x"),
            ),
            ("http://partner.example/orders", None),
            ("//evil.example/orders", None),
            ("orders/42", None),
            ("file:///etc/passwd", None),
        ];
        for (target, expected) in cases {
            let resolved = resolve(base.as_ref(), target)
                .map(|url| url.to_string())
                .ok();
            assert_eq!(resolved.as_deref(), expected, "{target}");
        }
    }

    #[test]
    fn review_a_path_never_takes_the_identity_to_another_host() {
        // The WHATWG parser reads `\` as `/` in https URLs and drops tabs and newlines, so each
        // of these "paths" is a scheme-relative URL naming another host once joined.
        let base = Url::parse("https://partner.example:8443/api/health").ok();
        for target in [
            "/\\evil.example/x",
            "/\\\\evil.example/x",
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\r\n/evil.example/x",
            "/\t\\evil.example/x",
        ] {
            match resolve(base.as_ref(), target) {
                Ok(url) => assert_eq!(
                    (url.host_str(), url.port()),
                    (Some("partner.example"), Some(8443)),
                    "{target:?} resolved to {url}"
                ),
                Err(error) => assert_eq!(error.code(), "outbound_invalid_request", "{error}"),
            }
        }
    }

    #[test]
    fn a_path_without_remote_api_url_says_what_to_do() {
        let error = resolve(None, "/orders").expect_err("no host");
        assert_eq!(error.code(), "outbound_invalid_request");
        assert!(error.to_string().contains("REMOTE_API_URL"), "{error}");
    }
}
