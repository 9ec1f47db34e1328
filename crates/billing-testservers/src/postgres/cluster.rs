//! One PostgreSQL cluster: `initdb`, `pg_ctl start`, status and stop.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::find_pg_program;
use crate::error::{Error, Result, io};
use crate::process::{RunAs, combined_output, describe, free_port, log_tail};

/// Superuser created by `initdb`.
pub(crate) const SUPERUSER: &str = "postgres";
/// Longest unix socket path the kernel accepts (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How many times a start is retried on another port when the chosen one was taken.
const PORT_ATTEMPTS: usize = 5;

/// A cluster living in `dir`: `dir/data` (the data directory), `dir/postgres.log`,
/// and the unix socket, all owned by the account PostgreSQL runs as.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub(crate) dir: PathBuf,
    pub(crate) port: u16,
    run_as: RunAs,
    pg_ctl: PathBuf,
}

impl Cluster {
    /// A handle on a cluster in `dir` that is believed to listen on `port`.
    pub(crate) fn existing(dir: &Path, run_as: &RunAs, port: u16) -> Result<Self> {
        Ok(Self {
            dir: dir.to_owned(),
            port,
            run_as: run_as.clone(),
            pg_ctl: find_pg_program("pg_ctl")?,
        })
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// URL of the `postgres` database as the superuser, over TCP on loopback.
    pub(crate) fn admin_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `initdb` into `dir/data` and writes the fixed settings.
    ///
    /// `dir` must exist and be usable by the account (see [`RunAs::prepare_dir`]).
    /// `durable = false` turns off `fsync` and friends: fast, and fine for data that
    /// may be lost in an OS crash. `extra` is appended to the settings as it is.
    pub(crate) fn init(dir: &Path, run_as: &RunAs, durable: bool, extra: &str) -> Result<()> {
        let initdb = find_pg_program("initdb")?;
        let data = dir.join("data");
        let args: Vec<OsString> = vec![
            "-D".into(),
            data.clone().into(),
            "-U".into(),
            SUPERUSER.into(),
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
            "--locale=C".into(),
            "--no-sync".into(),
            "--no-instructions".into(),
        ];
        let mut cmd = run_as.command(&initdb, &args);
        cmd.current_dir(dir);
        crate::process::run_checked(&mut cmd)?;

        let mut settings = String::from(
            "\n# --- billing-testservers ---\n\
             listen_addresses = '127.0.0.1'\n\
             max_connections = 300\n",
        );
        if !durable {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        settings.push_str(extra);
        // Port and socket directory change per start: kept in a file of their own.
        settings.push_str("include_if_exists = 'runtime.conf'\n");
        let conf = data.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(io(format!("could not append to {}", conf.display())))?;
        Ok(())
    }

    /// Starts the initialised cluster in `dir` (`pg_ctl -w start`) on `port` if
    /// given and free, otherwise on a free port, retrying on port clashes.
    pub(crate) fn start(dir: &Path, run_as: &RunAs, port: Option<u16>) -> Result<Self> {
        let mut port = match port {
            Some(p) if port_is_free(p) => p,
            _ => free_port()?,
        };
        let mut attempt = 1;
        loop {
            let cluster = Self::existing(dir, run_as, port)?;
            let log_start = fs::metadata(cluster.log_file()).map_or(0, |m| m.len());
            match cluster.start_once() {
                Ok(()) => return Ok(cluster),
                Err(_) if attempt < PORT_ATTEMPTS && cluster.lost_port_race(log_start) => {
                    attempt += 1;
                    port = free_port()?;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn start_once(&self) -> Result<()> {
        let socket_dir = if self.dir.join(".s.PGSQL.65535").as_os_str().len() <= MAX_SOCKET_PATH {
            self.dir.to_string_lossy().into_owned()
        } else {
            // Too long for a unix socket path: TCP only.
            String::new()
        };
        let runtime = format!(
            "port = {}\nunix_socket_directories = '{}'\n",
            self.port,
            socket_dir.replace('\'', "''")
        );
        let runtime_conf = self.data_dir().join("runtime.conf");
        fs::write(&runtime_conf, runtime)
            .map_err(io(format!("could not write {}", runtime_conf.display())))?;

        let args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            "-l".into(),
            self.log_file().into(),
            "-w".into(),
            "-t".into(),
            "60".into(),
            "-s".into(),
            "start".into(),
        ];
        let mut cmd = self.run_as.command(&self.pg_ctl, &args);
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        let output = cmd
            .output()
            .map_err(io(format!("could not run `{}`", describe(&cmd))))?;
        if output.status.success() {
            return Ok(());
        }
        Err(Error::CommandFailed {
            command: describe(&cmd),
            status: output.status.to_string(),
            output: format!(
                "{}\n--- {} ---\n{}",
                combined_output(&output),
                self.log_file().display(),
                log_tail(&self.log_file(), 30)
            ),
        })
    }

    /// Whether the log written since byte `log_start` says the port was taken.
    fn lost_port_race(&self, log_start: u64) -> bool {
        let Ok(log) = fs::read(self.log_file()) else {
            return false;
        };
        let start = usize::try_from(log_start)
            .unwrap_or(usize::MAX)
            .min(log.len());
        let new = String::from_utf8_lossy(&log[start..]);
        new.contains("could not bind") || new.contains("Address already in use")
    }

    /// Whether the postmaster of `dir` runs (`pg_ctl status`) and answers on the port.
    pub(crate) fn is_running(&self) -> bool {
        if !self.data_dir().join("postmaster.pid").exists() {
            return false;
        }
        let args: Vec<OsString> = vec!["-D".into(), self.data_dir().into(), "status".into()];
        let running = self
            .run_as
            .command(&self.pg_ctl, &args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        running
            && TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
                Duration::from_secs(2),
            )
            .is_ok()
    }

    /// The command line stopping the cluster with the given shutdown mode.
    pub(crate) fn stop_argv(&self, mode: &str) -> Vec<OsString> {
        let args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            "-m".into(),
            mode.into(),
            "-w".into(),
            "-s".into(),
            "stop".into(),
        ];
        self.run_as.argv(&self.pg_ctl, &args)
    }

    /// Stops the cluster (`pg_ctl stop -m <mode>`).
    pub(crate) fn stop(&self, mode: &str) -> Result<()> {
        let argv = self.stop_argv(mode);
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir("/");
        crate::process::run_checked(&mut cmd).map(drop)
    }
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}
