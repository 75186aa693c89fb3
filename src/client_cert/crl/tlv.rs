//! A small DER reader over borrowed bytes: one tag-length-value at a time, definite lengths in
//! their shortest form only, no allocation. Enough to walk a CRL (and a certificate's
//! extensions) in place, so that reading one costs nothing beyond its own bytes.
//!
//! It does not know X.509; `crl/mod.rs` and `crl/extensions.rs` give the elements meaning.

pub(super) const BOOLEAN: u8 = 0x01;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;
pub(super) const OCTET_STRING: u8 = 0x04;
pub(super) const OID: u8 = 0x06;
pub(super) const ENUMERATED: u8 = 0x0a;
pub(super) const UTC_TIME: u8 = 0x17;
pub(super) const GENERALIZED_TIME: u8 = 0x18;
pub(super) const SEQUENCE: u8 = 0x30;
/// `[n]` constructed and `[n]` primitive, context-specific.
pub(super) const fn constructed(n: u8) -> u8 {
    0xa0 | n
}
pub(super) const fn primitive(n: u8) -> u8 {
    0x80 | n
}

/// Why bytes are not the DER expected, in words for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Reads elements one after another from `rest`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

/// One element: its identifier octet, its content and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub(super) struct Element<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub encoding: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn read(&mut self) -> Result<Element<'a>, Malformed> {
        let (&tag, after_tag) = self.rest.split_first().ok_or(Malformed("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(Malformed("a tag number in the long form"));
        }
        let (&first, after_first) = after_tag.split_first().ok_or(Malformed("truncated"))?;
        let (length, after_length) = match first {
            short if short < 0x80 => (usize::from(short), after_first),
            0x80 => return Err(Malformed("an indefinite length (BER only)")),
            long => {
                let count = usize::from(long & 0x7f);
                if count > 4 || after_first.len() < count {
                    return Err(Malformed("a length that does not fit"));
                }
                let (octets, after) = after_first.split_at(count);
                if octets[0] == 0 {
                    return Err(Malformed("a length with a leading zero octet"));
                }
                let length = octets
                    .iter()
                    .fold(0usize, |acc, octet| (acc << 8) | usize::from(*octet));
                if length < 0x80 {
                    return Err(Malformed(
                        "a length in the long form that fits the short one",
                    ));
                }
                (length, after)
            }
        };
        if after_length.len() < length {
            return Err(Malformed("truncated"));
        }
        let (value, rest) = after_length.split_at(length);
        let header = self.rest.len() - after_length.len();
        let encoding = &self.rest[..header + length];
        self.rest = rest;
        Ok(Element {
            tag,
            value,
            encoding,
        })
    }

    /// The next element's content, which must carry `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], Malformed> {
        Ok(self.expect_element(tag, what)?.value)
    }

    /// The next element, which must carry `tag`.
    pub fn expect_element(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Element<'a>, Malformed> {
        match self.read()? {
            element if element.tag == tag => Ok(element),
            _ => Err(Malformed(what)),
        }
    }

    /// The next element's content if it carries `tag`; nothing read otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Malformed> {
        if self.peek_tag() == Some(tag) {
            Ok(Some(self.read()?.value))
        } else {
            Ok(None)
        }
    }

    /// Succeeds when everything was read.
    pub fn finish(&self, what: &'static str) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed(what))
        }
    }
}

/// `bytes` is exactly one element with `tag`; its content.
pub(super) fn single<'a>(
    bytes: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<&'a [u8], Malformed> {
    let mut reader = Reader::new(bytes);
    let value = reader.expect(tag, what)?;
    reader.finish(what)?;
    Ok(value)
}

/// An INTEGER's content is non-empty and minimal (no needless leading 00 or FF).
pub(super) fn is_minimal_integer(content: &[u8]) -> bool {
    match content {
        [] => false,
        [0x00, next, ..] => *next >= 0x80,
        [0xff, next, ..] => *next < 0x80,
        _ => true,
    }
}

