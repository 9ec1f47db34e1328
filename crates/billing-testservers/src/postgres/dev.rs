//! A persistent development cluster in `<target>/dev-postgres`, for `testdb` and
//! `cargo xtask db start|stop`.
//!
//! Unlike [`TestPostgres`](super::TestPostgres), nothing stops it on drop: it runs
//! until [`stop`] (`testdb stop`). Its data survives stops and restarts; delete the
//! directory to start afresh. Its URL is written to `<dir>/url` while it runs.

use std::fs;
use std::path::{Path, PathBuf};

use super::cluster::Cluster;
use crate::error::{Result, io};
use crate::paths;
use crate::process::{FileLock, RunAs};

/// `<target>/dev-postgres`.
pub fn default_dir() -> PathBuf {
    paths::target_dir().join("dev-postgres")
}

/// Starts the cluster in `dir` (creating it with `initdb` on first use) unless it
/// already runs, and returns its `DATABASE_URL`
/// (`postgres://postgres@127.0.0.1:<port>/postgres`). The port of the previous run
/// is reused when it is still free.
pub fn start(dir: &Path) -> Result<String> {
    let run_as = RunAs::detect()?;
    let _lock = FileLock::acquire(&lock_path(dir))?;
    if let Some(cluster) = running(dir, &run_as) {
        return Ok(cluster.admin_url());
    }
    run_as.prepare_dir(dir)?;
    let data = dir.join("data");
    if !data.join("PG_VERSION").exists() {
        if data.exists() {
            // A half-finished initdb.
            fs::remove_dir_all(&data)
                .map_err(io(format!("could not remove {}", data.display())))?;
        }
        Cluster::init(dir, &run_as, true, "")?;
    }
    let cluster = Cluster::start(dir, &run_as, recorded_port(dir))?;
    let url = cluster.admin_url();
    write(&dir.join("port"), &cluster.port.to_string())?;
    write(&dir.join("url"), &format!("{url}\n"))?;
    Ok(url)
}

fn write(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).map_err(io(format!("could not write {}", path.display())))
}

/// Stops the cluster in `dir` (`pg_ctl stop -m fast`); `Ok(false)` if it was not running.
pub fn stop(dir: &Path) -> Result<bool> {
    let run_as = RunAs::detect()?;
    let _lock = FileLock::acquire(&lock_path(dir))?;
    let was_running = match running(dir, &run_as) {
        Some(cluster) => {
            cluster.stop("fast")?;
            true
        }
        None => false,
    };
    let _ = fs::remove_file(dir.join("url"));
    Ok(was_running)
}

/// The URL of the cluster in `dir` if it runs.
pub fn url(dir: &Path) -> Result<Option<String>> {
    let run_as = RunAs::detect()?;
    Ok(running(dir, &run_as).map(|cluster| cluster.admin_url()))
}

fn running(dir: &Path, run_as: &RunAs) -> Option<Cluster> {
    let cluster = Cluster::existing(dir, run_as, recorded_port(dir)?).ok()?;
    cluster.is_running().then_some(cluster)
}

/// The port of the last start; kept across stops so the URL stays the same.
fn recorded_port(dir: &Path) -> Option<u16> {
    fs::read_to_string(dir.join("port"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn lock_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    dir.with_file_name(name)
}
