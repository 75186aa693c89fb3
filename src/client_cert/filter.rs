//! The warp filter shared by every protected function: every occurrence of the certificate
//! header in, an [`Authorized`] out, or a rejection carrying [`Denied`](super::Denied). The only part of
//! `client_cert` that knows warp; the decision itself is [`Authenticator::lookup`] (cheap: the
//! header and the cache, on the async worker) and, for a certificate the cache does not know,
//! [`Authenticator::decide_cold`] behind [`Authenticator::gate`].

use std::sync::Arc;

use rustls_pki_types::UnixTime;
use warp::Filter;
use warp::http::HeaderMap;
use warp::http::header::HeaderName;

use super::gate::GateError;
use super::{Authenticator, Authorized, Lookup};
use crate::error::ApiError;

/// Extracts the caller's [`Authorized`] identity, or rejects with `ApiError::Denied`
/// (`ApiError::Busy` when too many cold decisions are waiting).
pub fn client_cert(
    authenticator: Arc<Authenticator>,
) -> impl Filter<Extract = (Authorized,), Error = warp::Rejection> + Clone {
    let header = HeaderName::from_bytes(authenticator.header_name().as_bytes())
        .expect("CLIENT_CERT_HEADER was validated as a header name at startup");
    warp::header::headers_cloned().and_then(move |headers: HeaderMap| {
        // The cheap part now, so that a request waiting for the gate holds its certificate's
        // DER only, not a copy of every header it sent.
        let values: Vec<&[u8]> = headers
            .get_all(&header)
            .iter()
            .map(|value| value.as_bytes())
            .collect();
        let lookup = authenticator.lookup(&values, UnixTime::now());
        drop(values);
        drop(headers);
        let authenticator = Arc::clone(&authenticator);
        async move {
            let decision = decide(Arc::clone(&authenticator), lookup).await;
            // A refusal (or 503 busy) whose code is over the log rate (a flood) waits before it
            // is sent (CLIENT_CERT_FLOOD_PAUSE_MS): a flood's connection then sends a couple of
            // requests a second, so hundreds of them cannot keep the async workers busy with
            // answers and hold cached callers back. The wait holds no permit, lock or
            // certificate: only the connection.
            if let Err(error @ (ApiError::Denied(_) | ApiError::Busy)) = &decision
                && !authenticator.flood_pause.is_zero()
                && authenticator.refusal_lines.is_over(error.code())
            {
                tokio::time::sleep(authenticator.flood_pause).await;
            }
            decision.map_err(warp::reject::custom)
        }
    })
}

