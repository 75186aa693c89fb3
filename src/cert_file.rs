//! Reading certificate, CRL, key and identity files: bytes -> DER items, whatever the encoding.
//!
//! PEM (one or many blocks), a single DER object (App Service puts public certificates at
//! `/var/ssl/certs/<thumbprint>.der`), or PKCS#12 (`/var/ssl/private/<thumbprint>.p12`), told
//! apart by their first bytes, never by the file name. Inbound trust (`client_cert`), outbound
//! identities and roots (`outbound`) and `handler dev` all read their files here, and the CRL
//! source reads fetched bodies with the same code ([`crls_from_bytes`]).
//!
//! Every file is read through [`read`] (or [`read_text`]), which bounds it in size, kind and
//! time: only a regular file is read (a FIFO, device or directory is refused without blocking,
//! whatever a symlink points at), never more than its [`FileKind`]'s cap, and a read that does
//! not finish within [`READ_TIMEOUT`] (a stuck network share) is given up on, with at most one
//! such read per path left waiting in the background.
//!
//! Only bytes -> DER items: what the items mean (a CA, a CRL to verify, a key to match) is for
//! the callers to decide. PKCS#12 decoding itself (passwords, bags) is `outbound::identity`'s.
//! This module depends on nothing else in the crate.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// Why a certificate, CRL or key file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid pem: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("{path}: no {kind} found")]
    Empty { path: PathBuf, kind: &'static str },
    #[error("{path}: not a single der object: {detail}")]
    Der { path: PathBuf, detail: String },
}

/// How a file's bytes are encoded, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text with `-----BEGIN` armour.
    Pem,
    /// Binary: one DER object (a certificate or CRL), or a PKCS#12 archive (itself DER).
    Binary,
}

/// Why bytes are not exactly one DER object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerError {
    Empty,
    NotSequence,
    Truncated,
    InvalidLength,
    TrailingBytes,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty certificate",
            Self::NotSequence => "certificate is not a DER sequence",
            Self::Truncated => "truncated certificate",
            Self::InvalidLength => "invalid der length",
            Self::TrailingBytes => "trailing bytes after certificate",
        })
    }
}

impl std::error::Error for DerError {}

impl Encoding {
    /// PEM when `-----BEGIN` appears anywhere (PEM files may start with explanatory text).
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.windows(10).any(|window| window == b"-----BEGIN") {
            Self::Pem
        } else {
            Self::Binary
        }
    }
}

/// How long a read may take before it is given up on ([`read`]).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What a file holds, which sets the most it may hold ([`FileKind::max_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Certificates: a CA bundle, intermediates, an identity's chain.
    Certificates,
    /// Certificate revocation lists.
    Crls,
    /// A PEM private key.
    PrivateKey,
    /// An outbound identity: PKCS#12, or PEM with chain and key.
    Identity,
    /// A small text file: the policy file, host.json.
    Text,
}

impl FileKind {
    /// The cap: 8 MiB for CRLs (as for a CRL fetched from a distribution point), 1 MiB for
    /// everything else (the whole Mozilla root bundle is about 220 KiB; an identity a few KiB).
    pub const fn max_bytes(self) -> u64 {
        match self {
            Self::Crls => 8 * 1024 * 1024,
            Self::Certificates | Self::PrivateKey | Self::Identity | Self::Text => 1024 * 1024,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Certificates => "certificate",
            Self::Crls => "crl",
            Self::PrivateKey => "private key",
            Self::Identity => "identity",
            Self::Text => "text",
        }
    }
}

