//! `AppBuilder`: the built-in functions plus the ones an app adds, checked together and served
//! by one route tree under one rejection handler (see `startup`).
//!
//! Adding a function records its name (the function folder, which payload mode addresses), its
//! [`Route`] and how to build its warp filter once the state exists; nothing is bound or spawned
//! until [`AppBuilder::build`].

use std::fmt;
use std::future::Future;

use warp::Filter;
use warp::Reply;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::protected;
use super::request::{FunctionRequest, parts};
use crate::client_cert::Authorized;
use crate::config::Config;
use crate::host::route::Route;
use crate::startup::{self, App, RouteOptions, StartupError};
use crate::state::AppState;

/// The longest function name the host accepts.
pub const MAX_FUNCTION_NAME_CHARS: usize = 128;

/// A function app being assembled: `App::builder(config)`, then functions, then
/// [`build`](AppBuilder::build).
#[must_use = "an AppBuilder does nothing until it is built"]
pub struct AppBuilder {
    config: Config,
    functions: Vec<Registered>,
    switched_off: Vec<String>,
}

/// A function the app serves: its folder name, its route, and whether it is protected.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    name: String,
    route: Route,
    protected: bool,
}

/// Why the functions cannot be served: every problem, each naming its function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FunctionsError {
    problems: Vec<String>,
}

/// A function as registered: what it is, and how to build its filter from the state.
pub(crate) struct Registered {
    pub(crate) info: FunctionInfo,
    pub(crate) make: MakeFilter,
}

/// Builds a function's filter once the state exists.
pub(crate) type MakeFilter = Box<dyn FnOnce(&AppState) -> BoxedFilter<(Response,)> + Send>;

// === impl App ===

impl App {
    /// A builder holding the built-in functions (`health`, `cert-info` unless
    /// `CERT_INFO_ENABLED=false`, `outbound-mtls`), ready for the app's own.
    pub fn builder(config: Config) -> AppBuilder {
        let builtins = crate::functions::builtins(&RouteOptions::from_config(&config));
        AppBuilder {
            config,
            functions: builtins.functions,
            switched_off: builtins.switched_off,
        }
    }
}

// === impl AppBuilder ===

impl AppBuilder {
    /// Adds a protected function: `route`'s path and method, then the client certificate (a
    /// refused caller gets the same 403 and code as from `cert-info`), then the request (body
    /// read whole, at most [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES)), then `handler`.
    ///
    /// `name` is the function's folder (the one holding its `function.json`); `route` must be
    /// what that function.json declares.
    pub fn function<H, Fut, R>(self, name: &str, route: Route, handler: H) -> Self
    where
        H: Fn(Authorized, FunctionRequest) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Reply + 'static,
    {
        let matcher = route.clone();
        self.filter_function(name, route, move |state: &AppState| {
            matcher
                .filter(&state.route_prefix)
                .and(protected(state))
                .and(parts(state.clone()))
                .then(
                    move |params, caller: Authorized, parts: super::request::Parts| {
                        let handler = handler.clone();
                        async move {
                            handler(caller, parts.with_params(params))
                                .await
                                .into_response()
                        }
                    },
                )
                .boxed()
        })
    }

    /// Adds a function open to every caller, as `health` is: no client certificate is asked
    /// for. Use it only for what anyone on the internet may call.
    pub fn open_function<H, Fut, R>(self, name: &str, route: Route, handler: H) -> Self
    where
        H: Fn(FunctionRequest) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Reply + 'static,
    {
        let matcher = route.clone();
        self.register(FunctionInfo::open(name, route), move |state: &AppState| {
            matcher
                .filter(&state.route_prefix)
                .and(parts(state.clone()))
                .then(move |params, parts: super::request::Parts| {
                    let handler = handler.clone();
                    async move { handler(parts.with_params(params)).await.into_response() }
                })
                .boxed()
        })
    }

