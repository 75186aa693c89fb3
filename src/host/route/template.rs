//! A route template parsed into segments, and matching a path against it: what `Route` does
//! without the methods and warp. Pure functions over strings.

use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::MAX_TEMPLATE_BYTES;

/// A parsed, valid template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Template(Arc<[Segment]>);

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

/// Route values: parameter names (as the template spells them) and decoded values.
pub(super) type Values = Vec<(Arc<str>, String)>;

impl Template {
    /// Parses `template` (without surrounding slashes).
    ///
    /// # Errors
    /// What is wrong with it, as a sentence.
    pub(super) fn parse(template: &str) -> Result<Self, String> {
        if template.len() > MAX_TEMPLATE_BYTES {
            return Err(format!("longer than {MAX_TEMPLATE_BYTES} bytes"));
        }
        let first = template.split('/').next().unwrap_or_default();
        if ["admin", "runtime"]
            .iter()
            .any(|reserved| first.eq_ignore_ascii_case(reserved))
        {
            return Err(
                "the host refuses routes that start with admin or runtime (its own routes)"
                    .to_owned(),
            );
        }
        if template.is_empty() {
            return Ok(Self(Arc::from(Vec::new())));
        }
        let parts: Vec<&str> = template.split('/').collect();
        let mut segments: Vec<Segment> = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            let last = index + 1 == parts.len();
            let segment = parse_segment(part)?;
            let trailing_only = matches!(
                segment,
                Segment::CatchAll { .. } | Segment::Param { optional: true, .. }
            );
            if trailing_only && !last {
                return Err(
                    "an optional or catch-all parameter must be the last segment".to_owned(),
                );
            }
            if let Some(name) = segment.name()
                && segments
                    .iter()
                    .filter_map(Segment::name)
                    .any(|other| other.eq_ignore_ascii_case(name))
            {
                return Err(format!("parameter {{{name}}} appears twice"));
            }
            segments.push(segment);
        }
        Ok(Self(Arc::from(segments)))
    }

    /// The route values when `path` (percent-encoded, without the query) is this template's
    /// under `route_prefix`, ignoring one trailing slash.
    pub(super) fn matches(&self, route_prefix: &str, path: &str) -> Option<Values> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        // The host removes dot segments (`%2E` included) before routing: a path that still has
        // one is no route's.
        if path
            .split('/')
            .any(|segment| matches!(decode(segment).as_str(), "." | ".."))
        {
            return None;
        }
        let mut rest = path;
        for expected in route_prefix.split('/').filter(|part| !part.is_empty()) {
            let (segment, tail) = split_first(rest)?;
            if !decode(segment).eq_ignore_ascii_case(expected) {
                return None;
            }
            rest = tail.unwrap_or("");
        }
        match_segments(&self.0, rest)
    }

    /// The path under `route_prefix` with each parameter's value from `value`, encoded; `None`
    /// when a required parameter has none.
    pub(super) fn fill<'a>(
        &self,
        route_prefix: &str,
        value: impl Fn(&str) -> Option<&'a str>,
    ) -> Option<String> {
        let mut path = String::new();
        for part in route_prefix.split('/').filter(|part| !part.is_empty()) {
            path.push('/');
            path.push_str(part);
        }
        for segment in self.0.iter() {
            let filled = match segment {
                Segment::Literal(text) => Some(encode(text)),
                Segment::Param { name, optional } => match value(name) {
                    Some(value) if !value.is_empty() => Some(encode(value)),
                    _ if *optional => None,
                    _ => return None,
                },
                Segment::CatchAll { name } => value(name)
                    .filter(|value| !value.is_empty())
                    .map(|value| value.split('/').map(encode).collect::<Vec<_>>().join("/")),
            };
            if let Some(filled) = filled {
                path.push('/');
                path.push_str(&filled);
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        Some(path)
    }

    /// Which of two templates the host tries first, by its own rule: segment by segment, a
    /// literal before a parameter (two literals in ASCII-case-insensitive order, two
    /// parameters alike); when one template is the other's prefix, the longer first.
    pub(super) fn precedence(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        for (index, mine) in self.0.iter().enumerate() {
            let Some(theirs) = other.0.get(index) else {
                return Ordering::Less;
            };
            let order = match (mine, theirs) {
                (Segment::Literal(a), Segment::Literal(b)) => {
                    a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())
                }
                (Segment::Literal(_), _) => Ordering::Less,
                (_, Segment::Literal(_)) => Ordering::Greater,
                _ => Ordering::Equal,
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        if other.0.len() > self.0.len() {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }

    /// Literals lower-cased, parameters unnamed (`orders/{}`): equal shapes match equal paths.
    pub(super) fn shape(&self) -> String {
        let parts: Vec<String> = self
            .0
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
        parts.join("/")
    }
}

impl Segment {
    fn name(&self) -> Option<&str> {
        match self {
            Self::Param { name, .. } | Self::CatchAll { name } => Some(name),
            Self::Literal(_) => None,
        }
    }
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

fn match_segments(segments: &[Segment], path: &str) -> Option<Values> {
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
            return optional.then_some(values);
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
    rest.is_none().then_some(values)
}

/// The first segment of a path and the rest after its slash; `None` for an empty segment.
fn split_first(path: &str) -> Option<(&str, Option<&str>)> {
    let (first, tail) = match path.split_once('/') {
        Some((first, tail)) => (first, Some(tail)),
        None => (path, None),
    };
    (!first.is_empty()).then_some((first, tail))
}

/// `segment` percent-decoded, except `%2F` (in either case), which stays as sent: the host
/// keeps it encoded in route values (decoding it would change what a path's segments are), so
/// a one-segment parameter never holds a `/`.
fn decode(segment: &str) -> String {
    let mut decoded = String::with_capacity(segment.len());
    let mut rest = segment;
    while let Some(at) = find_encoded_slash(rest) {
        decoded.push_str(&percent_decode_str(&rest[..at]).decode_utf8_lossy());
        decoded.push_str(&rest[at..at + 3]);
        rest = &rest[at + 3..];
    }
    decoded.push_str(&percent_decode_str(rest).decode_utf8_lossy());
    decoded
}

/// Where the first `%2F` or `%2f` of `text` starts.
fn find_encoded_slash(text: &str) -> Option<usize> {
    text.as_bytes().windows(3).position(|window| {
        window[0] == b'%' && window[1] == b'2' && window[2].eq_ignore_ascii_case(&b'f')
    })
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
