//! A folder for one test, removed when the test ends.

use std::path::PathBuf;

/// A folder under the system's temporary folder, named for the test and this process; it is
/// created by the first file written into it (or by whoever is given its path).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("mtls-deploy-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&path).ok();
        Self(path)
    }

    /// Writes `contents` to `relative` inside the folder, creating folders as needed.
    pub fn write(&self, relative: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// The path of `name` inside the folder, as a string for a command line.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    /// The folder's own path, as a string for a command line.
    pub fn arg(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}
