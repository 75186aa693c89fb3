//! Matching a function's route the way the Functions host does: `/<routePrefix>/<route>`, where
//! `route` is function.json's template (`orders`, `orders/{id}`, `files/{*path}`), literal
//! segments compared ignoring ASCII case (the host forwards the caller's own spelling of the
//! path), at most one trailing slash, and the methods function.json lists (none: every method).
//!
//! Where two templates match the same path, the host tries the more specific first: segment by
//! segment a literal before a parameter, and a longer template before its prefix
//! (`items/special` before `items/{id}`, `files/a/b` before `files/{*path}`); the app's route
//! tree follows the same order, and only the first route that claims a path and method
//! answers it.
//!
//! [`Route`] is the template and its methods; [`Route::filter`] is the warp filter that matches
//! the path, then the method (a wrong method is a 405, an unknown path a 404, so other routes
//! may still match), and extracts the [`RouteParams`]. A template is checked when the app is
//! built, never per request: an invalid one is a [`RouteError`] that names it.
//!
//! What the host's templates allow and this does not: inline constraints (`{id:int}`), defaults
//! (`{id=1}`) and a parameter sharing a segment with text (`order-{id}`); they are refused by
//! name rather than matched differently from the host.

use std::fmt;
use std::sync::Arc;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::filters::path::FullPath;
use warp::http::Method;

use template::Template;

mod template;

/// The longest template accepted, in bytes (a route is a short path).
pub const MAX_TEMPLATE_BYTES: usize = 512;

/// A function's route template and methods, as its function.json declares them.
///
/// ```ignore
/// Route::get("orders");                                   // GET /api/orders
/// Route::post("orders/{id}");                             // POST /api/orders/42
/// Route::new("orders/{id}").methods([Method::GET, Method::PUT]);
/// Route::new("files/{*path}");                            // every method, any depth
/// ```
///
/// Constructors never fail: a template is checked by [`Route::check`], which the app builder
/// calls for every function before it binds the port.
#[derive(Clone, Debug)]
pub struct Route {
    template: String,
    parsed: Result<Template, RouteError>,
    methods: Vec<Method>,
}

/// The values of a route's parameters in one request, percent-decoded except `%2F`, which
/// stays as sent (the host keeps it encoded in route values). A path with a dot segment
/// (`.`, `..`, `%2E%2E`) matches no route: the host removes them before routing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteParams {
    values: Vec<(Arc<str>, String)>,
}

/// Why a route template cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    #[error("route {template:?}: {reason}")]
    Invalid { template: String, reason: String },
}

// === impl Route ===

impl Route {
    /// A route for every method (function.json without `methods`).
    pub fn new(template: &str) -> Self {
        let template = template.trim_matches('/').to_owned();
        Self {
            parsed: Template::parse(&template).map_err(|reason| RouteError::Invalid {
                template: template.clone(),
                reason,
            }),
            template,
            methods: Vec::new(),
        }
    }

    /// `GET` only.
    pub fn get(template: &str) -> Self {
        Self::new(template).method(Method::GET)
    }

    /// `POST` only.
    pub fn post(template: &str) -> Self {
        Self::new(template).method(Method::POST)
    }

    /// `PUT` only.
    pub fn put(template: &str) -> Self {
        Self::new(template).method(Method::PUT)
    }

    /// `PATCH` only.
    pub fn patch(template: &str) -> Self {
        Self::new(template).method(Method::PATCH)
    }

    /// `DELETE` only.
    pub fn delete(template: &str) -> Self {
        Self::new(template).method(Method::DELETE)
    }