async fn decide(authenticator: Arc<Authenticator>, lookup: Lookup) -> Result<Authorized, ApiError> {
    let request = match lookup {
        Lookup::Decided(decision) => return decision.map_err(ApiError::Denied),
        Lookup::Cold(request) => request,
    };
    let cold = Arc::clone(&authenticator);
    let (lane, held_bytes) = (request.lane(), request.held_bytes());
    match authenticator
        .gate
        .run(lane, held_bytes, move || cold.decide_cold(request))
        .await
    {
        Ok(decision) => decision.map_err(ApiError::Denied),
        Err(error @ GateError::Busy(_)) => {
            if authenticator.refusal_lines.admit("busy") {
                tracing::warn!(code = "busy", detail = %error, "client certificate not checked");
            }
            Err(ApiError::Busy)
        }
        Err(error @ GateError::Failed) => {
            tracing::error!(%error, "client certificate check failed");
            Err(ApiError::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::client_cert::Denied;
    use crate::client_cert::Settings;
    use crate::client_cert::gate::Lane;
    use crate::client_cert::test_pki::{BASE, Ca, DAY, Leaf};
    use crate::client_cert::trust::TrustedCa;
    use crate::state::AppState;

    const ALLOWED: &str = "client.example";

    /// Offsets in the test PKI are from `BASE`; the filter uses the real clock.
    fn valid_now(leaf: Leaf) -> Leaf {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let offset = i64::try_from(now - BASE).expect("small offset");
        leaf.valid(offset - DAY, offset + DAY)
    }

    fn authenticator(root: &Ca) -> Arc<Authenticator> {
        let anchor = TrustedCa::from_der(&root.der.clone().into()).expect("test CA is an anchor");
        Arc::new(Authenticator::new(&Settings {
            trusted_cas: vec![anchor],
            common_names: vec![ALLOWED.to_owned()],
            ..Settings::default()
        }))
    }

    #[tokio::test]
    async fn an_allowlisted_certificate_is_extracted_as_authorized() {
        let root = Ca::root("Test Root CA");
        let der = root.issue(&valid_now(Leaf::cn(ALLOWED)));
        let authorized = warp::test::request()
            .header("x-arr-clientcert", STANDARD.encode(&der))
            .filter(&client_cert(authenticator(&root)))
            .await
            .expect("the filter extracts the identity");
        assert_eq!(authorized.cert.common_name.as_deref(), Some(ALLOWED));
        assert_eq!(authorized.matched_rule, "common_name");
    }

    #[test]
    fn a_certificate_no_configured_ca_issued_is_refused_by_the_lookup_not_the_gate() {
        let root = Ca::root("Test Root CA");
        let authenticator = authenticator(&root);
        let stranger = STANDARD.encode(valid_now(Leaf::cn(ALLOWED)).self_signed());
        let issued = STANDARD.encode(root.issue(&valid_now(Leaf::cn("someone.example"))));

        let refused = authenticator.lookup(&[stranger.as_bytes()], UnixTime::now());
        let cold = authenticator.lookup(&[issued.as_bytes()], UnixTime::now());

        assert!(
            matches!(&refused, Lookup::Decided(Err(denied)) if denied.code() == "cert_untrusted"),
            "decided without a permit: {refused:?}"
        );
        assert!(
            matches!(&cold, Lookup::Cold(request) if request.lane() == Lane::Unlikely),
            "a configured issuer needs the full decision: {cold:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_over_the_log_rate_are_answered_after_a_pause() {
        const PAUSE: std::time::Duration =
            std::time::Duration::from_millis(crate::client_cert::settings::DEFAULT_FLOOD_PAUSE_MS);
        let root = Ca::root("Test Root CA");
        let filter = client_cert(authenticator(&root));
        let stranger = STANDARD.encode(valid_now(Leaf::cn(ALLOWED)).self_signed());
        let allowed = STANDARD.encode(root.issue(&valid_now(Leaf::cn(ALLOWED))));
        let took = |header: String| {
            let filter = filter.clone();
            async move {
                let started = tokio::time::Instant::now();
                let result = warp::test::request()
                    .header("X-ARR-ClientCert", header)
                    .filter(&filter)
                    .await;
                (result.is_ok(), started.elapsed())
            }
        };
        for n in 1..=10 {
            let (admitted, elapsed) = took(stranger.clone()).await;
            assert!(!admitted);
            assert!(elapsed < PAUSE, "refusal {n} is answered at once");
        }
        let (admitted, elapsed) = took(stranger.clone()).await;
        assert!(!admitted);
        assert!(elapsed >= PAUSE, "the 11th waits: {elapsed:?}");
        let (admitted, elapsed) = took(allowed).await;
        assert!(admitted);
        assert!(elapsed < PAUSE, "an accept never waits: {elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_pause_every_refusal_is_answered_at_once() {
        let root = Ca::root("Test Root CA");
        let anchor = TrustedCa::from_der(&root.der.clone().into()).expect("an anchor");
        let filter = client_cert(Arc::new(Authenticator::new(&Settings {
            trusted_cas: vec![anchor],
            flood_pause: std::time::Duration::ZERO,
            ..Settings::default()
        })));
        let stranger = STANDARD.encode(valid_now(Leaf::cn(ALLOWED)).self_signed());
        let started = tokio::time::Instant::now();
        for _ in 0..20 {
            let request = warp::test::request().header("X-ARR-ClientCert", &stranger);
            assert!(request.filter(&filter).await.is_err());
        }
        assert_eq!(
            started.elapsed(),
            std::time::Duration::ZERO,
            "no pause at all"
        );
    }

    #[tokio::test]
    async fn a_missing_header_is_a_denied_rejection() {
        let root = Ca::root("Test Root CA");
        let rejection = warp::test::request()
            .filter(&client_cert(authenticator(&root)))
            .await
            .expect_err("no header, no identity");
        assert!(matches!(
            rejection.find::<ApiError>(),
            Some(ApiError::Denied(Denied::Missing))
        ));
    }

    // warp::test replaces a repeated header, so two header lines are tested end to end
    // (tests/api/auth.rs); a comma-joined value is how payload mode delivers repeats.
    #[tokio::test]
    async fn a_comma_joined_header_is_refused_as_ambiguous() {
        let root = Ca::root("Test Root CA");
        let header = STANDARD.encode(root.issue(&valid_now(Leaf::cn(ALLOWED))));
        let rejection = warp::test::request()
            .header("X-ARR-ClientCert", format!("{header},{header}"))
            .filter(&client_cert(authenticator(&root)))
            .await
            .expect_err("a repeated header is refused");
        let code = rejection.find::<ApiError>().map(ApiError::code);
        assert_eq!(code, Some("cert_ambiguous"));
    }

    #[tokio::test]
    async fn the_route_tree_answers_refusals_as_json() {
        let root = Ca::root("Test Root CA");
        let options = crate::startup::RouteOptions {
            cert_info: true,
            payload_mode: true,
            outbound_mtls: true,
        };
        let routes =
            crate::startup::routes(AppState::new("api", authenticator(&root), None), options);
        let stranger = STANDARD.encode(root.issue(&valid_now(Leaf::cn("stranger.example"))));
        for (header, status, code, reason) in [
            (None, 403, "cert_missing", "no header"),
            (Some("%%%"), 400, "cert_malformed", "not base64"),
            (
                Some(stranger.as_str()),
                403,
                "cert_not_allowed",
                "not allowlisted",
            ),
        ] {
            let mut request = warp::test::request().path("/api/cert-info");
            if let Some(header) = header {
                request = request.header("X-ARR-ClientCert", header);
            }
            let response = request.reply(&routes).await;
            assert_eq!(response.status(), status, "{reason}");
            let body: serde_json::Value =
                serde_json::from_slice(response.body()).expect("JSON body");
            assert_eq!(body["code"], code, "{reason}");
        }
    }
}
