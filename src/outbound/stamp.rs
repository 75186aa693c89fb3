//! [`Stamp`]: what an identity's files looked like when last read, to tell whether they changed:
//! for each file its name and, if it exists, its modification time, status-change time and inode
//! (Unix) and length. A file renamed into place, rewritten, or made readable by a `chmod` (which
//! changes only the status-change time) all count as changes. Reading a stamp only `stat`s.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the source looked like when read: for each file its name and, if it exists, its
/// modification time, status-change time and inode (Unix), and length.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stamp(Vec<(PathBuf, Option<FileStamp>)>);

#[derive(Debug, Clone, PartialEq, Eq)]
/// One file as `stat` saw it.
struct FileStamp {
    modified: Option<SystemTime>,
    changed: (i64, i64),
    inode: u64,
    len: u64,
}

impl Stamp {
    /// The stamp of `paths`, sorted by name.
    pub(super) fn of(paths: &[PathBuf]) -> Self {
        let mut files: Vec<_> = paths
            .iter()
            .map(|path| (path.clone(), file_stamp(path)))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Self(files)
    }
}

fn file_stamp(path: &Path) -> Option<FileStamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (changed, inode) = {
        use std::os::unix::fs::MetadataExt;
        ((metadata.ctime(), metadata.ctime_nsec()), metadata.ino())
    };
    #[cfg(not(unix))]
    let (changed, inode) = ((0, 0), 0);
    Some(FileStamp {
        modified: metadata.modified().ok(),
        changed,
        inode,
        len: metadata.len(),
    })
}