    /// Also answers `method`.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        if !self.methods.contains(&method) {
            self.methods.push(method);
        }
        self
    }

    /// Also answers each of `methods`.
    #[must_use]
    pub fn methods(self, methods: impl IntoIterator<Item = Method>) -> Self {
        methods.into_iter().fold(self, Self::method)
    }

    /// The template without surrounding slashes, e.g. `orders/{id}`.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The methods answered; empty means every method.
    pub fn allowed_methods(&self) -> &[Method] {
        &self.methods
    }

    /// Whether `method` is answered.
    pub fn allows(&self, method: &Method) -> bool {
        self.methods.is_empty() || self.methods.contains(method)
    }

    /// Whether the host would serve this template with these methods the way this route does.
    ///
    /// # Errors
    /// [`RouteError::Invalid`] naming the template and what is wrong with it.
    pub fn check(&self) -> Result<(), RouteError> {
        self.parsed.as_ref().map_err(Clone::clone)?;
        match self
            .methods
            .iter()
            .find(|method| method_filter(method).is_none())
        {
            Some(method) => Err(RouteError::Invalid {
                template: self.template.clone(),
                reason: format!("method {method} is not one the host's function.json accepts"),
            }),
            None => Ok(()),
        }
    }

    /// The parameters when `path` (as received, percent-encoded, without the query) is this
    /// route's under `route_prefix`; the method is not considered. An invalid route matches
    /// nothing.
    pub fn matches(&self, route_prefix: &str, path: &str) -> Option<RouteParams> {
        let template = self.parsed.as_ref().ok()?;
        let values = template.matches(route_prefix, path)?;
        Some(RouteParams { values })
    }

    /// The path this route serves with `params` filled in, percent-encoded: what a request for
    /// it looks like in forwarding mode. `None` when a required parameter has no value.
    pub fn path_with(&self, route_prefix: &str, params: &RouteParams) -> Option<String> {
        let template = self.parsed.as_ref().ok()?;
        template.fill(route_prefix, |name| params.get(name))
    }

    /// The path every request this route serves starts with, as the front end sees it: the
    /// template up to its first parameter under `route_prefix` (`/api/orders/` for
    /// `orders/{id}`, `/api/orders` for `orders`). What the posture check holds against the
    /// site's client-certificate exclusion paths.
    pub fn path_prefix(&self, route_prefix: &str) -> String {
        let literal = match self.template.find('{') {
            Some(index) => &self.template[..index],
            None => self.template.as_str(),
        };
        if route_prefix.is_empty() {
            format!("/{literal}")
        } else {
            format!("/{route_prefix}/{literal}")
        }
    }

    /// The template's shape for comparing routes: literals lower-cased, parameters unnamed
    /// (`orders/{}`); `None` for an invalid template.
    pub(crate) fn shape(&self) -> Option<String> {
        self.parsed.as_ref().ok().map(Template::shape)
    }

    /// The order in which the host tries two routes for a request (see the module doc): the
    /// more specific first. Invalid templates (refused by the builder) compare equal.
    pub(crate) fn precedence(&self, other: &Route) -> std::cmp::Ordering {
        match (&self.parsed, &other.parsed) {
            (Ok(mine), Ok(theirs)) => mine.precedence(theirs),
            _ => std::cmp::Ordering::Equal,
        }
    }

    /// Whether some method is answered by both routes.
    pub(crate) fn shares_a_method_with(&self, other: &Route) -> bool {
        self.methods.is_empty()
            || other.methods.is_empty()
            || self
                .methods
                .iter()
                .any(|method| other.methods.contains(method))
    }

    /// The warp filter for this route under `route_prefix`: the path (404 otherwise), then the
    /// method (405 otherwise), extracting the parameters. Put it first in a function's chain, so
    /// that an unknown URL stays a 404 rather than becoming a 403.
    pub fn filter(&self, route_prefix: &str) -> BoxedFilter<(RouteParams,)> {
        let route = self.clone();
        let route_prefix: Arc<str> = route_prefix.into();
        let path = warp::path::full().and_then(move |path: FullPath| {
            let matched = route.matches(&route_prefix, path.as_str());
            std::future::ready(matched.ok_or_else(warp::reject::not_found))
        });
        path.and(self.method_filter()).boxed()
    }

    /// warp's own method filters, so that a wrong method is warp's 405 rejection, which a
    /// refusal in another route outranks (see `error::handle_rejection`).
    fn method_filter(&self) -> BoxedFilter<()> {
        self.methods
            .iter()
            .filter_map(method_filter)
            .reduce(|either, next| either.or(next).unify().boxed())
            .unwrap_or_else(|| warp::any().boxed())
    }
}

impl fmt::Display for Route {
    /// `GET,POST /orders/{id}`, or `* /orders/{id}` for every method.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.methods.is_empty() {
            f.write_str("*")?;
        }
        for (index, method) in self.methods.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(method.as_str())?;
        }
        write!(f, " /{}", self.template)
    }
}

// === impl RouteParams ===

impl RouteParams {
    /// The value of parameter `name` (names compare ignoring ASCII case, as the host's do);
    /// `None` for an optional parameter the path left out.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every parameter that has a value, in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .map(|(key, value)| (key.as_ref(), value.as_str()))
    }

    /// No parameter has a value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Parameters from name-value pairs (payload mode's `Params`, tests).
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            values: pairs
                .into_iter()
                .map(|(key, value)| (Arc::from(key.as_ref()), value.into()))
                .collect(),
        }
    }
}

// === the host's older helpers ===

/// The path a function is served at in forwarding mode, e.g. `/api/cert-info`.
pub fn function_path(route_prefix: &str, function: &str) -> String {
    if route_prefix.is_empty() {
        format!("/{function}")
    } else {
        format!("/{route_prefix}/{function}")
    }
}

/// A filter that matches exactly the function's path, ignoring ASCII case and one trailing
/// slash; anything else is a 404 rejection, so other routes may still match. (The route of a
/// function whose template is its name; [`Route::filter`] handles any template.)
pub fn function(
    route_prefix: &str,
    function: &str,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone + use<> {
    let expected: std::sync::Arc<str> = function_path(route_prefix, function).into();
    warp::path::full()
        .and_then(move |path: FullPath| {
            let path = path.as_str();
            let path = path.strip_suffix('/').unwrap_or(path);
            let matches = path.eq_ignore_ascii_case(&expected);
            std::future::ready(if matches {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            })
        })
        .untuple_one()
}

fn method_filter(method: &Method) -> Option<BoxedFilter<()>> {
    Some(match *method {
        Method::GET => warp::get().boxed(),
        Method::POST => warp::post().boxed(),
        Method::PUT => warp::put().boxed(),
        Method::PATCH => warp::patch().boxed(),
        Method::DELETE => warp::delete().boxed(),
        Method::HEAD => warp::head().boxed(),
        Method::OPTIONS => warp::options().boxed(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
