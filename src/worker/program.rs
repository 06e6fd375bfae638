//! A handler whose program does not exist fails at worker start, not one attempt at a time
//! (issue 9 item 9): a typo in `--handler` would otherwise burn every job's attempts.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::process::HandlerSpec;
use crate::error::{Error, Result};

impl HandlerSpec {
    /// Checks that the program (`argv[0]`) can be run: a path must name an executable file
    /// (relative to the worker's directory, where handlers run), a bare name must be on `PATH`.
    /// `what` names the handler in the error (`handler for type send_email`).
    pub fn check_program(&self, what: &str) -> Result<()> {
        let program = &self.argv[0];
        let found = if program.contains('/') {
            let path = Path::new(program);
            match std::fs::metadata(path) {
                Err(_) => Err(format!("`{program}` does not exist{}", relative_hint(path))),
                Ok(_) if !is_executable(path) => Err(format!(
                    "`{program}` is not an executable file (chmod +x it, or name its interpreter: `sh {program}`)"
                )),
                Ok(_) => Ok(()),
            }
        } else {
            search_path(program)
                .map(|_| ())
                .ok_or_else(|| format!("`{program}` is not an executable on PATH"))
        };
        found.map_err(|why| Error::invalid(format!("{what}: {why}")))
    }
}

fn relative_hint(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(dir) if path.is_relative() => format!(" (relative to {})", dir.display()),
        _ => String::new(),
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn search_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_executable_programs_are_refused() {
        let ok = HandlerSpec::parse("sh -c true").unwrap();
        assert!(ok.check_program("h").is_ok());
        let missing = HandlerSpec::parse("./surely-not-here.sh").unwrap();
        let e = missing
            .check_program("handler for type t")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("handler for type t: `./surely-not-here.sh` does not exist"),
            "{e}"
        );
        let not_on_path = HandlerSpec::parse("surely-not-a-command-jobq").unwrap();
        assert!(not_on_path.check_program("h").is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.sh");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        let spec = HandlerSpec::parse(file.to_str().unwrap()).unwrap();
        let e = spec.check_program("h").unwrap_err().to_string();
        assert!(e.contains("not an executable file"), "{e}");
        assert!(HandlerSpec::parse(dir.path().to_str().unwrap())
            .unwrap()
            .check_program("h")
            .is_err());
    }
}