/// A BOOLEAN (or an `[n] IMPLICIT BOOLEAN`) content: `FF` or `00`.
pub(super) fn boolean(content: &[u8]) -> Result<bool, Malformed> {
    match content {
        [0xff] => Ok(true),
        [0x00] => Ok(false),
        _ => Err(Malformed("a boolean that is not 00 or FF")),
    }
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as unix seconds.
pub(super) fn time(element: Element<'_>) -> Result<i64, Malformed> {
    let bad = Malformed("a time that is not YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ");
    let (year, rest) = match (element.tag, element.value.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(&element.value[..2]).ok_or(bad)?;
            (
                if yy < 50 { 2000 + yy } else { 1900 + yy },
                &element.value[2..],
            )
        }
        (GENERALIZED_TIME, 15) => (digits(&element.value[..4]).ok_or(bad)?, &element.value[4..]),
        _ => return Err(bad),
    };
    if rest.last() != Some(&b'Z') {
        return Err(bad);
    }
    let field = |at: usize| digits(&rest[at..at + 2]).ok_or(bad);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    let month = time::Month::try_from(u8::try_from(month).map_err(|_| bad)?).map_err(|_| bad)?;
    let date = time::Date::from_calendar_date(
        i32::try_from(year).map_err(|_| bad)?,
        month,
        u8::try_from(day).map_err(|_| bad)?,
    )
    .map_err(|_| bad)?;
    let at = date
        .with_hms(
            u8::try_from(hour).map_err(|_| bad)?,
            u8::try_from(minute).map_err(|_| bad)?,
            u8::try_from(second).map_err(|_| bad)?,
        )
        .map_err(|_| bad)?;
    Ok(at.assume_utc().unix_timestamp())
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shortest_definite_lengths_are_read() {
        type Case<'a> = (&'a str, &'a [u8], Result<&'a [u8], Malformed>);
        let cases: [Case<'_>; 6] = [
            ("short form", &[0x04, 0x01, 0xaa], Ok(&[0xaa])),
            (
                "long form for a short length",
                &[0x04, 0x81, 0x01, 0xaa],
                Err(Malformed(
                    "a length in the long form that fits the short one",
                )),
            ),
            (
                "a leading zero length octet",
                &[0x04, 0x82, 0x00, 0x01, 0xaa],
                Err(Malformed("a length with a leading zero octet")),
            ),
            (
                "indefinite",
                &[0x24, 0x80, 0x00, 0x00],
                Err(Malformed("an indefinite length (BER only)")),
            ),
            (
                "cut short",
                &[0x04, 0x02, 0xaa],
                Err(Malformed("truncated")),
            ),
            (
                "a high tag number",
                &[0x1f, 0x22, 0x00],
                Err(Malformed("a tag number in the long form")),
            ),
        ];
        for (reason, bytes, expected) in cases {
            assert_eq!(
                Reader::new(bytes).read().map(|element| element.value),
                expected,
                "{reason}"
            );
        }
    }

    #[test]
    fn integers_must_be_minimal_and_times_strict() {
        assert!(is_minimal_integer(&[0x12, 0x34]));
        assert!(is_minimal_integer(&[0x00, 0x80]));
        assert!(!is_minimal_integer(&[0x00, 0x12, 0x34]), "a needless 00");
        assert!(!is_minimal_integer(&[0xff, 0x80]), "a needless FF");
        assert!(is_minimal_integer(&[0xff, 0x7f]), "-129 needs its FF");
        assert!(!is_minimal_integer(&[]), "empty");
        let at = |tag, text: &[u8]| {
            time(Element {
                tag,
                value: text,
                encoding: text,
            })
        };
        assert_eq!(at(UTC_TIME, b"250101000000Z"), Ok(1_735_689_600));
        assert_eq!(at(GENERALIZED_TIME, b"20250101000000Z"), Ok(1_735_689_600));
        assert_eq!(at(UTC_TIME, b"491231235959Z"), Ok(2_524_607_999), "2049");
        assert!(at(UTC_TIME, b"500101000000Z").is_ok_and(|t| t < 0), "1950");
        for bad in [
            &b"250230000000Z"[..],
            b"2501010000Z",
            b"250101000000+0100",
            b"25010100000aZ",
        ] {
            assert!(at(UTC_TIME, bad).is_err(), "{bad:?}");
        }
    }
}
