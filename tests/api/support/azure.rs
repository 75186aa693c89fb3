//! Azure on loopback, for the posture check: an identity endpoint that speaks App Service's
//! managed-identity protocol over plain HTTP (and refuses a request without the right header
//! and query), and an ARM over HTTPS that answers per site id with settings, a status, garbage,
//! a stall, a huge body or another resource's id. A test switches answers while the handler
//! runs, and reads what each server was sent.
//!
//! Self-contained (tokio, hyper, rustls, serde_json) so that the library's unit tests can
//! include it too: `#[path = "../../tests/api/support/azure.rs"]`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// The header value the identity endpoint requires in `X-IDENTITY-HEADER`.
pub const IDENTITY_HEADER_VALUE: &str = "identity-header-secret-value";

/// One request a server was sent.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
}

impl Seen {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

type Body = BoxBody<Bytes, Infallible>;
type Answer = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// What a server sends back to one request.
enum Reply {
    Json(u16, Value),
    /// A body of this many bytes, streamed without `Content-Length`.
    Huge(usize),
    Stall,
}

/// A loopback HTTP(S) server answering with `answer`; stops when dropped.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(tls: Option<TlsAcceptor>, answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            // Dropped with the task: every connection, stalled ones included, ends with it.
            let mut connections = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let (tls, answer, recorded) = (tls.clone(), answer.clone(), recorded.clone());
                connections.spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let seen = record(&request);
                        recorded.lock().expect("seen lock").push(seen.clone());
                        let reply = answer(&seen);
                        async move { Ok::<_, Infallible>(respond(reply).await) }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                http.serve_connection(TokioIo::new(stream), service)
                                    .await
                                    .ok();
                            }
                        }
                        None => {
                            http.serve_connection(TokioIo::new(tcp), service).await.ok();
                        }
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Self { addr, seen, task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn record(request: &Request<Incoming>) -> Seen {
    let query = request
        .uri()
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    Seen {
        path: request.uri().path().to_owned(),
        query,
        headers,
    }
}

async fn respond(reply: Reply) -> Response<Body> {
    let (status, body) = match reply {
        Reply::Json(status, value) => (status, Full::new(Bytes::from(value.to_string())).boxed()),
        Reply::Huge(size) => {
            let chunks = (0..size.div_ceil(8192)).map(move |index| {
                let length = 8192.min(size - index * 8192);
                Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b' '; length])))
            });
            (
                200,
                StreamBody::new(futures_util::stream::iter(chunks)).boxed(),
            )
        }
        Reply::Stall => {
            std::future::pending::<()>().await;
            unreachable!("a stalled answer never completes")
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// What the identity endpoint answers to a well-formed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAnswer {
    /// A token valid for this long, `expires_on` a string of epoch seconds as the platform sends.
    Token {
        valid_for: Duration,
    },
    Status(u16),
}

/// App Service's managed-identity endpoint.
pub struct IdentityEndpoint {
    server: Server,
    answer: Arc<Mutex<TokenAnswer>>,
}

impl IdentityEndpoint {
    /// Answers `answer`; a request without `X-IDENTITY-HEADER: IDENTITY_HEADER_VALUE`,
    /// `api-version=2019-08-01` or a `resource` gets a 400, as the platform's does.
    pub async fn start(answer: TokenAnswer) -> Self {
        let answer = Arc::new(Mutex::new(answer));
        let current = Arc::clone(&answer);
        let issued = Arc::new(Mutex::new(0u64));
        let server = Server::start(
            None,
            Arc::new(move |seen: &Seen| {
                let well_formed = seen.headers.get("x-identity-header").map(String::as_str)
                    == Some(IDENTITY_HEADER_VALUE)
                    && seen.query("api-version") == Some("2019-08-01")
                    && seen
                        .query("resource")
                        .is_some_and(|resource| !resource.is_empty());
                if !well_formed {
                    return Reply::Json(400, json!({"statusCode": 400, "message": "bad request"}));
                }
                match *current.lock().expect("answer lock") {
                    TokenAnswer::Status(status) => {
                        Reply::Json(status, json!({"statusCode": status, "message": "failed"}))
                    }
                    TokenAnswer::Token { valid_for } => {
                        let mut count = issued.lock().expect("issued lock");
                        *count += 1;
                        let expires_on = unix_now() + valid_for.as_secs();
                        Reply::Json(
                            200,
                            json!({
                                "access_token": format!("token-{}", *count),
                                "expires_on": expires_on.to_string(),
                                "resource": seen.query("resource"),
                                "token_type": "Bearer",
                                "client_id": seen.query("client_id"),
                            }),
                        )
                    }
                }
            }),
        )
        .await;
        Self { server, answer }
    }

