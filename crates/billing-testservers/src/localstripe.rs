//! A throwaway [localstripe](https://pypi.org/project/localstripe/) (a fake Stripe
//! API server) per caller.
//!
//! localstripe is installed by the tooling itself, once, into its own virtual
//! environment `<target>/tools/localstripe-venv` (`python3 -m venv` +
//! `pip install localstripe==1.15.10`); a lock file serialises concurrent
//! installers. Each [`LocalStripe`] is a separate process with its own state,
//! listening on 127.0.0.1 only, and is killed on drop.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, io};
use crate::paths;
use crate::process::{describe, free_port, log_tail};

/// The localstripe release installed and started.
pub const LOCALSTRIPE_VERSION: &str = "1.15.10";
/// A secret key localstripe accepts (it accepts any `sk_…`).
pub const SECRET_KEY: &str = "sk_test_billingtestservers";
/// A publishable key localstripe accepts (it accepts any `pk_…`).
pub const PUBLISHABLE_KEY: &str = "pk_test_billingtestservers";

/// How long a start may take before it is reported as failed.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const PORT_ATTEMPTS: usize = 5;

/// Run with `python -c SCRIPT PORT`.
///
/// - binds 127.0.0.1 only (`python -m localstripe` binds every interface);
/// - localstripe 1.15.10 pickles its store to the hard-coded path
///   `/tmp/localstripe.pickle` after every write, which concurrent instances would
///   share: the store is redirected to `$TMPDIR/localstripe.pickle` (one `$TMPDIR`
///   per instance) and never loaded, so each instance starts empty;
/// - exits by itself when its parent (the test process) is gone, even if that was
///   killed by a signal and could not run `Drop`.
const SCRIPT: &str = r#"
import os, pickle, sys, tempfile, threading, time

port = int(sys.argv[1])
from localstripe import resources, server
from aiohttp import web

store_path = os.path.join(tempfile.gettempdir(), 'localstripe.pickle')

def dump_to_disk(self):
    with open(store_path, 'wb') as f:
        pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)

resources.Store.dump_to_disk = dump_to_disk
resources.Store.try_load_from_disk = lambda self: None

parent = os.getppid()

def exit_with_parent():
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)

threading.Thread(target=exit_with_parent, daemon=True).start()
web.run_app(server.app, host='127.0.0.1', port=port, print=None, access_log=None)
"#;

/// A running localstripe, killed (and its state deleted) on drop, also when the
/// test panics.
#[derive(Debug)]
pub struct LocalStripe {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl LocalStripe {
    /// Installs localstripe if needed (first time: ≈15 s, needs PyPI), starts it on a
    /// free port of 127.0.0.1 and waits until it answers API requests.
    pub fn start() -> Result<Self> {
        let python = install()?;
        let mut attempt = 1;
        loop {
            let server = Self::spawn(&python)?;
            match server.wait_ready(READY_TIMEOUT) {
                Ok(()) => return Ok(server),
                Err(Error::ExitedEarly { log, .. })
                    if attempt < PORT_ATTEMPTS && log.contains("address already in use") =>
                {
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn spawn(python: &std::path::Path) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("localstripe-")
            .tempdir()
            .map_err(io("could not create a temporary directory"))?;
        let port = free_port()?;
        let log_path = dir.path().join("localstripe.log");
        let log = File::create(&log_path)
            .map_err(io(format!("could not create {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io("could not duplicate a file handle"))?;
        let mut cmd = Command::new(python);
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg(port.to_string())
            .env("TMPDIR", dir.path())
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = cmd
            .spawn()
            .map_err(io(format!("could not start `{}`", describe(&cmd))))?;
        Ok(Self { child, port, dir })
    }

    /// Polls until the server answers an authenticated request, it exits, or the
    /// deadline passes.
    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if probe(self.port) {
                return Ok(());
            }
            // `try_wait` needs `&mut`; a shared probe of /proc is enough here.
            if !crate::process::pid_alive(self.child.id()) {
                return Err(Error::ExitedEarly {
                    what: "localstripe".into(),
                    status: "exited".into(),
                    log: self.log(),
                });
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: format!("localstripe on 127.0.0.1:{}", self.port),
                    waited: started.elapsed(),
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>/`: the API base (`…/v1/customers`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A secret key it accepts ([`SECRET_KEY`]).
    pub fn secret_key(&self) -> &'static str {
        SECRET_KEY
    }

    /// A publishable key it accepts ([`PUBLISHABLE_KEY`]).
    pub fn publishable_key(&self) -> &'static str {
        PUBLISHABLE_KEY
    }

    /// The last lines of its output, for diagnosing failures.
    pub fn log(&self) -> String {
        log_tail(&self.dir.path().join("localstripe.log"), 40)
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One authenticated `GET /v1/customers?limit=1`; true on `200`.
fn probe(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "GET /v1/customers?limit=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {SECRET_KEY}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// `<target>/tools/localstripe-venv`.
pub fn venv_dir() -> PathBuf {
    paths::tools_dir().join("localstripe-venv")
}

/// Makes sure localstripe is installed in [`venv_dir`] and returns the venv's
/// Python. Does nothing when it already is; concurrent callers (threads or
/// processes) wait for one installer.
pub fn install() -> Result<PathBuf> {
    crate::python::install_tool(
        "localstripe-venv",
        &[
            &format!("localstripe=={LOCALSTRIPE_VERSION}"),
            "aiohttp>=3.8,<4",
        ],
        "import localstripe.server",
    )
}