/// The whole file, bounded: a regular file only, at most `kind.max_bytes()`, within
/// [`READ_TIMEOUT`].
///
/// # Errors
/// [`LoadError::Io`] naming the file: the OS error, or `InvalidInput` (not a regular file,
/// over the cap), `TimedOut` (no answer in time) or `WouldBlock` (an earlier read of this path
/// is still waiting).
pub fn read(path: &Path, kind: FileKind) -> Result<Vec<u8>, LoadError> {
    read_within(path, READ_TIMEOUT, move |path| read_regular(path, kind)).map_err(|source| {
        LoadError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

/// [`read`] as UTF-8 text.
///
/// # Errors
/// As [`read`]; invalid UTF-8 is `InvalidData`.
pub fn read_text(path: &Path, kind: FileKind) -> Result<String, LoadError> {
    String::from_utf8(read(path, kind)?).map_err(|_| LoadError::Io {
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Every certificate in `path` (PEM `CERTIFICATE` blocks, or one DER certificate).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    let bytes = read(path, FileKind::Certificates)?;
    items(&bytes, path, "certificate", CertificateDer::from)
}

/// Every CRL in `path` (PEM `X509 CRL` blocks, or one DER CRL).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no CRL.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    crls_from_bytes(&read(path, FileKind::Crls)?, path)
}

/// Every CRL in `bytes` (PEM or one DER CRL), e.g. a body fetched from a distribution point;
/// `origin` names where they came from in errors.
///
/// # Errors
/// [`LoadError`] when the bytes hold no CRL.
pub fn crls_from_bytes(
    bytes: &[u8],
    origin: &Path,
) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    items(bytes, origin, "crl", CertificateRevocationListDer::from)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
/// [`LoadError`] when the file cannot be read or holds no key.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, LoadError> {
    let bytes = read(path, FileKind::PrivateKey)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        pem::Error::NoItemsFound => LoadError::Empty {
            path: path.to_owned(),
            kind: "private key",
        },
        other => LoadError::Pem {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    })
}

/// Checks that `der` is exactly one DER SEQUENCE: no truncation, no trailing bytes.
///
/// # Errors
/// [`DerError`] saying what is wrong.
pub fn check_single_der(der: &[u8]) -> Result<(), DerError> {
    let (&tag, rest) = der.split_first().ok_or(DerError::Empty)?;
    if tag != 0x30 {
        return Err(DerError::NotSequence);
    }
    let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(DerError::InvalidLength);
        }
        let (length_bytes, rest) = rest.split_at(count);
        let length = length_bytes
            .iter()
            .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        (length, rest)
    };
    match rest.len().cmp(&length) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(DerError::Truncated),
        std::cmp::Ordering::Greater => Err(DerError::TrailingBytes),
    }
}

fn items<T>(
    bytes: &[u8],
    origin: &Path,
    kind: &'static str,
    from_der: impl Fn(Vec<u8>) -> T,
) -> Result<Vec<T>, LoadError>
where
    T: PemObject,
{
    let items = match Encoding::sniff(bytes) {
        Encoding::Pem => T::pem_slice_iter(bytes)
            .collect::<Result<Vec<T>, pem::Error>>()
            .map_err(|error| LoadError::Pem {
                path: origin.to_owned(),
                detail: error.to_string(),
            })?,
        Encoding::Binary => {
            check_single_der(bytes).map_err(|error| LoadError::Der {
                path: origin.to_owned(),
                detail: error.to_string(),
            })?;
            vec![from_der(bytes.to_vec())]
        }
    };
    if items.is_empty() {
        return Err(LoadError::Empty {
            path: origin.to_owned(),
            kind,
        });
    }
    Ok(items)
}

/// Opens without blocking (a FIFO with no writer would block `open` itself), then reads only
/// what `fstat` of the opened file says is a regular file, and at most the cap.
fn read_regular(path: &Path, kind: FileKind) -> io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", describe_type(&metadata)),
        ));
    }
    let cap = kind.max_bytes();
    let too_large = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("larger than {cap} bytes, the cap for {} files", kind.name()),
        )
    };
    if metadata.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

fn describe_type(metadata: &std::fs::Metadata) -> &'static str {
    let file_type = metadata.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Reads that outlived their deadline and are still waiting in their thread: (path, read id).
static WAITING: Mutex<Vec<(PathBuf, u64)>> = Mutex::new(Vec::new());
static NEXT_READ: AtomicU64 = AtomicU64::new(0);

/// Runs `read` on a thread of its own and waits at most `timeout`. A read that does not finish
/// in time is left to finish in the background, and until it does, the same path is refused
/// at once: a stuck file costs one thread, not one per attempt.
fn read_within<T: Send + 'static>(
    path: &Path,
    timeout: Duration,
    read: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    if waiting(|list| list.iter().any(|(waiting, _)| waiting == path)) {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "an earlier read of this file has not finished yet",
        ));
    }
    let id = NEXT_READ.fetch_add(1, Ordering::Relaxed);
    let (sender, receiver) = mpsc::sync_channel(1);
    let for_thread = path.to_owned();
    std::thread::Builder::new()
        .name("file-read".to_owned())
        .spawn(move || {
            let result = read(&for_thread);
            // Sent (or not, when nobody waits any more) before the entry goes, under the lock
            // the waiting side takes to decide whether to add it.
            sender.send(result).ok();
            waiting(|list| list.retain(|entry| entry.1 != id));
        })?;
    match receiver.recv_timeout(timeout) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other("the read failed")),
        Err(mpsc::RecvTimeoutError::Timeout) => waiting(|list| match receiver.try_recv() {
            Ok(result) => result,
            Err(_) => {
                list.push((path.to_owned(), id));
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer within {} s", timeout.as_secs_f32()),
                ))
            }
        }),
    }
}

