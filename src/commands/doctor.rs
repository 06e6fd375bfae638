use jobq::cli::{DoctorArgs, GlobalArgs};
use jobq::doctor::{diagnose, Finding, Level, Options};
use jobq::error::Result;
use jobq::exit::ExitStatus;

use crate::output;

pub async fn run(args: DoctorArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    let opts = Options {
        fix: args.fix,
        max_age: args.max_age,
        max_dead: args.max_dead,
    };
    let findings = diagnose(&store, &opts).await?;
    if g.json {
        output::json(&findings)?;
    } else {
        for f in &findings {
            output::line(render(f))?;
        }
    }
    let unhealthy = findings.iter().any(|f| f.level == Level::Problem && !f.fixed);
    Ok(if unhealthy {
        ExitStatus::Unhealthy
    } else {
        ExitStatus::Success
    })
}

fn render(f: &Finding) -> String {
    let mark = match (f.level, f.fixed) {
        (_, true) => "FIXED",
        (Level::Ok, _) => "ok",
        (Level::Warning, _) => "WARN",
        (Level::Problem, _) => "PROBLEM",
    };
    let mut text = format!("{mark:<8} {}: {}", f.check, f.detail);
    if let (Some(advice), false, false) = (&f.advice, f.fixed, f.level == Level::Ok) {
        text.push_str(&format!("\n         -> {advice}"));
    }
    text
}
