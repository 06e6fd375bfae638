//! `completions/` and `man/` are generated from the clap definitions; this test fails when
//! they are stale. Regenerate with: JOBQ_REGENERATE=1 cargo test --test it generated

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn files() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = jobq::cli::Cli::command();
    cmd.build();
    let mut out = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "jobq.bash"),
        (Shell::Zsh, "_jobq"),
        (Shell::Fish, "jobq.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "jobq", &mut buf);
        out.push((root.join("completions").join(name), buf));
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf).unwrap();
    out.push((root.join("man/jobq.1"), buf));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("jobq-{}", sub.get_name());
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub.clone().name(&*name.clone().leak()))
            .render(&mut buf)
            .unwrap();
        out.push((root.join("man").join(format!("{name}.1")), buf));
    }
    out
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let regenerate = std::env::var_os("JOBQ_REGENERATE").is_some();
    let mut stale = Vec::new();
    for (path, want) in files() {
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&want[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}\nregenerate them with: JOBQ_REGENERATE=1 cargo test --test it generated"
    );
}
