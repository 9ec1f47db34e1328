//! Throwaway PostgreSQL for tests and benchmarks.
//!
//! [`TestPostgres::start`] uses `$DATABASE_URL` when it points at a server,
//! otherwise a cluster shared by all test processes of the workspace (started on
//! first use, stopped by a watchdog a few seconds after its last user exits).
//! Every caller gets fresh databases of its own through
//! [`TestPostgres::create_database`], dropped again when the handle is dropped.
//!
//! ```no_run
//! # fn main() -> Result<(), billing_testservers::Error> {
//! let pg = billing_testservers::postgres::TestPostgres::start()?;
//! let url = pg.create_database("invoices")?; // postgres://…/invoices_5f1c…
//! # Ok(()) }
//! ```

mod cluster;
pub mod dev;
mod pgbench;

use std::fmt::Write as _;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use self::cluster::Cluster;
pub use self::pgbench::{
    PgbenchReport, parse_pgbench_output, pgbench_available, pgbench_init, pgbench_run,
};
use crate::error::{Error, Result, io};
use crate::process::{FileLock, RunAs, find_on_path, pid_alive, run_checked};
use crate::{paths, reaper};

/// When set to a `postgres://` or `postgresql://` URL, [`TestPostgres::start`]
/// uses that server instead of starting one.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
/// Seconds the shared cluster outlives its last user (default 5).
pub const SHARED_GRACE_ENV: &str = "BILLING_TESTSERVERS_PG_GRACE_SECS";
/// When set (to anything but `0`), databases are not dropped on drop (for debugging).
pub const KEEP_DATABASES_ENV: &str = "BILLING_TESTSERVERS_KEEP_DATABASES";

const DEFAULT_GRACE_SECS: u64 = 5;

/// Where the server behind a [`TestPostgres`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PostgresKind {
    /// `$DATABASE_URL`: a server started by someone else; only databases are created.
    External,
    /// The cluster shared by all test processes of this workspace.
    Shared,
    /// A cluster of this handle's own, stopped and deleted on drop.
    Private,
}

/// A PostgreSQL server for one test (or benchmark), plus the databases it created.
///
/// Dropping it (also while unwinding from a panic) drops the databases it created
/// and, for a [`PostgresKind::Private`] cluster, stops the server
/// (`pg_ctl stop -m immediate`) and deletes its directory.
#[derive(Debug)]
pub struct TestPostgres {
    admin_url: String,
    databases: Mutex<Vec<String>>,
    // Declared last: dropped after `Drop::drop` has used the server.
    backing: Backing,
}

#[derive(Debug)]
enum Backing {
    External,
    Shared {
        cluster: Cluster,
        _lease: Lease,
    },
    Private {
        cluster: Cluster,
        _lease: Option<Lease>,
        root: tempfile::TempDir,
    },
}

impl TestPostgres {
    /// `$DATABASE_URL` if it is set to a `postgres…` URL, else the workspace's shared
    /// cluster (started if needed).
    ///
    /// Blocks for up to a few seconds (≈1 s when the cluster must be created). In
    /// async tests that is harmless; use `spawn_blocking` if it bothers you.
    pub fn start() -> Result<Self> {
        match std::env::var(DATABASE_URL_ENV) {
            Ok(url) if url.starts_with("postgres") => Self::external(url),
            _ => Self::start_shared(),
        }
    }

    /// Uses an already running server; no cluster is started or stopped.
    pub fn external(url: impl Into<String>) -> Result<Self> {
        let url = url.into();
        // Validates the URL.
        with_database(&url, "postgres")?;
        Ok(Self::new(url, Backing::External))
    }

