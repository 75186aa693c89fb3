//! Matching a function's route the way the Functions host does: `/<routePrefix>/<route>`, where
//! `route` is function.json's template (`orders`, `orders/{id}`, `files/{*path}`), literal
//! segments compared ignoring ASCII case (the host forwards the caller's own spelling of the
//! path), at most one trailing slash, and the methods function.json lists (none: every method).
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

use percent_encoding::percent_decode_str;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::filters::path::FullPath;
use warp::http::Method;

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
    parsed: Result<Arc<[Segment]>, RouteError>,
    methods: Vec<Method>,
}

/// The values of a route's parameters in one request, percent-decoded.
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

/// One segment of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`, or `{name?}` when optional (last segment only).
    Param {
        name: Arc<str>,
        optional: bool,
    },
    /// `{*name}`: the rest of the path, possibly empty (last segment only).
    CatchAll {
        name: Arc<str>,
    },
}

// === impl Route ===

impl Route {
    /// A route for every method (function.json without `methods`).
    pub fn new(template: &str) -> Self {
        let template = template.trim_matches('/').to_owned();
        Self {
            parsed: parse(&template),
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
            Some(method) => Err(invalid(
                &self.template,
                &format!("method {method} is not one the host's function.json accepts"),
            )),
            None => Ok(()),
        }
    }

    /// The parameters when `path` (as received, percent-encoded, without the query) is this
    /// route's under `route_prefix`; the method is not considered. An invalid route matches
    /// nothing.
    pub fn matches(&self, route_prefix: &str, path: &str) -> Option<RouteParams> {
        let segments = self.parsed.as_ref().ok()?;
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut rest = path;
        for expected in route_prefix.split('/').filter(|part| !part.is_empty()) {
            let (segment, tail) = split_first(rest)?;
            if !decode(segment).eq_ignore_ascii_case(expected) {
                return None;
            }
            rest = tail.unwrap_or("");
        }
        match_segments(segments, rest)
    }

