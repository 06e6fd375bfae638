//! `jobq route set|ls|rm`: which queue a job type goes to when its enqueue names none.

use jobq::cli::{GlobalArgs, RouteCommand};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::schedule::registry::validate_pattern;
use jobq::schedule::Route;

use crate::output;

pub async fn run(cmd: RouteCommand, g: &GlobalArgs) -> Result<ExitStatus> {
    match cmd {
        RouteCommand::Set(a) => {
            validate_pattern(&a.pattern)?;
            validate_name("queue", &a.queue)?;
            let store = super::connect(g).await?;
            let route = Route {
                pattern: a.pattern,
                queue: a.queue,
            };
            store.set_route(&route).await?;
            if g.json {
                output::json(&route)?;
            } else {
                output::note(format!(
                    "types matching `{}` now go to queue {}",
                    route.pattern, route.queue
                ));
            }
        }
        RouteCommand::Ls(_) => {
            let store = super::connect(g).await?;
            let registry = store.read_registry().await?;
            let routes = registry.routes();
            if g.json {
                output::json(&routes)?;
            } else if routes.is_empty() {
                output::note(format!(
                    "no routes in namespace `{}`: jobs without --queue go to normal",
                    g.namespace
                ));
            } else {
                let mut t = output::table(&["PATTERN", "QUEUE"]);
                for r in routes {
                    t.add_row(vec![r.pattern.clone(), r.queue.clone()]);
                }
                output::line(t)?;
            }
        }
        RouteCommand::Rm(a) => {
            validate_pattern(&a.pattern)?;
            let store = super::connect(g).await?;
            if !store.remove_route(&a.pattern).await? {
                return Err(Error::NotFound(format!(
                    "no route with pattern `{}` in namespace `{}` (see `jobq route ls`)",
                    a.pattern, g.namespace
                )));
            }
            if g.json {
                output::json(&serde_json::json!({ "removed": a.pattern }))?;
            } else {
                output::note(format!("route `{}` removed", a.pattern));
            }
        }
    }
    Ok(ExitStatus::Success)
}