    /// Joins (or starts) the cluster shared by all test processes of the workspace,
    /// ignoring `$DATABASE_URL`.
    ///
    /// It lives in `<target>/testservers/pg-shared`; a lock file serialises
    /// starting it, and each handle holds a lease file named after its pid. A
    /// detached watchdog stops and deletes the cluster once no lease holder has been
    /// alive for [`SHARED_GRACE_ENV`] seconds, so it also goes away when test
    /// processes are killed. Falls back to [`TestPostgres::start_private`] where
    /// the watchdog's tools (`setsid`, `flock`) are missing.
    pub fn start_shared() -> Result<Self> {
        if !reaper::available() {
            return Self::start_private();
        }
        let run_as = RunAs::detect()?;
        let root = shared_root(&run_as)?;
        let _lock = FileLock::acquire(&root.join("lock"))?;
        let pg_dir = root.join("pg");
        let cluster = match running_shared_cluster(&root, &pg_dir, &run_as) {
            Some(cluster) => {
                let reaper_alive = fs::read_to_string(root.join("reaper.pid"))
                    .ok()
                    .and_then(|pid| pid.trim().parse().ok())
                    .is_some_and(pid_alive);
                if !reaper_alive {
                    let token = fs::read_to_string(root.join("generation"))
                        .map_err(io("could not read the shared cluster's generation"))?;
                    spawn_reaper(&root, grace_secs(), token.trim(), &pg_dir, &cluster)?;
                }
                cluster
            }
            None => create_shared_cluster(&root, &pg_dir, &run_as)?,
        };
        let lease = Lease::create(&root)?;
        Ok(Self::new(
            cluster.admin_url(),
            Backing::Shared {
                cluster,
                _lease: lease,
            },
        ))
    }

    /// Starts a cluster of this handle's own in a temporary directory, ignoring
    /// `$DATABASE_URL`; it is stopped and deleted when the handle is dropped (or,
    /// if the process is killed, by a watchdog within about a second).
    pub fn start_private() -> Result<Self> {
        Self::start_private_with(false, "")
    }

    /// A private cluster for benchmarks: durable (every commit flushed, as in production) and
    /// with `pg_stat_statements` loaded, so that a benchmark can count statements per operation.
    pub fn start_benchmark() -> Result<Self> {
        Self::start_private_with(
            true,
            "shared_preload_libraries = 'pg_stat_statements'\n\
             pg_stat_statements.track = all\n\
             shared_buffers = 512MB\n",
        )
    }

    /// A private cluster, durable or not, with `extra` settings.
    fn start_private_with(durable: bool, extra: &str) -> Result<Self> {
        let run_as = RunAs::detect()?;
        let root = tempfile::Builder::new()
            .prefix("billing-pg-")
            .tempdir()
            .map_err(io("could not create a temporary directory"))?;
        if run_as.user_name().is_some() {
            // The unprivileged account must be able to reach `root/pg`.
            fs::set_permissions(root.path(), fs::Permissions::from_mode(0o711))
                .map_err(io(format!("could not chmod {}", root.path().display())))?;
        }
        let pg_dir = root.path().join("pg");
        run_as.prepare_dir(&pg_dir)?;
        Cluster::init(&pg_dir, &run_as, durable, extra)?;
        let cluster = Cluster::start(&pg_dir, &run_as, None)?;
        let lease = if reaper::available() {
            let watched = (|| {
                let token = random_token();
                write_file(&root.path().join("generation"), &token)?;
                let lease = Lease::create(root.path())?;
                reaper::spawn(
                    root.path(),
                    0,
                    &token,
                    root.path(),
                    &cluster.stop_argv("immediate"),
                )?;
                Ok::<_, Error>(lease)
            })();
            match watched {
                Ok(lease) => Some(lease),
                Err(err) => {
                    let _ = cluster.stop("immediate");
                    return Err(err);
                }
            }
        } else {
            None
        };
        Ok(Self::new(
            cluster.admin_url(),
            Backing::Private {
                cluster,
                _lease: lease,
                root,
            },
        ))
    }

    fn new(admin_url: String, backing: Backing) -> Self {
        Self {
            admin_url,
            databases: Mutex::new(Vec::new()),
            backing,
        }
    }

    /// Where the server comes from.
    pub fn kind(&self) -> PostgresKind {
        match self.backing {
            Backing::External => PostgresKind::External,
            Backing::Shared { .. } => PostgresKind::Shared,
            Backing::Private { .. } => PostgresKind::Private,
        }
    }

    /// URL of the administrative database (`postgres` as superuser, or `$DATABASE_URL`).
    ///
    /// Shared by everybody using the server: create a database for your test instead
    /// of writing here.
    pub fn url(&self) -> &str {
        &self.admin_url
    }

    /// The TCP port of a cluster started by this crate (`None` for external servers).
    pub fn port(&self) -> Option<u16> {
        match &self.backing {
            Backing::External => None,
            Backing::Shared { cluster, .. } | Backing::Private { cluster, .. } => {
                Some(cluster.port)
            }
        }
    }

    /// The data directory of a cluster started by this crate.
    pub fn data_dir(&self) -> Option<PathBuf> {
        match &self.backing {
            Backing::External => None,
            Backing::Shared { cluster, .. } | Backing::Private { cluster, .. } => {
                Some(cluster.data_dir())
            }
        }
    }

