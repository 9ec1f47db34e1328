//! The crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while starting, using or stopping a test server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required executable could not be found.
    #[error("required program `{name}` not found ({searched}); {hint}")]
    ProgramNotFound {
        /// The program looked for.
        name: String,
        /// Where it was looked for.
        searched: String,
        /// How to get it.
        hint: &'static str,
    },

    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A helper command ran but did not succeed.
    #[error("`{command}` failed ({status}):\n{output}")]
    CommandFailed {
        /// The command line, for humans.
        command: String,
        /// Its exit status.
        status: String,
        /// Its combined stdout and stderr (or the tail of a log file).
        output: String,
    },

    /// Running as root, but no unprivileged account exists to run PostgreSQL as.
    #[error(
        "running as root and PostgreSQL refuses to run as root, but neither a `postgres` nor a `nobody` account exists (create one: `useradd -r postgres`)"
    )]
    NoUnprivilegedUser,

    /// A directory is not usable by the unprivileged account PostgreSQL runs as.
    #[error(
        "directory {path} is not writable by user `{user}` (PostgreSQL runs as that user because we run as root); make its parent directories world-traversable"
    )]
    NotAccessible {
        /// The directory.
        path: PathBuf,
        /// The account PostgreSQL runs as.
        user: String,
    },

    /// A server did not become ready in time.
    #[error("{what} not ready after {waited:?}; log tail:\n{log}")]
    Timeout {
        /// The server.
        what: String,
        /// How long we waited.
        waited: Duration,
        /// The tail of its log.
        log: String,
    },

    /// A server process exited while we were waiting for it to become ready.
    #[error("{what} exited before it was ready ({status}); log tail:\n{log}")]
    ExitedEarly {
        /// The server.
        what: String,
        /// Its exit status.
        status: String,
        /// The tail of its log.
        log: String,
    },

    /// Output of a tool could not be understood.
    #[error("could not find {what} in the output of {tool}:\n{output}")]
    Parse {
        /// What was looked for.
        what: &'static str,
        /// The tool whose output it was.
        tool: &'static str,
        /// The output.
        output: String,
    },

    /// A connection URL could not be understood.
    #[error("not a postgres:// or postgresql:// URL: `{0}`")]
    InvalidUrl(String),
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an [`std::io::Error`] with some context.
pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}
