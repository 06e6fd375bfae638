use jobq::cli::{GlobalArgs, ProgressArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::queue_of;

pub async fn run(args: ProgressArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    queue_of(&args.job)?;
    let mut progress = jobq::progress::parse_spec(&args.value, &args.message.join(" "))?;
    progress.updated_at = Some(chrono::Utc::now());
    let store = super::connect(g).await?;
    if !store.report_progress(&args.job, &args.lease, &progress).await? {
        // The job is unknown, or this attempt is over: its handler should stop.
        store.job(&args.job).await?;
        return Err(Error::Conflict(format!(
            "job {} is not running under this lease any more (timed out, recovered or finished); progress not stored",
            args.job
        )));
    }
    Ok(ExitStatus::Success)
}
