//! A managed-identity token for ARM, by App Service's protocol: `GET $IDENTITY_ENDPOINT` with
//! `resource=<ARM endpoint>`, `api-version=2019-08-01` and, for a user-assigned identity,
//! `client_id=<id>`, and the header `X-IDENTITY-HEADER: $IDENTITY_HEADER`. Both variables are
//! read at each request (the platform rotates the header's value). The answer's `expires_on`
//! is a string of epoch seconds (a number, or `expires_in`, is accepted too); the token is held
//! until [`REFRESH_BEFORE`] its expiry, and dropped when ARM refuses it.
//!
//! Never logged: the token and the header's value. The endpoint is plain HTTP on a local
//! address, so no proxy is ever used for it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::bounded_http::{self, TransferError};
use crate::config::Env;

/// The platform's variable naming the local token endpoint.
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// The platform's variable holding the header value the endpoint requires.
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
/// The older protocol's endpoint variable (logged if present; never used).
pub const MSI_ENDPOINT: &str = "MSI_ENDPOINT";
/// The protocol version App Service documents.
pub const API_VERSION: &str = "2019-08-01";
/// A held token is replaced this long before it expires.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// A token is held for at most this long, whatever its `expires_on` says.
pub const MAX_HOLD: Duration = Duration::from_secs(24 * 60 * 60);
/// The largest answer read from the endpoint (a token is a few KiB).
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// A bearer token for ARM and when it expires (unix seconds).
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    pub expires_on: u64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

impl AccessToken {
    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// Why no token was had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "{IDENTITY_ENDPOINT} and {IDENTITY_HEADER} are not both set, so the app has no managed identity to read its own settings with: assign one (the template assigns a user-assigned identity and names it in CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID)"
    )]
    NoIdentity,
    #[error("{IDENTITY_ENDPOINT} is not an http or https URL")]
    BadEndpoint,
    #[error("{IDENTITY_HEADER} cannot be sent as a header value")]
    BadHeader,
    #[error(
        "the identity endpoint answered 400: the identity is not assigned to this app, or CLIENT_CERT_POSTURE_IDENTITY_CLIENT_ID is not its client id (unset means the system-assigned identity)"
    )]
    NotAssigned,
    #[error("the identity endpoint refused the request (http status {status})")]
    Refused { status: u16 },
    #[error("the identity endpoint is unavailable (http status {status})")]
    Unavailable { status: u16 },
    #[error("the identity endpoint: {0}")]
    Transfer(#[from] TransferError),
    #[error("the identity endpoint's answer is not a token: {0}")]
    Garbage(&'static str),
}

impl TokenError {
    /// A failure that may pass by itself (5xx, 429, timeouts, garbage), not a setting to fix.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Transfer(_) | Self::Garbage(_)
        )
    }
}

