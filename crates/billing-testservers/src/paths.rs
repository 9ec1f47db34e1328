//! Where the crate keeps its state: the workspace's Cargo target directory.

use std::path::{Path, PathBuf};

/// The Cargo target directory of the workspace these servers are used from.
///
/// Found, in order, by walking up from the running executable (test binaries live
/// in `<target>/<profile>/deps/`) to the directory holding Cargo's `CACHEDIR.TAG`;
/// from `$CARGO_TARGET_DIR` when absolute; and finally from this crate's location
/// in the workspace (`crates/billing-testservers/../../target`).
pub fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(found) = exe
            .ancestors()
            .skip(1)
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
    {
        return found.to_owned();
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// `<target>/tools`: tools installed by the test tooling itself.
pub fn tools_dir() -> PathBuf {
    target_dir().join("tools")
}

/// `<target>/testservers`: state shared by test processes (locks, shared clusters).
pub fn state_dir() -> PathBuf {
    target_dir().join("testservers")
}
