//! Python tools installed by the test tooling itself, each into its own virtual environment
//! under `<target>/tools`, so that nothing has to be installed by hand.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::error::{Error, Result, io};
use crate::paths;
use crate::process::{FileLock, find_on_path, is_executable, run_checked};

const MARKER: &str = ".billing-testservers-installed";

/// Makes sure `requirements` are installed in `<target>/tools/<venv_name>` and that
/// `check` (Python code, e.g. an import) runs there; returns the venv's Python. Does nothing when
/// the same requirements are already installed; concurrent callers (threads or processes) wait
/// for one installer.
pub fn install_tool(venv_name: &str, requirements: &[&str], check: &str) -> Result<PathBuf> {
    let venv = paths::tools_dir().join(venv_name);
    let python = venv.join("bin").join("python");
    let marker = venv.join(MARKER);
    let wanted = format!("{}\n", requirements.join("\n"));
    let installed =
        || fs::read_to_string(&marker).is_ok_and(|found| found == wanted) && is_executable(&python);
    if installed() {
        return Ok(python);
    }
    let _lock = FileLock::acquire(&venv.with_file_name(format!("{venv_name}.lock")))?;
    if installed() {
        return Ok(python);
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).map_err(io(format!("could not remove {}", venv.display())))?;
    }
    let python3 = find_on_path("python3").ok_or_else(|| Error::ProgramNotFound {
        name: "python3".into(),
        searched: "PATH".into(),
        hint: "the test tools need Python >= 3.9 with the venv module (Debian: `apt-get install python3 python3-venv`)",
    })?;
    run_checked(Command::new(python3).arg("-m").arg("venv").arg(&venv))?;
    run_checked(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
            ])
            .args(requirements),
    )?;
    run_checked(Command::new(&python).arg("-c").arg(check))?;
    fs::write(&marker, wanted).map_err(io(format!("could not write {}", marker.display())))?;
    Ok(python)
}

/// The schemathesis version the API fuzzing test runs.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Installs schemathesis and returns its command line, ready for arguments (`run ...`).
///
/// Hypothesis describes each filter lambda by parsing its source file; on CPython 3.11 that
/// parse, run deep inside schemathesis's generators on its largest module, can fail with
/// `SystemError: AST constructor recursion depth mismatch` (python/cpython#106905), a failure
/// of the tool that says nothing about the API under test. The command wraps the description
/// so that such a lambda is described as unknown, which changes only a strategy's `repr`.
pub fn schemathesis() -> Result<Command> {
    let python = install_tool(
        "schemathesis-venv",
        &[&format!("schemathesis=={SCHEMATHESIS_VERSION}")],
        "import schemathesis",
    )?;
    let mut command = Command::new(python);
    command.arg("-c").arg(SCHEMATHESIS_MAIN);
    Ok(command)
}

/// `st`'s entry point, with the lambda description made safe (see [`schemathesis`]).
const SCHEMATHESIS_MAIN: &str = "\
import sys
import hypothesis.internal.lambda_sources as sources
describe = sources._lambda_description
def described(f):
    try:
        return describe(f)
    except SystemError:
        return 'lambda: <unknown>'
sources._lambda_description = described
sys.argv[0] = 'st'
from schemathesis.cli import schemathesis
sys.exit(schemathesis())
";
