//! `AppState`: what every function handler may use, built once at startup and shared by
//! cloning (it is a handful of `Arc`s).

use std::convert::Infallible;
use std::sync::Arc;

use warp::Filter;

use crate::client_cert::Authenticator;
use crate::outbound::OutboundClient;
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
    /// The one outbound client, when an identity and `REMOTE_API_URL` are configured.
    pub outbound: Option<OutboundClient>,
    /// The front end's posture, which every protected request passes before its certificate
    /// is judged (off unless [`AppState::with_posture`] says otherwise).
    pub posture: Arc<Posture>,
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
}

/// Injects a clone of the state into a route, after its path, method and auth filters.
pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}