fn waiting<R>(f: impl FnOnce(&mut Vec<(PathBuf, u64)>) -> R) -> R {
    let mut guard = WAITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_der_checks_say_what_is_wrong() {
        let cases: [(&str, &[u8], Result<(), DerError>); 6] = [
            ("one short sequence", &[0x30, 0x01, 0x00], Ok(())),
            ("nothing", &[], Err(DerError::Empty)),
            (
                "not a sequence",
                &[0x02, 0x01, 0x00],
                Err(DerError::NotSequence),
            ),
            ("cut short", &[0x30, 0x05, 0x00], Err(DerError::Truncated)),
            (
                "trailing byte",
                &[0x30, 0x01, 0x00, 0x00],
                Err(DerError::TrailingBytes),
            ),
            (
                "five length bytes",
                &[0x30, 0x85, 1, 1, 1, 1, 1],
                Err(DerError::InvalidLength),
            ),
        ];
        for (reason, bytes, expected) in cases {
            assert_eq!(check_single_der(bytes), expected, "{reason}");
        }
    }

    #[test]
    fn bytes_without_a_crl_are_refused_with_their_origin() {
        let origin = Path::new("http://crl.example/root.crl");
        for (reason, bytes) in [
            ("html", b"<html>oops</html>".as_slice()),
            (
                "pem of another kind",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
        ] {
            let error = crls_from_bytes(bytes, origin).expect_err(reason);
            assert!(
                error.to_string().contains("crl.example"),
                "{reason}: {error}"
            );
        }
    }

    fn temp_dir() -> crate::outbound::test_pki::TempDir {
        crate::outbound::test_pki::TempDir::new()
    }

    #[test]
    fn a_regular_file_within_its_cap_is_read() {
        let dir = temp_dir();
        let path = dir.file("ca.pem");
        std::fs::write(&path, b"contents").expect("write");
        assert_eq!(
            read(&path, FileKind::Certificates).expect("read"),
            b"contents"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once_instead_of_blocking() {
        let dir = temp_dir();
        let path = dir.file("root.crl");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo made the FIFO");
        let started = std::time::Instant::now();
        let error = read(&path, FileKind::Crls).expect_err("a FIFO is not read");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused without waiting for a writer"
        );
        assert!(
            error.to_string().contains("not a regular file (a FIFO)"),
            "{error}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_a_device_is_refused_without_reading_it() {
        let dir = temp_dir();
        let path = dir.file("identity.p12");
        std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
        let error = read(&path, FileKind::Identity).expect_err("a device is not read");
        assert!(error.to_string().contains("(a device)"), "{error}");
    }

    #[test]
    fn a_file_over_its_cap_is_refused_naming_the_cap() {
        let dir = temp_dir();
        let path = dir.file("identity.p12");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(2 * 1024 * 1024 * 1024)
            .expect("a sparse 2 GiB file");
        let error = read(&path, FileKind::Identity).expect_err("over the cap");
        assert!(
            error
                .to_string()
                .contains("larger than 1048576 bytes, the cap for identity files"),
            "{error}"
        );
        let crl = dir.file("big.crl");
        std::fs::write(&crl, vec![0u8; 2 * 1024 * 1024]).expect("write");
        assert!(
            read(&crl, FileKind::Crls).is_ok(),
            "2 MiB is within the CRL cap"
        );
    }

    #[test]
    fn a_read_that_hangs_is_given_up_on_and_not_repeated_until_it_ends() {
        let path = Path::new("/nonexistent/stuck-share/client-ca.pem");
        let (release, released) = mpsc::channel::<()>();
        let timeout = Duration::from_millis(50);
        let error = read_within(path, timeout, move |_| {
            released.recv().ok();
            Ok(Vec::<u8>::new())
        })
        .expect_err("the read hangs");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");

        let again = read_within(path, timeout, |_| Ok(vec![1u8])).expect_err("still waiting");
        assert_eq!(again.kind(), io::ErrorKind::WouldBlock, "{again}");

        release.send(()).expect("the stuck read is still there");
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        loop {
            match read_within(path, timeout, |_| Ok(vec![1u8])) {
                Ok(bytes) => {
                    assert_eq!(bytes, [1]);
                    break;
                }
                Err(error) if std::time::Instant::now() < deadline => {
                    assert_eq!(error.kind(), io::ErrorKind::WouldBlock, "{error}");
                    std::thread::yield_now();
                }
                Err(error) => panic!("the path stays refused after its read ended: {error}"),
            }
        }
    }
}