    /// Creates a fresh, empty database named `<prefix>_<16 random hex digits>` and
    /// returns its URL. `prefix` is reduced to lowercase ASCII letters, digits and
    /// underscores. The database is dropped (`DROP DATABASE … WITH (FORCE)`) when
    /// `self` is dropped, unless [`KEEP_DATABASES_ENV`] is set.
    pub fn create_database(&self, prefix: &str) -> Result<String> {
        let name = unique_database_name(prefix);
        let createdb = find_pg_program("createdb")?;
        run_checked(
            Command::new(createdb)
                .arg("--maintenance-db")
                .arg(&self.admin_url)
                .arg(&name),
        )?;
        let url = with_database(&self.admin_url, &name)?;
        self.databases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(name);
        Ok(url)
    }

    /// URL of database `name` on this server.
    pub fn database_url(&self, name: &str) -> Result<String> {
        with_database(&self.admin_url, name)
    }

    fn drop_databases(&self) {
        let names = std::mem::take(
            &mut *self
                .databases
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if names.is_empty() || std::env::var(KEEP_DATABASES_ENV).is_ok_and(|v| v != "0") {
            return;
        }
        let Ok(dropdb) = find_pg_program("dropdb") else {
            return;
        };
        for name in names {
            let result = run_checked(
                Command::new(&dropdb)
                    .arg("--if-exists")
                    .arg("--force")
                    .arg("--maintenance-db")
                    .arg(&self.admin_url)
                    .arg(&name),
            );
            if let Err(err) = result {
                eprintln!("billing-testservers: could not drop test database {name}: {err}");
            }
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        match &self.backing {
            Backing::External | Backing::Shared { .. } => self.drop_databases(),
            Backing::Private { cluster, root, .. } => {
                // The whole cluster goes: no need to drop databases one by one.
                if let Err(err) = cluster.stop("immediate") {
                    eprintln!(
                        "billing-testservers: could not stop PostgreSQL in {}: {err}",
                        root.path().display()
                    );
                }
                // Tell the watchdog its cluster is gone; `root` is deleted right after.
                let _ = fs::remove_file(root.path().join("generation"));
            }
        }
    }
}

/// A lease file `root/leases/<pid>-<random>`, removed on drop. The watchdog keeps
/// the cluster while a lease's pid is alive.
#[derive(Debug)]
struct Lease {
    path: PathBuf,
}

impl Lease {
    fn create(root: &Path) -> Result<Self> {
        let dir = root.join("leases");
        fs::create_dir_all(&dir).map_err(io(format!("could not create {}", dir.display())))?;
        let path = dir.join(format!("{}-{}", std::process::id(), random_token()));
        fs::write(&path, b"").map_err(io(format!("could not create {}", path.display())))?;
        Ok(Self { path })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn grace_secs() -> u64 {
    std::env::var(SHARED_GRACE_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_GRACE_SECS)
}

/// `<target>/testservers/pg-shared`, or a directory in `$TMPDIR` keyed by the target
/// directory when the unprivileged account can't reach the target directory.
fn shared_root(run_as: &RunAs) -> Result<PathBuf> {
    let preferred = paths::state_dir().join("pg-shared");
    fs::create_dir_all(&preferred)
        .map_err(io(format!("could not create {}", preferred.display())))?;
    if run_as.user_name().is_none() || run_as.can_traverse(&preferred) {
        return Ok(preferred);
    }
    let mut hasher = DefaultHasher::new();
    paths::target_dir().hash(&mut hasher);
    let fallback =
        std::env::temp_dir().join(format!("billing-testservers-{:016x}", hasher.finish()));
    fs::create_dir_all(&fallback)
        .map_err(io(format!("could not create {}", fallback.display())))?;
    fs::set_permissions(&fallback, fs::Permissions::from_mode(0o711))
        .map_err(io(format!("could not chmod {}", fallback.display())))?;
    Ok(fallback)
}

/// The shared cluster if its files say one runs and it answers.
fn running_shared_cluster(root: &Path, pg_dir: &Path, run_as: &RunAs) -> Option<Cluster> {
    let port: u16 = fs::read_to_string(root.join("port"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    fs::read_to_string(root.join("generation")).ok()?;
    let cluster = Cluster::existing(pg_dir, run_as, port).ok()?;
    cluster.is_running().then_some(cluster)
}

/// Replaces whatever is left in `pg_dir` with a new running cluster and its watchdog.
/// Called with the shared lock held.
fn create_shared_cluster(root: &Path, pg_dir: &Path, run_as: &RunAs) -> Result<Cluster> {
    // Leftovers of a cluster that crashed or whose watchdog was killed.
    for stale in ["generation", "port", "reaper.pid"] {
        let _ = fs::remove_file(root.join(stale));
    }
    if pg_dir.join("data/postmaster.pid").exists()
        && let Ok(old) = Cluster::existing(pg_dir, run_as, 0)
    {
        let _ = old.stop("immediate");
    }
    match fs::remove_dir_all(pg_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Io {
                context: format!("could not remove {}", pg_dir.display()),
                source: e,
            });
        }
    }
    run_as.prepare_dir(pg_dir)?;
    Cluster::init(pg_dir, run_as, false, "")?;
    let cluster = Cluster::start(pg_dir, run_as, None)?;
    let token = random_token();
    let registered = (|| {
        write_file(&root.join("generation"), &token)?;
        write_file(&root.join("port"), &cluster.port.to_string())?;
        spawn_reaper(root, grace_secs(), &token, pg_dir, &cluster)
    })();
    if let Err(err) = registered {
        let _ = cluster.stop("immediate");
        let _ = fs::remove_file(root.join("generation"));
        return Err(err);
    }
    Ok(cluster)
}

fn spawn_reaper(
    root: &Path,
    grace: u64,
    token: &str,
    pg_dir: &Path,
    cluster: &Cluster,
) -> Result<()> {
    let pid = reaper::spawn(root, grace, token, pg_dir, &cluster.stop_argv("immediate"))?;
    write_file(&root.join("reaper.pid"), &pid.to_string())
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).map_err(io(format!("could not write {}", path.display())))
}

fn random_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `<prefix>_<16 random hex digits>`, a valid unquoted PostgreSQL identifier of at
/// most 63 bytes.
pub fn unique_database_name(prefix: &str) -> String {
    let mut name: String = prefix
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() { c } else { '_' }
        })
        .take(40)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name.insert_str(0, "db_");
    }
    let _ = write!(name, "_{:016x}", rand::random::<u64>());
    name
}

