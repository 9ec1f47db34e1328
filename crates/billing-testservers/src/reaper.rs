//! A detached shell watchdog that stops a PostgreSQL cluster once no live process
//! holds a lease on it any more.
//!
//! `Drop` stops servers on normal exits and on panics, but a test process killed
//! by a signal (nextest timeout, Ctrl-C, OOM) runs no destructor, and `pg_ctl`
//! starts the postmaster in its own session, so nothing else would stop it.
//! The reaper runs in its own session too (`setsid`), so it survives the process
//! group kill that ends the test, and it is what stops the shared cluster a few
//! seconds after its last user is gone.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::process::{combined_output, find_on_path, run_checked};

/// Layout of a reaped directory `root`:
/// - `root/lock`: `flock` lock file guarding everything below;
/// - `root/generation`: token of the running cluster; the reaper quits when it changes;
/// - `root/leases/<pid>-<random>`: one file per live handle;
/// - the path to remove once the cluster is stopped.
const SCRIPT: &str = r#"
root=$1; grace=$2; token=$3; remove=$4; shift 4
exec 9>>"$root/lock" || exit 1
idle=0
while :; do
  sleep 1
  flock 9 || exit 1
  current=$(cat "$root/generation" 2>/dev/null) || current=
  [ "$current" = "$token" ] || exit 0
  live=0
  for f in "$root"/leases/*; do
    [ -e "$f" ] || continue
    p=${f##*/}; p=${p%%-*}
    s=$(cat "/proc/$p/stat" 2>/dev/null) || s=
    s=${s##*") "}; s=${s%% *}
    case $s in
      ''|Z|X) rm -f "$f" ;;
      *) live=1 ;;
    esac
  done
  if [ "$live" = 1 ]; then idle=0; else idle=$((idle + 1)); fi
  if [ "$live" = 0 ] && [ "$idle" -gt "$grace" ]; then
    "$@" >/dev/null 2>&1
    rm -f "$root/generation" "$root/port" "$root/reaper.pid"
    rm -rf "$remove"
    exit 0
  fi
  flock -u 9
done
"#;

/// Whether the tools the reaper needs (`setsid`, `flock`, `/bin/sh`) exist.
pub(crate) fn available() -> bool {
    find_on_path("setsid").is_some()
        && find_on_path("flock").is_some()
        && Path::new("/bin/sh").exists()
}

/// Starts a detached reaper for `root` and returns its pid.
///
/// `stop` is the command line stopping the cluster; `remove` is deleted after it.
/// With `grace_secs` = 0 the cluster is stopped within about a second of its last
/// lease holder dying; otherwise after that many further idle seconds.
pub(crate) fn spawn(
    root: &Path,
    grace_secs: u64,
    token: &str,
    remove: &Path,
    stop: &[OsString],
) -> Result<u32> {
    let setsid: PathBuf = find_on_path("setsid").ok_or_else(|| Error::ProgramNotFound {
        name: "setsid".into(),
        searched: "PATH".into(),
        hint: "install util-linux",
    })?;
    let output = run_checked(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(r#"set_sid=$1; script=$2; shift 2; "$set_sid" /bin/sh -c "$script" reaper "$@" </dev/null >/dev/null 2>&1 & echo $!"#)
            .arg("sh")
            .arg(&setsid)
            .arg(SCRIPT)
            .arg(root)
            .arg(grace_secs.to_string())
            .arg(token)
            .arg(remove)
            .args(stop)
            .current_dir("/"),
    )?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::Parse {
            what: "the reaper's pid",
            tool: "sh",
            output: combined_output(&output),
        })
}
