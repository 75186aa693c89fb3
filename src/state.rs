//! `AppState`: what every function handler may use, built once at startup and shared by
//! cloning (it is a handful of `Arc`s).

use std::convert::Infallible;
use std::sync::Arc;

use warp::Filter;

use crate::client_cert::Authenticator;
use crate::config::outbound::{CLIENT_CERT_PATH, REMOTE_API_URL};
use crate::outbound::{OutboundClient, Reason, Unavailable};
use crate::posture::Posture;

/// Shared, read-only state of the running handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The crate version, reported by `health`.
    pub version: &'static str,
    /// `extensions.http.routePrefix` from host.json, without slashes.
    pub route_prefix: Arc<str>,
    /// Decides on the forwarded client certificate of every protected request.
    pub authenticator: Arc<Authenticator>,
    /// The one outbound client, when any outbound setting is set (see [`AppState::outbound`]).
    outbound: Option<OutboundClient>,
    /// The front end's posture, which every protected request passes before its certificate
    /// is judged (off unless [`AppState::with_posture`] says otherwise).
    pub(crate) posture: Arc<Posture>,
}

impl AppState {
    /// State for a handler whose routes live under `route_prefix`.
    pub(crate) fn new(
        route_prefix: &str,
        authenticator: Arc<Authenticator>,
        outbound: Option<OutboundClient>,
    ) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            route_prefix: Arc::from(route_prefix),
            authenticator,
            outbound,
            posture: Arc::new(Posture::off()),
        }
    }

    /// The same state with protected routes gated on `posture`.
    #[must_use]
    pub(crate) fn with_posture(mut self, posture: Arc<Posture>) -> Self {
        self.posture = posture;
        self
    }

    /// The outbound mutual-TLS client, for calls of your own: it presents the configured
    /// client identity and follows its renewals (see [`OutboundClient::request`]).
    ///
    /// # Errors
    /// [`Unavailable`] when outbound is not configured, or no identity is loaded right now
    /// (not there yet, a wrong password, expired...): its [`Unavailable::code`] is the 503
    /// code to answer with (`ApiError::from` does that), its message is for the log.
    pub fn outbound(&self) -> Result<&OutboundClient, Unavailable> {
        let client = self.outbound.as_ref().ok_or_else(not_configured)?;
        client.status().map(|_| client)
    }

    /// The outbound client whatever its state, for `health` and the demo (`None`: outbound is
    /// not configured).
    pub(crate) fn outbound_client(&self) -> Option<&OutboundClient> {
        self.outbound.as_ref()
    }
}

/// Outbound is off: no setting asks for it.
pub(crate) fn not_configured() -> Unavailable {
    Unavailable::new(
        Reason::NotConfigured,
        CLIENT_CERT_PATH,
        format!(
            "no outbound client identity is configured: set {CLIENT_CERT_PATH} (or another identity setting) and {REMOTE_API_URL}"
        ),
        false,
    )
}

/// Injects a clone of the state into a route, after its path, method and auth filters.
pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}
