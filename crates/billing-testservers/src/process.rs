//! Small process, file and port helpers shared by the server modules.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::error::{Error, Result, io};

/// Looks `name` up in the directories of `$PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Formats a command line for error messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&shell_quote(arg));
    }
    out
}

/// Quotes one word for a POSIX shell.
pub(crate) fn shell_quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c))
    {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` to completion (stdin closed) and fails unless it exits successfully.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<Output> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("could not run `{}`", describe(cmd))))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(Error::CommandFailed {
            command: describe(cmd),
            status: output.status.to_string(),
            output: combined_output(&output),
        })
    }
}

pub(crate) fn combined_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !text.is_empty() && !stderr.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&stderr);
    text
}

/// Asks the kernel for a currently free TCP port on 127.0.0.1.
///
/// The port is released before returning, so callers must cope with losing a race
/// for it (both servers retry with another port when binding fails).
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io("could not bind an ephemeral port on 127.0.0.1"))?;
    let port = listener
        .local_addr()
        .map_err(io("could not read the ephemeral port"))?
        .port();
    Ok(port)
}

/// The last `max_lines` lines of a (log) file, or a note saying why there are none.
pub(crate) fn log_tail(path: &Path, max_lines: usize) -> String {
    const MAX_BYTES: u64 = 16 * 1024;
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_BYTES {
        let _ = file.seek(SeekFrom::Start(len - MAX_BYTES));
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

/// Whether a process with this pid exists and is not a zombie.
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: `pid (comm) S ...`; comm may itself contain parentheses and spaces.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// An exclusive advisory lock (`flock(2)`) on a lock file, released on drop.
///
/// Works across processes and between threads of one process (each holder opens
/// the file separately), and is compatible with the `flock(1)` command.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(io(format!("could not create {}", parent.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io(format!("could not open lock file {}", path.display())))?;
        file.lock()
            .map_err(io(format!("could not lock {}", path.display())))?;
        Ok(Self { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Who runs the PostgreSQL server binaries.
///
/// PostgreSQL refuses to run as root. When we are root (as in CI), `initdb`,
/// `pg_ctl` and `postgres` run as an unprivileged account through `runuser`
/// (or `su` when `runuser` is missing), and their directories are handed to it.
#[derive(Debug, Clone)]
pub(crate) enum RunAs {
    /// Not root: run the binaries directly.
    Current,
    /// Root: switch to this account first.
    User {
        name: String,
        uid: u32,
        gid: u32,
        switch: Switch,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Switch {
    Runuser(PathBuf),
    Su(PathBuf),
}

/// Environment variable naming the account used when running as root.
pub const PG_USER_ENV: &str = "BILLING_TESTSERVERS_PG_USER";

impl RunAs {
    /// Decides once per process how PostgreSQL binaries are run.
    pub(crate) fn detect() -> Result<Self> {
        static CACHE: OnceLock<RunAs> = OnceLock::new();
        if let Some(found) = CACHE.get() {
            return Ok(found.clone());
        }
        let found = Self::detect_uncached()?;
        Ok(CACHE.get_or_init(|| found).clone())
    }

    fn detect_uncached() -> Result<Self> {
        if current_uid()? != 0 {
            return Ok(Self::Current);
        }
        let switch = if let Some(runuser) = find_on_path("runuser") {
            Switch::Runuser(runuser)
        } else if let Some(su) = find_on_path("su") {
            Switch::Su(su)
        } else {
            return Err(Error::ProgramNotFound {
                name: "runuser".into(),
                searched: "PATH".into(),
                hint: "running as root needs `runuser` or `su` (util-linux / login packages)",
            });
        };
        let candidates: Vec<String> = match std::env::var(PG_USER_ENV) {
            Ok(user) if !user.is_empty() => vec![user],
            _ => vec!["postgres".into(), "nobody".into()],
        };
        for name in candidates {
            if let (Some(uid), Some(gid)) = (id_of(&name, "-u"), id_of(&name, "-g")) {
                if uid == 0 {
                    continue;
                }
                return Ok(Self::User {
                    name,
                    uid,
                    gid,
                    switch,
                });
            }
        }
        Err(Error::NoUnprivilegedUser)
    }

    /// The account's name when switching, for messages.
    pub(crate) fn user_name(&self) -> Option<&str> {
        match self {
            Self::Current => None,
            Self::User { name, .. } => Some(name),
        }
    }

    /// The argument vector running `program args` as the right account.
    pub(crate) fn argv(&self, program: &Path, args: &[OsString]) -> Vec<OsString> {
        match self {
            Self::Current => std::iter::once(program.as_os_str().to_owned())
                .chain(args.iter().cloned())
                .collect(),
            Self::User {
                name,
                switch: Switch::Runuser(runuser),
                ..
            } => {
                let mut argv: Vec<OsString> = vec![
                    runuser.clone().into(),
                    "-u".into(),
                    name.into(),
                    "--".into(),
                    program.as_os_str().to_owned(),
                ];
                argv.extend(args.iter().cloned());
                argv
            }
            Self::User {
                name,
                switch: Switch::Su(su),
                ..
            } => {
                let mut script = String::from("exec");
                for word in
                    std::iter::once(program.as_os_str()).chain(args.iter().map(|a| a.as_os_str()))
                {
                    script.push(' ');
                    script.push_str(&shell_quote(word));
                }
                vec![
                    su.clone().into(),
                    "-s".into(),
                    "/bin/sh".into(),
                    name.into(),
                    "-c".into(),
                    script.into(),
                ]
            }
        }
    }

    /// A [`Command`] running `program args` as the right account.
    pub(crate) fn command(&self, program: &Path, args: &[OsString]) -> Command {
        let argv = self.argv(program, args);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd
    }

    /// Creates `dir` (and parents) and makes it owned by, and usable for, the account.
    pub(crate) fn prepare_dir(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(io(format!("could not create {}", dir.display())))?;
        if let Self::User { name, uid, gid, .. } = self {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
                .map_err(io(format!("could not chown {} to {name}", dir.display())))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(io(format!("could not chmod {}", dir.display())))?;
            if !self.can_use(dir) {
                return Err(Error::NotAccessible {
                    path: dir.to_owned(),
                    user: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Whether the account can enter and write `dir` (checks every ancestor's permissions).
    pub(crate) fn can_use(&self, dir: &Path) -> bool {
        let Some(test) = find_on_path("test") else {
            return true;
        };
        let args: Vec<OsString> = vec![
            "-w".into(),
            dir.as_os_str().to_owned(),
            "-a".into(),
            "-x".into(),
            dir.as_os_str().to_owned(),
        ];
        self.command(&test, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Whether the account can enter `dir` (so it can reach things below it).
    pub(crate) fn can_traverse(&self, dir: &Path) -> bool {
        let Some(test) = find_on_path("test") else {
            return true;
        };
        let args: Vec<OsString> = vec!["-x".into(), dir.as_os_str().to_owned()];
        self.command(&test, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .status()
            .is_ok_and(|s| s.success())
    }
}

fn current_uid() -> Result<u32> {
    let output = run_checked(Command::new("id").arg("-u"))?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::Parse {
            what: "a numeric uid",
            tool: "id -u",
            output: combined_output(&output),
        })
}

fn id_of(user: &str, flag: &str) -> Option<u32> {
    let output = Command::new("id")
        .arg(flag)
        .arg(user)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(OsStr::new("abc/d-e")), "abc/d-e");
        assert_eq!(shell_quote(OsStr::new("a b")), "'a b'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }

    #[test]
    fn own_pid_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(u32::MAX));
    }
}
