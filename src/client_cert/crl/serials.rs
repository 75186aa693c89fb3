//! The revoked serials of one CRL, held compactly: every serial's bytes in one buffer, and one
//! 8-byte record per entry (where its bytes are, how long, the reason), sorted for a binary
//! search. A CRL's entries cost about a third of their DER (a 3-byte serial: 11 bytes against
//! 22), allocated once at their exact size, and a lookup is `O(log n)` with no allocation.
//!
//! Each entry is checked as it is read: the serial a minimal INTEGER (a needless leading 00
//! would never match the certificate's, so such a CRL is refused, as OpenSSL and pyca refuse
//! it), the revocation date a well-formed time, the extensions usable (`extensions.rs`).

use std::cmp::Ordering;

use super::CrlProblem;
use super::extensions::entry_reason;
use super::tlv::{self, Reader};

/// reasonCode removeFromCRL (RFC 5280 §5.3.1): in a delta CRL, the entry is no longer revoked.
pub(super) const REMOVE_FROM_CRL: u8 = 8;
const NO_REASON: u8 = 0xff;

/// The revoked serials of one CRL.
#[derive(Debug, Default)]
pub(super) struct Serials {
    bytes: Box<[u8]>,
    entries: Box<[Entry]>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u32,
    length: u8,
    reason: u8,
}

/// What a CRL says of one serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    NotListed,
    /// Listed with reasonCode removeFromCRL (a delta CRL taking a hold back).
    Removed,
    /// Listed with any other reason, or none.
    Revoked,
}

impl Serials {
    /// Reads the revokedCertificates field's content: every entry is checked, then indexed.
    ///
    /// # Errors
    /// [`CrlProblem`] naming the first unusable entry.
    pub(super) fn read(revoked: &[u8]) -> Result<Self, CrlProblem> {
        let (count, total) = each_entry(revoked, |_, _| Ok(()))?;
        let too_large = || CrlProblem::Malformed("more revoked serials than can be held");
        let mut bytes = Vec::with_capacity(total);
        let mut entries = Vec::with_capacity(count);
        each_entry(revoked, |serial, reason| {
            entries.push(Entry {
                offset: u32::try_from(bytes.len()).map_err(|_| too_large())?,
                // `each_entry` refuses a serial over 255 octets.
                length: u8::try_from(serial.len()).map_err(|_| too_large())?,
                reason,
            });
            bytes.extend_from_slice(serial);
            Ok(())
        })?;
        entries.sort_unstable_by(|left, right| compare(&bytes, left, key(&bytes, right)));
        Ok(Self {
            bytes: bytes.into_boxed_slice(),
            entries: entries.into_boxed_slice(),
        })
    }

    /// What the CRL says of `serial` (an INTEGER's content, as in the certificate). When an
    /// entry is repeated, one that revokes wins.
    pub(super) fn listing(&self, serial: &[u8]) -> Listing {
        let Ok(found) = self
            .entries
            .binary_search_by(|entry| compare(&self.bytes, entry, serial))
        else {
            return Listing::NotListed;
        };
        let same = |entry: &&Entry| compare(&self.bytes, entry, serial) == Ordering::Equal;
        let before = self.entries[..found].iter().rev().take_while(same);
        let after = self.entries[found..].iter().take_while(same);
        if before
            .chain(after)
            .all(|entry| entry.reason == REMOVE_FROM_CRL)
        {
            Listing::Removed
        } else {
            Listing::Revoked
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The heap this index holds, in bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.len() + self.entries.len() * std::mem::size_of::<Entry>()
    }
}

fn key<'a>(bytes: &'a [u8], entry: &Entry) -> &'a [u8] {
    let start = entry.offset as usize;
    &bytes[start..start + usize::from(entry.length)]
}

/// Shorter serials first, then by their bytes: any total order does for a lookup.
fn compare(bytes: &[u8], entry: &Entry, serial: &[u8]) -> Ordering {
    let held = key(bytes, entry);
    held.len().cmp(&serial.len()).then_with(|| held.cmp(serial))
}

