//! `cargo xtask tidy`: the architecture rules that the compiler does not check.
//!
//! - [`core_deps`]: `billing-core` depends only on its allow-list, with or without its features.
//! - [`architecture`]: the workspace crates depend on each other only in the allowed directions.
//! - [`file_size`]: no source file is over [`file_size::MAX_LINES`] lines.
//!
//! Every check runs, so that one run lists every problem, one line each.

mod architecture;
mod core_deps;
mod file_size;

use std::path::PathBuf;

use serde_json::Value;

use crate::output;

/// Runs every check. Prints one line per problem and fails when there is any.
pub(crate) fn tidy() -> Result<(), String> {
    let mut problems = Vec::new();
    let mut passed = Vec::new();

    match core_deps::check() {
        Ok(found) if found.is_empty() => passed.push("billing-core's allow-list".to_owned()),
        Ok(found) => problems.extend(found),
        Err(error) => problems.push(error),
    }

    // Both remaining checks start from the workspace as cargo sees it.
    match metadata() {
        Ok(metadata) => {
            match architecture::check(&metadata) {
                Ok((found, crates)) if found.is_empty() => {
                    passed.push(format!("the dependency directions of {crates} crates"));
                }
                Ok((found, _)) => problems.extend(found),
                Err(error) => problems.push(error),
            }
            match workspace_root(&metadata).and_then(|root| file_size::check(&root)) {
                Ok((found, files)) if found.is_empty() => passed.push(format!(
                    "{files} source files of at most {} lines",
                    file_size::MAX_LINES
                )),
                Ok((found, _)) => problems.extend(found),
                Err(error) => problems.push(error),
            }
        }
        Err(error) => problems.push(error),
    }

    if problems.is_empty() {
        eprintln!("tidy: ok: {}", passed.join(", "));
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    Err(match problems.len() {
        1 => "tidy found 1 problem".to_owned(),
        n => format!("tidy found {n} problems"),
    })
}

/// `cargo metadata` of the workspace's own crates.
fn metadata() -> Result<Value, String> {
    let json = output("cargo", &["metadata", "--format-version", "1", "--no-deps"])?;
    serde_json::from_str(&json).map_err(|e| format!("cannot read `cargo metadata`: {e}"))
}

fn workspace_root(metadata: &Value) -> Result<PathBuf, String> {
    metadata["workspace_root"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "`cargo metadata` gave no workspace_root".to_owned())
}
