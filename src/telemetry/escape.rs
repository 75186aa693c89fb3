//! Escaping of caller-controlled text for log lines: a caller must not be able to start a line
//! of its own (newline, CR, Unicode line and paragraph separators), move the terminal (ESC and
//! the other C0/C1 controls), or reorder what a reader sees (bidirectional overrides).
//!
//! Applied to every field of every line by the plain formatter (`fields.rs`); the JSON writer
//! (`writer.rs`) adds what serde_json leaves raw. Backslashes are kept as they are: the point
//! is one event, one line, not a reversible encoding.

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
}