    /// Adds a function written as a warp filter, for what the handler form does not cover
    /// (streaming bodies, your own extractors). `make` gets the state and returns the filter,
    /// which must match `route` first (`route.filter(&state.route_prefix)`) and take its caller
    /// from [`protected`]. It counts as protected: the posture check holds its route against
    /// the site's exclusion paths. Rejections reach the one rejection handler: warp's and the
    /// handler's own become JSON errors; any other is a logged 500.
    pub fn filter_function<F>(self, name: &str, route: Route, make: F) -> Self
    where
        F: FnOnce(&AppState) -> BoxedFilter<(Response,)> + Send + 'static,
    {
        self.register(FunctionInfo::new(name, route), make)
    }

    fn register<F>(mut self, info: FunctionInfo, make: F) -> Self
    where
        F: FnOnce(&AppState) -> BoxedFilter<(Response,)> + Send + 'static,
    {
        self.functions.push(Registered {
            info,
            make: Box::new(make),
        });
        self
    }

    /// The configuration the app will run with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The functions added so far, built-in ones first.
    pub fn functions(&self) -> impl Iterator<Item = &FunctionInfo> {
        self.functions.iter().map(|function| &function.info)
    }

    /// Checks every function, builds the state, starts the background tasks (CRL reloading
    /// and fetching, the daily re-check) and binds the port.
    ///
    /// # Errors
    /// [`StartupError::Functions`] listing every invalid route, name or clash;
    /// [`StartupError::Bind`] when the port cannot be bound; the others when a client that
    /// startup builds cannot be.
    pub async fn build(self) -> Result<App, StartupError> {
        self.check()?;
        startup::start(&self.config, self.functions, &self.switched_off).await
    }

    fn check(&self) -> Result<(), FunctionsError> {
        let mut problems = Vec::new();
        for (index, function) in self.functions.iter().enumerate() {
            let info = &function.info;
            if let Some(problem) = name_problem(&info.name) {
                problems.push(format!("function {:?}: {problem}", info.name));
            }
            if let Err(error) = info.route.check() {
                problems.push(format!("function {}: {error}", info.name));
            }
            for earlier in &self.functions[..index] {
                let earlier = &earlier.info;
                if earlier.name.eq_ignore_ascii_case(&info.name) {
                    problems.push(format!("function {}: added twice", info.name));
                } else if earlier.route.shape().is_some()
                    && earlier.route.shape() == info.route.shape()
                    && earlier.route.shares_a_method_with(&info.route)
                {
                    problems.push(format!(
                        "functions {} and {} both serve {}: give them different routes or methods",
                        earlier.name, info.name, info.route
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FunctionsError { problems })
        }
    }
}

/// What is wrong with a function name, by the host's rule: a letter, then letters, digits,
/// `_` or `-`, at most 128 characters.
fn name_problem(name: &str) -> Option<&'static str> {
    let starts_with_letter = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !starts_with_letter || !rest_valid {
        Some("a function name is a letter, then letters, digits, _ or - (the host's rule)")
    } else if name.len() > MAX_FUNCTION_NAME_CHARS {
        Some("a function name is at most 128 characters (the host's rule)")
    } else {
        None
    }
}

// === impl FunctionInfo ===

impl FunctionInfo {
    /// A protected function: its caller comes from [`protected`].
    pub(crate) fn new(name: &str, route: Route) -> Self {
        Self {
            name: name.to_owned(),
            route,
            protected: true,
        }
    }

    /// A function open to every caller, as `health` is.
    pub(crate) fn open(name: &str, route: Route) -> Self {
        Self {
            protected: false,
            ..Self::new(name, route)
        }
    }

    /// Whether the function asks for a client certificate (everything but `health` and
    /// [`AppBuilder::open_function`]s): the posture check holds these routes against the
    /// site's exclusion paths.
    pub fn is_protected(&self) -> bool {
        self.protected
    }

    /// The function's name: its folder, and payload mode's `POST /<name>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its route template and methods.
    pub fn route(&self) -> &Route {
        &self.route
    }
}

impl fmt::Display for FunctionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.route)
    }
}

// === impl FunctionsError ===

impl FunctionsError {
    /// Every problem found, one sentence each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for FunctionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the functions cannot be served ({} problem(s)):",
            self.problems.len()
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}