/// `url` with its database (path) replaced by `database`, keeping user, password,
/// host, port and query parameters.
pub fn with_database(url: &str, database: &str) -> Result<String> {
    let scheme_len = ["postgres://", "postgresql://"]
        .iter()
        .find(|scheme| url.starts_with(*scheme))
        .map(|scheme| scheme.len())
        .ok_or_else(|| Error::InvalidUrl(url.to_owned()))?;
    let (head, rest) = url.split_at(scheme_len);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find(['?', '#']).map_or("", |i| &tail[i..]);
    Ok(format!("{head}{authority}/{database}{query}"))
}

/// Finds a PostgreSQL program on `$PATH`, else in the newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_pg_program(name: &str) -> Result<PathBuf> {
    if let Some(found) = find_on_path(name) {
        return Ok(found);
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin").join(name)))
        })
        .filter(|(_, path)| crate::process::is_executable(path))
        .collect();
    versions.sort();
    versions.pop().map(|(_, path)| path).ok_or_else(|| Error::ProgramNotFound {
        name: name.to_owned(),
        searched: "PATH and /usr/lib/postgresql/*/bin".into(),
        hint: "install PostgreSQL (Debian: `apt-get install postgresql postgresql-contrib`), or set DATABASE_URL to a running server",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database_in_urls() -> Result<()> {
        assert_eq!(
            with_database("postgres://u:p@h:5432/admin?sslmode=disable", "t")?,
            "postgres://u:p@h:5432/t?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h", "t")?, "postgresql://h/t");
        assert_eq!(with_database("postgres://h/", "t")?, "postgres://h/t");
        assert_eq!(
            with_database("postgres://h?x=1", "t")?,
            "postgres://h/t?x=1"
        );
        assert!(with_database("mysql://h/db", "t").is_err());
        Ok(())
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TestPostgres>();
    }

    #[test]
    fn database_names_are_valid_and_unique() {
        let a = unique_database_name("Invoices-Test");
        let b = unique_database_name("Invoices-Test");
        assert_ne!(a, b);
        assert!(a.starts_with("invoices_test_"), "{a}");
        let odd = unique_database_name("9ü");
        assert!(odd.starts_with("db_9_"), "{odd}");
        let long = unique_database_name(&"x".repeat(200));
        assert!(long.len() <= 63);
    }
}