    /// The path this route serves with `params` filled in, percent-encoded: what a request for
    /// it looks like in forwarding mode. `None` when a required parameter has no value.
    pub fn path_with(&self, route_prefix: &str, params: &RouteParams) -> Option<String> {
        let segments = self.parsed.as_ref().ok()?;
        let mut path = String::new();
        for part in route_prefix.split('/').filter(|part| !part.is_empty()) {
            path.push('/');
            path.push_str(part);
        }
        for segment in segments.iter() {
            let value = match segment {
                Segment::Literal(text) => Some(encode(text)),
                Segment::Param { name, optional } => match params.get(name) {
                    Some(value) if !value.is_empty() => Some(encode(value)),
                    _ if *optional => None,
                    _ => return None,
                },
                Segment::CatchAll { name } => params
                    .get(name)
                    .filter(|value| !value.is_empty())
                    .map(|value| value.split('/').map(encode).collect::<Vec<_>>().join("/")),
            };
            if let Some(value) = value {
                path.push('/');
                path.push_str(&value);
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        Some(path)
    }

    /// The template's shape for comparing routes: literals lower-cased, parameters unnamed
    /// (`orders/{}`); `None` for an invalid template.
    pub(crate) fn shape(&self) -> Option<String> {
        let segments = self.parsed.as_ref().ok()?;
        let parts: Vec<String> = segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(text) => text.to_ascii_lowercase(),
                Segment::Param {
                    optional: false, ..
                } => "{}".to_owned(),
                Segment::Param { optional: true, .. } => "{?}".to_owned(),
                Segment::CatchAll { .. } => "{*}".to_owned(),
            })
            .collect();
        Some(parts.join("/"))
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

// === parsing and matching ===

fn invalid(template: &str, reason: &str) -> RouteError {
    RouteError::Invalid {
        template: template.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse(template: &str) -> Result<Arc<[Segment]>, RouteError> {
    let fail = |reason: &str| invalid(template, reason);
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(fail(&format!("longer than {MAX_TEMPLATE_BYTES} bytes")));
    }
    let first = template.split('/').next().unwrap_or_default();
    if ["admin", "runtime"]
        .iter()
        .any(|reserved| first.eq_ignore_ascii_case(reserved))
    {
        return Err(fail(
            "the host refuses routes that start with admin or runtime (its own routes)",
        ));
    }
    if template.is_empty() {
        return Ok(Arc::from(Vec::new()));
    }
    let parts: Vec<&str> = template.split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let last = index + 1 == parts.len();
        let segment = parse_segment(part).map_err(|reason| fail(&reason))?;
        let trailing_only = matches!(
            segment,
            Segment::CatchAll { .. } | Segment::Param { optional: true, .. }
        );
        if trailing_only && !last {
            return Err(fail(
                "an optional or catch-all parameter must be the last segment",
            ));
        }
        if let Segment::Param { name, .. } | Segment::CatchAll { name } = &segment {
            let seen = segments.iter().any(|earlier: &Segment| match earlier {
                Segment::Param { name: other, .. } | Segment::CatchAll { name: other } => {
                    other.eq_ignore_ascii_case(name)
                }
                Segment::Literal(_) => false,
            });
            if seen {
                return Err(fail(&format!("parameter {{{name}}} appears twice")));
            }
        }
        segments.push(segment);
    }
    Ok(Arc::from(segments))
}

fn parse_segment(part: &str) -> Result<Segment, String> {
    if part.is_empty() {
        return Err("an empty segment (two slashes in a row)".to_owned());
    }
    let Some(inner) = part
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
    else {
        if part.contains(['{', '}']) {
            return Err(format!(
                "segment {part:?}: a parameter must be a whole segment, like {{id}}"
            ));
        }
        if part.contains(['?', '#', '%']) {
            return Err(format!(
                "segment {part:?}: write literal segments unencoded, without ? # or %"
            ));
        }
        return Ok(Segment::Literal(part.to_owned()));
    };
    if inner.contains([':', '=']) {
        return Err(format!(
            "parameter {part}: constraints and defaults are not supported; check the value in the handler"
        ));
    }
    let (name, catch_all, optional) = if let Some(name) = inner.strip_prefix("**") {
        (name, true, false)
    } else if let Some(name) = inner.strip_prefix('*') {
        (name, true, false)
    } else if let Some(name) = inner.strip_suffix('?') {
        (name, false, true)
    } else {
        (inner, false, false)
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "parameter {part}: a name is letters, digits and _, starting with a letter"
        ));
    }
    let name: Arc<str> = Arc::from(name);
    Ok(if catch_all {
        Segment::CatchAll { name }
    } else {
        Segment::Param { name, optional }
    })
}

fn match_segments(segments: &[Segment], path: &str) -> Option<RouteParams> {
    let mut values = Vec::new();
    let mut rest = Some(path).filter(|path| !path.is_empty());
    for segment in segments {
        if let Segment::CatchAll { name } = segment {
            if let Some(tail) = rest.take() {
                values.push((Arc::clone(name), decode(tail)));
            }
            break;
        }
        let Some(current) = rest else {
            // The path ended: only an optional parameter (always the last) may be left out.
            let optional = matches!(segment, Segment::Param { optional: true, .. });
            return optional.then_some(RouteParams { values });
        };
        let (part, tail) = split_first(current)?;
        match segment {
            Segment::Literal(text) => {
                if !decode(part).eq_ignore_ascii_case(text) {
                    return None;
                }
            }
            Segment::Param { name, .. } => values.push((Arc::clone(name), decode(part))),
            Segment::CatchAll { .. } => {}
        }
        rest = tail;
    }
    rest.is_none().then_some(RouteParams { values })
}

/// The first segment of a path and the rest after its slash; `None` for an empty segment.
fn split_first(path: &str) -> Option<(&str, Option<&str>)> {
    let (first, tail) = match path.split_once('/') {
        Some((first, tail)) => (first, Some(tail)),
        None => (path, None),
    };
    (!first.is_empty()).then_some((first, tail))
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn encode(value: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
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
#[path = "route_tests.rs"]
mod tests;
