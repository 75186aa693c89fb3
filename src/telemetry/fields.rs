//! The plain format's field formatter: tracing-subscriber's layout (`name=value`, the message
//! bare, spaces between), with every value passed through [`super::escape::escape`],
//! span fields (the request path) included. Strings are written without Rust's Debug escaping,
//! so a subject reads as its RFC 4514 text; a value holding whitespace, `=`, `"` or `\` is
//! quoted (`subject="CN=a b"`, see [`plain_value`]) so a caller cannot add fields of its own.
//! The message is written bare: it is the handler's own text.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

use super::escape::{escape, plain_value};

/// Formats fields as `name=value`, values escaped (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

/// The visitor [`EscapedFields`] makes for one event or span.
pub struct EscapedVisitor<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl<'a> MakeVisitor<Writer<'a>> for EscapedFields {
    type Visitor = EscapedVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        EscapedVisitor {
            writer: target,
            is_empty: true,
            result: Ok(()),
        }
    }
}

impl EscapedVisitor<'_> {
    fn write_value(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        self.result = match field.name() {
            "message" => write!(self.writer, "{separator}{}", escape(value)),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(self.writer, "{separator}{name}={}", plain_value(value))
            }
        };
    }
}

impl Visit for EscapedVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write_value(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.write_value(field, &text);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        if write!(text, "{value:?}").is_err() {
            text = "<unprintable>".to_owned();
        }
        self.write_value(field, &text);
    }
}

impl VisitOutput<fmt::Result> for EscapedVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for EscapedVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}
