//! Escaping of caller-controlled text for log lines: a caller must not be able to start a line
//! of its own (newline, CR, Unicode line and paragraph separators), move the terminal (ESC and
//! the other C0/C1 controls), or reorder what a reader sees (bidirectional overrides).
//!
//! Applied to every field of every line by the plain formatter (`fields.rs`), which also quotes
//! a value that could read as more than one field ([`plain_value`]); the JSON writer
//! (`writer.rs`) adds what serde_json leaves raw. In a bare value backslashes are kept as they
//! are: the point is one event, one line, one field per `key=`.

use std::borrow::Cow;

/// Whether `c` must not appear raw in a log line.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{200E}' | '\u{200F}' // left-to-right and right-to-left marks
            | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
            | '\u{FEFF}' // byte order mark
        )
}

/// `text` with every unsafe character written as an escape: `\n`, `\r`, `\t`, or `\u{XX}`.
/// Borrowed when there is nothing to escape (the usual case).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// A field value for the plain format: `text` escaped, and written as `"..."` (with `"` and `\\`
/// escaped) when it holds whitespace, `=`, `"` or `\\`, so that a caller's text cannot add a
/// `key=value` pair of its own to the line. Values without such characters (codes,
/// thumbprints, times) stay bare, so `code=(\S+)` still extracts them.
pub fn plain_value(text: &str) -> Cow<'_, str> {
    let needs_quotes = text
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '=' | '"' | '\\'));
    if !needs_quotes {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// `\u{XXXX}` for a character JSON strings must not carry raw here (serde_json escapes C0,
/// quotes and backslashes itself; this covers DEL, C1, the separators and bidi controls).
pub(super) fn json_escape(c: char) -> String {
    format!("\\u{:04x}", u32::from(c))
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_separators_are_escaped() {
        let cases = [
            ("a\nb", "a\\nb", "newline"),
            ("a\rb", "a\\rb", "carriage return"),
            ("a\tb", "a\\tb", "tab"),
            ("a\u{1b}[31mb", "a\\u{1b}[31mb", "ESC (terminal escape)"),
            ("a\0b", "a\\u{0}b", "NUL"),
            ("a\u{7f}b", "a\\u{7f}b", "DEL"),
            ("a\u{85}b", "a\\u{85}b", "C1 next line"),
            ("a\u{9b}b", "a\\u{9b}b", "C1 control sequence introducer"),
            ("a\u{2028}b", "a\\u{2028}b", "line separator"),
            ("a\u{2029}b", "a\\u{2029}b", "paragraph separator"),
            ("a\u{202e}b", "a\\u{202e}b", "right-to-left override"),
            ("a\u{2066}b", "a\\u{2066}b", "bidi isolate"),
        ];
        for (input, expected, reason) in cases {
            assert_eq!(escape(input), expected, "{reason}");
        }
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for text in ["CN=client.example,O=Contoso", r"CN=a\,b", "Grüße, 東京", ""] {
            assert!(
                matches!(escape(text), Cow::Borrowed(same) if same == text),
                "{text:?} is left alone"
            );
        }
    }

    #[test]
    fn an_escaped_value_is_always_one_line_of_printable_text() {
        let hostile: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&hostile);
        assert!(
            !escaped.chars().any(is_unsafe),
            "nothing unsafe survives escaping"
        );
        assert_eq!(escaped.lines().count(), 1, "one line");
    }

    #[test]
    fn a_plain_value_that_could_read_as_more_fields_is_quoted() {
        let cases = [
            (
                "x reason=ok cached=true matched_rule=pin:a",
                r#""x reason=ok cached=true matched_rule=pin:a""#,
                "the review's forged CN",
            ),
            (
                "CN=client.example,O=Contoso",
                r#""CN=client.example,O=Contoso""#,
                "a subject",
            ),
            (r#"a"b"#, r#""a\"b""#, "a quote"),
            (r"CN=a\,b", r#""CN=a\\,b""#, "a backslash"),
            (
                "a\u{a0}b",
                "\"a\u{a0}b\"",
                "a no-break space is whitespace too",
            ),
            (
                "a b\nc",
                r#""a b\nc""#,
                "control characters still escaped inside quotes",
            ),
            ("cert_expired", "cert_expired", "a code stays bare"),
            ("A1B2C3", "A1B2C3", "a thumbprint stays bare"),
            (
                "2026-01-31T12:00:00Z",
                "2026-01-31T12:00:00Z",
                "a time stays bare",
            ),
            (
                "a\u{1b}b",
                r"a\u{1b}b",
                "a bare value keeps control-character escaping",
            ),
            (
                "a\nb",
                r#""a\nb""#,
                "a newline is whitespace: quoted, and escaped",
            ),
            ("", "", "empty"),
        ];
        for (input, expected, reason) in cases {
            assert_eq!(plain_value(input), expected, "{reason}");
        }
    }

    #[test]
    fn a_quoted_value_has_no_bare_space_or_equals_outside_its_quotes() {
        let hostile = "x\" reason=ok\\\" cached=true \\";
        let value = plain_value(hostile);
        let inner = value
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("quoted");
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => assert!(chars.next().is_some(), "a dangling backslash: {value}"),
                '"' => panic!("an unescaped quote ends the value early: {value}"),
                _ => {}
            }
        }
    }
}