/// Gets and holds the token for one audience and identity.
pub struct TokenSource {
    http: reqwest::Client,
    env: Arc<dyn Env + Send + Sync>,
    resource: String,
    client_id: Option<String>,
    held: Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("resource", &self.resource)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens for `resource` (ARM's endpoint), for the identity `client_id` (or the system one),
    /// from the endpoint `env` names at each request; `http` must use no proxy.
    pub fn new(
        http: reqwest::Client,
        env: Arc<dyn Env + Send + Sync>,
        resource: String,
        client_id: Option<String>,
    ) -> Self {
        Self {
            http,
            env,
            resource,
            client_id,
            held: Mutex::new(None),
        }
    }

    /// The held token if it is good for more than [`REFRESH_BEFORE`] after `now` (unix
    /// seconds), else a new one.
    ///
    /// # Errors
    /// [`TokenError`]; see [`TokenError::is_transient`].
    pub async fn token(&self, now: u64) -> Result<AccessToken, TokenError> {
        if let Some(token) = self.lock().as_ref()
            && token.expires_on > now + REFRESH_BEFORE.as_secs()
        {
            return Ok(token.clone());
        }
        let token = self.request(now).await?;
        *self.lock() = Some(token.clone());
        Ok(token)
    }

    /// Drops the held token (ARM refused it).
    pub fn forget(&self) {
        *self.lock() = None;
    }

    async fn request(&self, now: u64) -> Result<AccessToken, TokenError> {
        let (Some(endpoint), Some(header)) = (
            present(self.env.as_ref(), IDENTITY_ENDPOINT),
            present(self.env.as_ref(), IDENTITY_HEADER),
        ) else {
            return Err(TokenError::NoIdentity);
        };
        let mut url = Url::parse(&endpoint).map_err(|_| TokenError::BadEndpoint)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(TokenError::BadEndpoint);
        }
        url.query_pairs_mut()
            .append_pair("resource", &self.resource)
            .append_pair("api-version", API_VERSION);
        if let Some(client_id) = &self.client_id {
            url.query_pairs_mut().append_pair("client_id", client_id);
        }
        let mut header = HeaderValue::from_str(&header).map_err(|_| TokenError::BadHeader)?;
        header.set_sensitive(true);
        let response = self
            .http
            .get(url)
            .header("X-IDENTITY-HEADER", header)
            .send()
            .await
            .map_err(bounded_http::classify)?;
        let status = response.status();
        if status == StatusCode::BAD_REQUEST {
            return Err(TokenError::NotAssigned);
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenError::Unavailable {
                status: status.as_u16(),
            });
        }
        if status != StatusCode::OK {
            return Err(TokenError::Refused {
                status: status.as_u16(),
            });
        }
        let body = bounded_http::read_body(response, MAX_BODY_BYTES).await?;
        parse(&body, now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<AccessToken>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The value of `name`, trimmed; `None` when unset or blank (as the settings are read).
pub fn present(env: &dyn Env, name: &str) -> Option<String> {
    env.get(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    expires_on: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
}

/// The token and its expiry from the endpoint's JSON, as of `now` (unix seconds).
///
/// # Errors
/// [`TokenError::Garbage`] for anything but a usable token with a future expiry.
pub fn parse(body: &[u8], now: u64) -> Result<AccessToken, TokenError> {
    let body: TokenBody =
        serde_json::from_slice(body).map_err(|_| TokenError::Garbage("not the expected JSON"))?;
    let token = body
        .access_token
        .filter(|token| !token.is_empty() && HeaderValue::from_str(token).is_ok())
        .ok_or(TokenError::Garbage("no usable access_token"))?;
    let expires_on = match (
        seconds(body.expires_on.as_ref()),
        seconds(body.expires_in.as_ref()),
    ) {
        (Some(at), _) => at,
        (None, Some(within)) => now.saturating_add(within),
        (None, None) => return Err(TokenError::Garbage("no expires_on")),
    };
    if expires_on <= now {
        return Err(TokenError::Garbage("the token has already expired"));
    }
    Ok(AccessToken {
        secret: SecretString::from(token),
        expires_on: expires_on.min(now + MAX_HOLD.as_secs()),
    })
}

/// A whole number of seconds, given as a JSON string (the protocol's form) or a number.
fn seconds(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::String(text) => text.trim().parse().ok(),
        serde_json::Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::posture::azure::{IDENTITY_HEADER_VALUE, IdentityEndpoint, TokenAnswer};

    const NOW: u64 = 1_800_000_000;

    /// Variables that change while the source runs, as the platform rotates the header.
    struct Rotating(Mutex<HashMap<String, String>>);

    impl Env for Rotating {
        fn get(&self, name: &str) -> Option<String> {
            self.0.lock().expect("env lock").get(name).cloned()
        }
    }

    fn source(env: Arc<Rotating>) -> TokenSource {
        let limits = bounded_http::Limits {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        };
        let http =
            bounded_http::client(limits, Vec::new(), bounded_http::Proxy::None).expect("client");
        TokenSource::new(
            http,
            env,
            "https://management.azure.com/".to_owned(),
            Some("11111111-2222-3333-4444-555555555555".to_owned()),
        )
    }

    fn unix_now() -> u64 {
        crate::posture::unix_now()
    }

    #[tokio::test]
    async fn the_header_is_read_at_each_request_and_the_token_held_until_near_expiry() {
        let endpoint = IdentityEndpoint::start(TokenAnswer::Token {
            valid_for: Duration::from_secs(3600),
        })
        .await;
        let env = Arc::new(Rotating(Mutex::new(HashMap::from([
            (IDENTITY_ENDPOINT.to_owned(), endpoint.url()),
            (IDENTITY_HEADER.to_owned(), "the-old-value".to_owned()),
        ]))));
        let tokens = source(Arc::clone(&env));
        let now = unix_now();

        let refused = tokens.token(now).await;
        env.0
            .lock()
            .expect("env lock")
            .insert(IDENTITY_HEADER.to_owned(), IDENTITY_HEADER_VALUE.to_owned());
        let first = tokens
            .token(now)
            .await
            .expect("a token with the rotated header");
        let held = tokens
            .token(now + 3600 - 301)
            .await
            .expect("the held token");
        let renewed = tokens.token(now + 3600 - 299).await.expect("a new token");
        tokens.forget();
        let after_forget = tokens.token(now).await.expect("a new token");

        assert_eq!(
            refused.map(|_| ()),
            Err(TokenError::NotAssigned),
            "the endpoint refused the old header"
        );
        assert_eq!(first.expose(), "token-1");
        assert_eq!(
            held.expose(),
            "token-1",
            "good for more than 5 minutes: held"
        );
        assert_eq!(
            renewed.expose(),
            "token-2",
            "within 5 minutes of expiry: replaced"
        );
        assert_eq!(
            after_forget.expose(),
            "token-3",
            "forgotten after ARM refused it"
        );
        let asked = endpoint.requests();
        assert_eq!(asked.len(), 4);
        assert_eq!(
            asked[1].query("resource"),
            Some("https://management.azure.com/")
        );
        assert_eq!(
            asked[1].query("client_id"),
            Some("11111111-2222-3333-4444-555555555555")
        );
    }

    #[tokio::test]
    async fn statuses_are_sorted_into_passing_and_definite_failures() {
        let endpoint = IdentityEndpoint::start(TokenAnswer::Status(503)).await;
        let env = Arc::new(Rotating(Mutex::new(HashMap::from([
            (IDENTITY_ENDPOINT.to_owned(), endpoint.url()),
            (IDENTITY_HEADER.to_owned(), IDENTITY_HEADER_VALUE.to_owned()),
        ]))));
        let tokens = source(Arc::clone(&env));
        let mut outcomes = Vec::new();
        for answer in [
            TokenAnswer::Status(503),
            TokenAnswer::Status(429),
            TokenAnswer::Status(403),
        ] {
            endpoint.set(answer);
            outcomes.push(tokens.token(unix_now()).await.map(|_| ()));
        }
        env.0
            .lock()
            .expect("env lock")
            .insert(IDENTITY_ENDPOINT.to_owned(), "  ".to_owned());
        outcomes.push(tokens.token(unix_now()).await.map(|_| ()));

        assert_eq!(
            outcomes,
            vec![
                Err(TokenError::Unavailable { status: 503 }),
                Err(TokenError::Unavailable { status: 429 }),
                Err(TokenError::Refused { status: 403 }),
                Err(TokenError::NoIdentity),
            ]
        );
    }

    #[test]
    fn expires_on_is_a_string_of_epoch_seconds() {
        let cases: Vec<(String, Result<u64, TokenError>, &str)> = vec![
            (
                format!(r#"{{"access_token":"t","expires_on":"{}"}}"#, NOW + 3600),
                Ok(NOW + 3600),
                "the protocol's string",
            ),
            (
                format!(r#"{{"access_token":"t","expires_on":{}}}"#, NOW + 60),
                Ok(NOW + 60),
                "a number",
            ),
            (
                r#"{"access_token":"t","expires_in":"600"}"#.to_owned(),
                Ok(NOW + 600),
                "expires_in as a fallback",
            ),
            (
                format!(
                    r#"{{"access_token":"t","expires_on":"{}"}}"#,
                    NOW + 10 * 86_400
                ),
                Ok(NOW + MAX_HOLD.as_secs()),
                "held for a day at most",
            ),
            (
                format!(r#"{{"access_token":"t","expires_on":"{NOW}"}}"#),
                Err(TokenError::Garbage("the token has already expired")),
                "expired",
            ),
            (
                r#"{"access_token":"t","expires_on":"06/20/2019 02:57:58 +00:00"}"#.to_owned(),
                Err(TokenError::Garbage("no expires_on")),
                "the 2017 date form",
            ),
            (
                r#"{"expires_on":"1900000000"}"#.to_owned(),
                Err(TokenError::Garbage("no usable access_token")),
                "no token",
            ),
            (
                r#"{"access_token":"a\nb","expires_on":"1900000000"}"#.to_owned(),
                Err(TokenError::Garbage("no usable access_token")),
                "not a header value",
            ),
            (
                "<html>".to_owned(),
                Err(TokenError::Garbage("not the expected JSON")),
                "not JSON",
            ),
        ];
        for (body, expected, reason) in cases {
            let parsed = parse(body.as_bytes(), NOW).map(|token| token.expires_on);
            assert_eq!(parsed, expected, "{reason}");
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let token = parse(
            br#"{"access_token":"secret-token-value","expires_on":"1900000000"}"#,
            NOW,
        )
        .expect("a token");
        assert_eq!(token.expose(), "secret-token-value");
        assert!(!format!("{token:?}").contains("secret-token-value"));
    }

    #[test]
    fn only_passing_failures_are_transient() {
        assert!(TokenError::Unavailable { status: 503 }.is_transient());
        assert!(TokenError::Transfer(TransferError::Timeout).is_transient());
        assert!(!TokenError::NotAssigned.is_transient());
        assert!(!TokenError::NoIdentity.is_transient());
        assert!(!TokenError::Refused { status: 401 }.is_transient());
    }
}