    /// `http://127.0.0.1:<port>/msi/token`, the value of `IDENTITY_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}/msi/token", self.server.addr)
    }

    pub fn set(&self, answer: TokenAnswer) {
        *self.answer.lock().expect("answer lock") = answer;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.server.seen.lock().expect("seen lock").clone()
    }
}

/// What ARM answers for one site.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmAnswer {
    /// The site with these `properties`, and `config/web` with these.
    Site {
        properties: Value,
        web: Value,
    },
    Status(u16),
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with a body of this many bytes, streamed without `Content-Length`.
    Huge(usize),
    /// Reads the request and never answers.
    Stall,
    /// A well-formed site whose `id` is another site's.
    WrongId,
}

impl ArmAnswer {
    /// A site that requires a certificate everywhere, over HTTPS only, on HTTP/1.1.
    pub fn safe() -> Self {
        Self::Site {
            properties: json!({
                "clientCertEnabled": true,
                "clientCertMode": "Required",
                "clientCertExclusionPaths": null,
                "httpsOnly": true,
                "state": "Running",
            }),
            web: json!({ "http20Enabled": false, "minTlsVersion": "1.2" }),
        }
    }

    /// The safe site with `changes` applied to its properties.
    pub fn safe_with(changes: &[(&str, Value)]) -> Self {
        Self::safe_edited(|properties| {
            for (name, value) in changes {
                properties[*name] = value.clone();
            }
        })
    }

    /// The safe site without the property `name`.
    pub fn safe_without(name: &str) -> Self {
        Self::safe_edited(|properties| {
            properties.as_object_mut().expect("an object").remove(name);
        })
    }

    fn safe_edited(edit: impl FnOnce(&mut Value)) -> Self {
        let Self::Site {
            mut properties,
            web,
        } = Self::safe()
        else {
            unreachable!("safe() is a site");
        };
        edit(&mut properties);
        Self::Site { properties, web }
    }
}

/// Azure Resource Manager, over HTTPS, answering per site id (case-insensitively, as ARM does).
pub struct Arm {
    server: Server,
    sites: Arc<Mutex<HashMap<String, ArmAnswer>>>,
}

impl Arm {
    /// Serves with `acceptor`'s certificate; every site is unknown (404) until [`Arm::set`].
    pub async fn start(acceptor: TlsAcceptor) -> Self {
        let sites: Arc<Mutex<HashMap<String, ArmAnswer>>> = Arc::default();
        let known = Arc::clone(&sites);
        let server = Server::start(
            Some(acceptor),
            Arc::new(move |seen: &Seen| {
                let authorized = seen
                    .headers
                    .get("authorization")
                    .is_some_and(|value| value.starts_with("Bearer token-"));
                if !authorized {
                    return Reply::Json(
                        401,
                        json!({"error": {"code": "InvalidAuthenticationToken"}}),
                    );
                }
                let path = seen.path.to_lowercase();
                let (site, web) = match path.strip_suffix("/config/web") {
                    Some(site) => (site.to_owned(), true),
                    None => (path.clone(), false),
                };
                let answer = known.lock().expect("sites lock").get(&site).cloned();
                match answer {
                    None => Reply::Json(404, json!({"error": {"code": "ResourceNotFound"}})),
                    Some(answer) => site_reply(answer, &seen.path, web),
                }
            }),
        )
        .await;
        Self { server, sites }
    }

    /// `https://127.0.0.1:<port>/`, the value of `CLIENT_CERT_POSTURE_ARM_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("https://{}/", self.server.addr)
    }

    /// What ARM answers for `site` (its resource id) from now on.
    pub fn set(&self, site: &str, answer: ArmAnswer) {
        self.sites
            .lock()
            .expect("sites lock")
            .insert(site.to_lowercase(), answer);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.server.seen.lock().expect("seen lock").clone()
    }

    /// Requests received so far for `site` itself (not its `config/web`).
    pub fn site_reads(&self, site: &str) -> usize {
        self.requests()
            .iter()
            .filter(|seen| seen.path.eq_ignore_ascii_case(site))
            .count()
    }
}

fn site_reply(answer: ArmAnswer, path: &str, web: bool) -> Reply {
    match answer {
        ArmAnswer::Site {
            properties,
            web: web_properties,
        } => {
            let properties = if web { web_properties } else { properties };
            Reply::Json(
                200,
                json!({ "id": path, "name": "app", "properties": properties }),
            )
        }
        ArmAnswer::Status(status) => Reply::Json(status, json!({"error": {"code": "Failed"}})),
        ArmAnswer::Garbage => Reply::Json(200, json!("<html>maintenance</html>")),
        ArmAnswer::Huge(size) => Reply::Huge(size),
        ArmAnswer::Stall => Reply::Stall,
        ArmAnswer::WrongId => Reply::Json(
            200,
            json!({ "id": format!("{path}-other"), "properties": {
                "clientCertEnabled": true, "clientCertMode": "Required", "httpsOnly": true
            }}),
        ),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
