//! `jobq completions SHELL` and `jobq man DIR`: what a package or a user installs. Both come
//! from the clap definitions (cli.rs), like the copies in `completions/` and `man/`.

use std::io::Write;

use jobq::cli::{self, CompletionsArgs, ManArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;

use crate::output;

pub fn completions(args: CompletionsArgs) -> Result<ExitStatus> {
    let script = cli::completion_script(args.shell);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(ExitStatus::Success),
    }
}

pub fn man(args: ManArgs) -> Result<ExitStatus> {
    let cannot =
        |e: std::io::Error| Error::Io(format!("cannot write man pages to {}: {e}", args.dir.display()));
    std::fs::create_dir_all(&args.dir).map_err(cannot)?;
    let pages = cli::man_pages();
    for (name, text) in &pages {
        std::fs::write(args.dir.join(name), text).map_err(cannot)?;
    }
    output::note(format!(
        "wrote {} man pages to {}",
        pages.len(),
        args.dir.display()
    ));
    Ok(ExitStatus::Success)
}