/// Walks every entry, checking it, and hands its serial and reason to `each`; returns how
/// many entries there are and their serials' total length.
fn each_entry(
    revoked: &[u8],
    mut each: impl FnMut(&[u8], u8) -> Result<(), CrlProblem>,
) -> Result<(usize, usize), CrlProblem> {
    let mut reader = Reader::new(revoked);
    let (mut count, mut total) = (0usize, 0usize);
    while !reader.is_empty() {
        let index = count + 1;
        let at = |what| CrlProblem::Entry { index, what };
        let content = reader
            .expect(tlv::SEQUENCE, "an entry that is not a sequence")
            .map_err(|error| at(error.0))?;
        let mut fields = Reader::new(content);
        let serial = fields
            .expect(tlv::INTEGER, "a serial that is not an integer")
            .map_err(|error| at(error.0))?;
        if !tlv::is_minimal_integer(serial) {
            return Err(CrlProblem::NonMinimalSerial {
                index,
                serial: hex(serial),
            });
        }
        if serial.len() > usize::from(u8::MAX) {
            return Err(at("a serial longer than 255 octets"));
        }
        fields
            .read()
            .and_then(tlv::time)
            .map_err(|error| at(error.0))?;
        let reason = match fields.read() {
            Err(_) if fields.is_empty() => None,
            Ok(extensions) if fields.is_empty() => entry_reason(extensions.encoding)?,
            _ => return Err(at("trailing fields")),
        };
        each(serial, reason.unwrap_or(NO_REASON))?;
        count += 1;
        total += serial.len();
    }
    Ok((count, total))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: &[u8], reason: Option<u8>) -> Vec<u8> {
        use crate::client_cert::test_pki::tlv as encode;
        let mut fields = encode(0x02, serial);
        fields.extend(encode(0x17, b"250101000000Z"));
        if let Some(code) = reason {
            let reason_code = encode(
                0x30,
                &[
                    encode(0x06, &[0x55, 0x1d, 0x15]),
                    encode(0x04, &encode(0x0a, &[code])),
                ]
                .concat(),
            );
            fields.extend(encode(0x30, &reason_code));
        }
        encode(0x30, &fields)
    }

    #[test]
    fn serials_are_found_by_their_bytes_and_held_compactly() {
        let revoked = [
            entry(&[0x12, 0x34], None),
            entry(&[0x05], Some(6)),
            entry(&[0x00, 0x80], Some(REMOVE_FROM_CRL)),
            entry(&[0x12, 0x33], Some(1)),
        ]
        .concat();

        let serials = Serials::read(&revoked).expect("entries read");

        assert_eq!(serials.len(), 4);
        assert_eq!(serials.listing(&[0x12, 0x34]), Listing::Revoked);
        assert_eq!(serials.listing(&[0x05]), Listing::Revoked, "a hold revokes");
        assert_eq!(serials.listing(&[0x00, 0x80]), Listing::Removed);
        assert_eq!(serials.listing(&[0x12]), Listing::NotListed);
        assert_eq!(serials.listing(&[0x00, 0x12, 0x34]), Listing::NotListed);
        assert_eq!(serials.heap_bytes(), 7 + 4 * 8);
    }

    #[test]
    fn an_entry_that_is_not_der_or_not_understood_is_refused() {
        let critical_unknown = {
            use crate::client_cert::test_pki::tlv as encode;
            let mut fields = encode(0x02, &[0x01]);
            fields.extend(encode(0x17, b"250101000000Z"));
            let extension = encode(
                0x30,
                &[
                    encode(0x06, &[0x2a, 0x03]),
                    vec![0x01, 0x01, 0xff],
                    encode(0x04, &[0x05, 0x00]),
                ]
                .concat(),
            );
            fields.extend(encode(0x30, &extension));
            encode(0x30, &fields)
        };
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "a serial with a needless leading zero",
                entry(&[0x00, 0x12, 0x34], None),
                "entry 2: the serial 001234 is not minimal DER",
            ),
            (
                "an unknown critical entry extension",
                critical_unknown,
                "not understood (1.2.3)",
            ),
            (
                "a date that is not a time",
                crate::client_cert::test_pki::tlv(0x30, &[0x02, 0x01, 0x01, 0x04, 0x00]),
                "entry 2: a time",
            ),
        ];
        for (reason, revoked, fragment) in cases {
            let revoked = [entry(&[0x07], None), revoked].concat();
            let error = Serials::read(&revoked)
                .map(|_| ())
                .expect_err(reason)
                .to_string();
            assert!(error.contains(fragment), "{reason}: {error}");
        }
    }
}
