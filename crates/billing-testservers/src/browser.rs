//! Headless Chromium driven through WebDriver ([chromedriver]), for end-to-end
//! browser tests against pages served on localhost.
//!
//! The browser and driver are Debian's `chromium` and `chromium-driver` packages
//! ([`CHROMIUM`], [`CHROMEDRIVER`]). When they are missing and the tests run as root
//! (as in CI), they are installed with `apt-get` on first use; a lock file under
//! `<target>/tools` serialises concurrent installers. Otherwise starting fails with
//! an error naming the packages.
//!
//! Each [`ChromeDriver`] is a separate chromedriver on a free port of 127.0.0.1,
//! in its own process group together with the browsers it launches. The group is
//! killed on drop, and by a detached watchdog when the test process dies without
//! running `Drop`.
//!
//! [chromedriver]: https://developer.chrome.com/docs/chromedriver

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::error::{Error, Result, io};
use crate::paths;
use crate::process::{
    FileLock, combined_output, describe, find_on_path, free_port, is_executable, log_tail,
    run_checked,
};

/// The browser (Debian package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server (Debian package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The Debian packages providing [`CHROMIUM`] and [`CHROMEDRIVER`].
pub const PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Command-line switches of every browser started through [`ChromeDriver`]
/// (besides `--user-data-dir`).
///
/// The machines running the tests may have no internet access: without the
/// `--disable-*` networking switches Chromium keeps retrying refused connections
/// (component updates, sync, field trials), which slows everything down.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    // Root (CI) cannot use the sandbox, and containers often lack user namespaces.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Containers often have a tiny /dev/shm.
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const PORT_ATTEMPTS: usize = 5;
/// How long apt waits for another apt/dpkg run to release its lock.
const APT_LOCK_TIMEOUT_SECS: u32 = 600;

/// Run with `sh -c WATCHDOG watchdog PARENT GROUP DIR` in its own process group, so
/// the group kill that ends a timed-out test spares it. Once process `PARENT` (the
/// test) is gone, kills process group `GROUP` (chromedriver and its browsers) and
/// deletes `DIR`; exits by itself once the group is gone (normal drop).
const WATCHDOG: &str = r#"
parent=$1; group=$2; remove=$3
while :; do
  sleep 1
  kill -s 0 -- "-$group" 2>/dev/null || exit 0
  s=$(cat "/proc/$parent/stat" 2>/dev/null) || s=
  s=${s##*") "}; s=${s%% *}
  case $s in
    ''|Z|X)
      kill -s KILL -- "-$group" 2>/dev/null
      # Let the killed processes go before deleting what they had open.
      n=0
      while kill -s 0 -- "-$group" 2>/dev/null && [ "$n" -lt 50 ]; do
        sleep 0.1; n=$((n + 1))
      done
      [ -n "$remove" ] && rm -rf -- "$remove"
      exit 0 ;;
  esac
done
"#;

/// A running chromedriver, killed together with every browser it started on drop,
/// also when the test panics.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let driver = billing_testservers::ChromeDriver::start()?;
/// let browser = driver.session().await?;
/// browser.goto("http://127.0.0.1:8080/").await?;
/// browser.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ChromeDriver {
    child: Child,
    watchdog: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    profiles: AtomicUsize,
}

