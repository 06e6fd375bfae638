//! `completions/` and `man/` are generated from the clap definitions; this test fails when
//! they are stale (or a file is left over). Regenerate with:
//! JOBQ_REGENERATE=1 cargo test --test it generated

use std::path::{Path, PathBuf};

use jobq::cli::CompletionShell;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every generated file with its wanted content: the same bytes `jobq completions SHELL` and
/// `jobq man DIR` produce.
fn files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for (shell, name) in [
        (CompletionShell::Bash, "jobq.bash"),
        (CompletionShell::Zsh, "_jobq"),
        (CompletionShell::Fish, "jobq.fish"),
    ] {
        out.push((
            root().join("completions").join(name),
            jobq::cli::completion_script(shell),
        ));
    }
    for (name, text) in jobq::cli::man_pages() {
        out.push((root().join("man").join(name), text));
    }
    out
}

fn present(dir: &str) -> Vec<PathBuf> {
    std::fs::read_dir(root().join(dir))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let regenerate = std::env::var_os("JOBQ_REGENERATE").is_some();
    let want = files();
    let mut stale = Vec::new();
    for (path, text) in &want {
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        } else if std::fs::read(path).ok().as_deref() != Some(&text[..]) {
            stale.push(path.display().to_string());
        }
    }
    for extra in present("man")
        .into_iter()
        .chain(present("completions"))
        .filter(|p| !want.iter().any(|(w, _)| w == p))
    {
        if regenerate {
            std::fs::remove_file(&extra).unwrap();
        } else {
            stale.push(format!("{} (no longer generated)", extra.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}\nregenerate them with: JOBQ_REGENERATE=1 cargo test --test it generated"
    );
}

#[test]
fn every_command_and_subcommand_has_a_man_page_and_pages_cite_only_existing_ones() {
    let pages = jobq::cli::man_pages();
    let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    for want in [
        "jobq.1",
        "jobq-enqueue.1",
        "jobq-dlq.1",
        "jobq-dlq-drain.1",
        "jobq-dlq-ls.1",
        "jobq-queue-rm.1",
    ] {
        assert!(names.iter().any(|n| n == want), "no {want} in {names:?}");
    }
    for (name, text) in &pages {
        let text = String::from_utf8_lossy(text);
        // References look like `jobq\-dlq\-drain(1)` in roff.
        for (i, _) in text.match_indices("(1)") {
            let head = &text[..i];
            let start = head.rfind(|c: char| c.is_whitespace()).map_or(0, |s| s + 1);
            let cited = head[start..].replace("\\-", "-");
            if cited.starts_with("jobq") {
                assert!(
                    names.contains(&format!("{cited}.1")),
                    "{name} cites {cited}(1), which has no page"
                );
            }
        }
    }
}

#[test]
fn jobq_man_writes_the_pages_and_completions_prints_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobq"))
        .arg("man")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (name, text) in jobq::cli::man_pages() {
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), text, "{name}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobq"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, jobq::cli::completion_script(CompletionShell::Bash));
    assert!(String::from_utf8_lossy(&out.stdout).contains("COMPLETE"));
}
