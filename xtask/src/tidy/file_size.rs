//! No source file is over [`MAX_LINES`] lines: a longer one holds more than one concept and is
//! split by concept.

use std::path::Path;

use crate::output;

/// The most lines a source file may have.
pub(super) const MAX_LINES: usize = 800;

/// The folders whose Rust files are checked.
const ROOTS: &[&str] = &["crates", "tests", "xtask"];

/// The files over [`MAX_LINES`], longest first, and how many files were checked. The files are
/// those git knows under [`ROOTS`]: tracked, and new ones it does not ignore (so that a file is
/// checked before its first commit); a tracked file deleted from the work tree is left out.
pub(super) fn check(root: &Path) -> Result<(Vec<String>, usize), String> {
    let root_arg = root.to_string_lossy();
    let mut args = vec![
        "-C",
        root_arg.as_ref(),
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
    ];
    args.extend_from_slice(ROOTS);
    let listed = output("git", &args)?;
    let mut files: Vec<&str> = listed.split('\0').filter(|f| f.ends_with(".rs")).collect();
    files.sort_unstable();
    files.dedup();

    let mut checked = 0;
    let mut over = Vec::new();
    for file in files {
        let text = match std::fs::read(root.join(file)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {file}: {e}")),
        };
        checked += 1;
        let lines = count_lines(&text);
        if lines > MAX_LINES {
            over.push((lines, file));
        }
    }
    over.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let problems = over
        .into_iter()
        .map(|(lines, file)| format!("{file} has {lines} lines (at most {MAX_LINES})"))
        .collect();
    Ok((problems, checked))
}

/// Lines as an editor shows them: a last line without a newline counts too.
fn count_lines(text: &[u8]) -> usize {
    let newlines = text.iter().filter(|&&b| b == b'\n').count();
    if text.last().is_some_and(|&b| b != b'\n') {
        newlines + 1
    } else {
        newlines
    }
}

#[cfg(test)]
mod tests {
    use super::count_lines;

    #[test]
    fn lines_are_counted_like_an_editor() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"one\n"), 1);
        assert_eq!(count_lines(b"one\ntwo"), 2);
        assert_eq!(count_lines(b"one\n\nthree\n"), 3);
    }
}