impl ChromeDriver {
    /// Installs Chromium if needed (see [`install`]), starts chromedriver on a free
    /// port of 127.0.0.1 and waits until it accepts new sessions.
    pub fn start() -> Result<Self> {
        install()?;
        let mut attempt = 1;
        loop {
            let mut driver = Self::spawn()?;
            match driver.wait_ready(READY_TIMEOUT) {
                Ok(()) => return Ok(driver),
                Err(Error::ExitedEarly { log, .. })
                    if attempt < PORT_ATTEMPTS && port_taken(&log) =>
                {
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn spawn() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("chromedriver-")
            .tempdir()
            .map_err(io("could not create a temporary directory"))?;
        // Chromium keeps its crash database under $XDG_CONFIG_HOME (else ~/.config),
        // outside --user-data-dir: keep it in the throwaway directory too.
        let home = dir.path().join("home");
        fs::create_dir(&home).map_err(io(format!("could not create {}", home.display())))?;
        let port = free_port()?;
        let log_path = dir.path().join("chromedriver.log");
        let log = File::create(&log_path)
            .map_err(io(format!("could not create {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io("could not duplicate a file handle"))?;
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            // Its own group, inherited by the browsers, so one kill stops them all.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = cmd
            .spawn()
            .map_err(io(format!("could not start `{}`", describe(&cmd))))?;
        let watchdog = spawn_watchdog(child.id(), dir.path());
        Ok(Self {
            child,
            watchdog,
            port,
            dir,
            profiles: AtomicUsize::new(0),
        })
    }

    /// Polls `GET /status` until chromedriver reports itself ready, it exits, or the
    /// deadline passes.
    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if probe(self.port) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::ExitedEarly {
                    what: "chromedriver".into(),
                    status: status.to_string(),
                    log: self.log(),
                });
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: format!("chromedriver on 127.0.0.1:{}", self.port),
                    waited: started.elapsed(),
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`: the WebDriver endpoint.
    pub fn webdriver_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (local connections only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// WebDriver capabilities for a new headless Chromium session: [`CHROMIUM`] with
    /// [`CHROMIUM_ARGS`] and a fresh, empty profile directory that lives as long as
    /// this driver.
    ///
    /// Each call names a new profile directory: sessions cannot share one.
    pub fn capabilities(&self) -> Map<String, Value> {
        let n = self.profiles.fetch_add(1, Ordering::Relaxed);
        // Chromium creates the directory itself.
        let profile = self.dir.path().join(format!("profile-{n}"));
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&a| a.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut caps = Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        caps
    }

    /// Opens a new browser session with [`capabilities`](Self::capabilities).
    ///
    /// Must run inside a Tokio runtime. Close it with `Client::close` (dropping the
    /// last clone closes it too, in the background); the browser is killed with
    /// the driver anyway.
    pub async fn session(&self) -> Result<fantoccini::Client, fantoccini::error::NewSessionError> {
        // Plain HTTP: chromedriver only listens locally, no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        fantoccini::ClientBuilder::new(connector)
            .capabilities(self.capabilities())
            .connect(&self.webdriver_url())
            .await
    }

    /// The last lines of chromedriver's output, for diagnosing failures.
    pub fn log(&self) -> String {
        log_tail(&self.dir.path().join("chromedriver.log"), 40)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The browsers are in chromedriver's process group, whose id is its pid.
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(watchdog) = &mut self.watchdog {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// One `GET /status`; true when chromedriver answers `"ready":true`.
fn probe(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    // chromedriver keeps the connection open despite `Connection: close`: read
    // exactly `Content-Length` bytes of body instead of waiting for EOF.
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    while response.len() < 64 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
        if response_complete(&response) {
            break;
        }
    }
    let response = String::from_utf8_lossy(&response);
    response.starts_with("HTTP/1.1 200") && response.contains(r#""ready":true"#)
}

/// Whether `response` holds an HTTP head and the whole body its `Content-Length` announces.
fn response_complete(response: &[u8]) -> bool {
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&response[..head_end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            value.trim().parse::<usize>().ok()
        } else {
            None
        }
    });
    length.is_some_and(|length| response.len() >= head_end + 4 + length)
}

/// Whether chromedriver's log says it lost the race for its port.
fn port_taken(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("port not available")
}

/// Sends SIGKILL to process group `group` (through the shell: no `unsafe` libc call).
fn kill_group(group: u32) {
    let _ = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"kill -s KILL -- "-$1" 2>/dev/null"#)
        .arg("sh")
        .arg(group.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Starts the [`WATCHDOG`] for process group `group` and directory `dir`. Best
/// effort: without it only an outright killed test process leaks its browsers.
fn spawn_watchdog(group: u32, dir: &Path) -> Option<Child> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .arg(group.to_string())
        .arg(dir)
        .current_dir("/")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn installed() -> bool {
    is_executable(Path::new(CHROMIUM)) && is_executable(Path::new(CHROMEDRIVER))
}

/// `<target>/tools/chromium-apt.lock`: serialises installers across test processes.
fn lock_path() -> PathBuf {
    paths::tools_dir().join("chromium-apt.lock")
}

/// Makes sure [`CHROMIUM`] and [`CHROMEDRIVER`] exist, installing [`PACKAGES`] with
/// `apt-get` when they are missing and we are root (after an `apt-get update` if
/// the first attempt fails). Concurrent callers (threads or processes) wait for
/// one installer. Not root and missing: an error naming the packages.
pub fn install() -> Result<()> {
    if installed() {
        return Ok(());
    }
    let missing = if is_executable(Path::new(CHROMIUM)) {
        CHROMEDRIVER
    } else {
        CHROMIUM
    };
    if !is_root()? {
        return Err(Error::ProgramNotFound {
            name: missing.into(),
            searched: "/usr/bin".into(),
            hint: "browser tests need the Debian packages `chromium` and `chromium-driver`: run `sudo apt-get install chromium chromium-driver` (when the tests run as root they install them themselves)",
        });
    }
    let apt_get = find_on_path("apt-get").ok_or_else(|| Error::ProgramNotFound {
        name: "apt-get".into(),
        searched: "PATH".into(),
        hint: "browser tests install the Debian packages `chromium` and `chromium-driver` with apt-get; install them by hand on other systems",
    })?;
    let _lock = FileLock::acquire(&lock_path())?;
    if installed() {
        return Ok(());
    }
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(&apt_get);
        cmd.env("DEBIAN_FRONTEND", "noninteractive")
            // Wait for a concurrent apt/dpkg run instead of failing at once.
            .arg("-o")
            .arg(format!("DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_SECS}"))
            .arg("-q")
            .args(args);
        run_checked(&mut cmd)
    };
    let install_args: Vec<&str> = ["install", "-y", "--no-install-recommends"]
        .into_iter()
        .chain(PACKAGES)
        .collect();
    // Stale or absent package lists ("Unable to locate package") need an update.
    if apt(&install_args).is_err() {
        apt(&["update"])?;
        apt(&install_args)?;
    }
    if installed() {
        Ok(())
    } else {
        Err(Error::ProgramNotFound {
            name: missing.into(),
            searched: "/usr/bin".into(),
            hint: "`apt-get install chromium chromium-driver` succeeded but did not provide it",
        })
    }
}

fn is_root() -> Result<bool> {
    let output = run_checked(Command::new("id").arg("-u"))?;
    let uid: u32 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::Parse {
            what: "a numeric uid",
            tool: "id -u",
            output: combined_output(&output),
        })?;
    Ok(uid == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_taken_port() {
        assert!(port_taken(
            "[1795602742.205][SEVERE]: bind() failed: Address already in use (98)\nIPv6 port not available. Exiting..."
        ));
        assert!(!port_taken(
            "ChromeDriver was started successfully on port 9515."
        ));
    }

    #[test]
    fn knows_when_a_response_is_complete() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 5\r\n\r\n";
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\n"));
        assert!(!response_complete(format!("{head}{{\"a\"").as_bytes()));
        assert!(response_complete(format!("{head}{{\"a\"}}").as_bytes()));
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\n\r\n{}"));
    }
}
