//! `jobq type set|ls|show|rm`: JSON Schemas that every enqueue checks payloads against.

use std::io::Read;

use jobq::cli::{GlobalArgs, TypeCommand};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::schedule::registry::{compile, MAX_SCHEMA_BYTES};
use serde::Serialize;

use crate::output;

/// One type as `type ls --json` / `type show --json` print it.
#[derive(Serialize)]
struct TypeInfo {
    #[serde(rename = "type")]
    job_type: String,
    schema: serde_json::Value,
}

pub async fn run(cmd: TypeCommand, g: &GlobalArgs) -> Result<ExitStatus> {
    match cmd {
        TypeCommand::Set(a) => {
            validate_name("type", &a.job_type)?;
            // Checked before connecting: an invalid schema never reaches Redis.
            let text = read_schema(&a.schema)?;
            compile(&a.job_type, &text)?;
            let store = super::connect(g).await?;
            store.set_type_schema(&a.job_type, &text).await?;
            if g.json {
                output::json(&info(&a.job_type, &text))?;
            } else {
                output::note(format!(
                    "payloads of type {} are now checked against the schema",
                    a.job_type
                ));
            }
        }
        TypeCommand::Ls(_) => {
            let store = super::connect(g).await?;
            let mut types: Vec<(String, String)> = store.type_schemas().await?.into_iter().collect();
            types.sort();
            if g.json {
                output::json(&types.iter().map(|(t, s)| info(t, s)).collect::<Vec<_>>())?;
            } else if types.is_empty() {
                output::note(format!("no type has a schema in namespace `{}`", g.namespace));
            } else {
                let mut t = output::table(&["TYPE", "SCHEMA"]);
                for (name, schema) in &types {
                    let compact = serde_json::from_str::<serde_json::Value>(schema)
                        .map(|v| v.to_string())
                        .unwrap_or_else(|_| schema.clone());
                    t.add_row(vec![name.clone(), output::clip(&compact, 60)]);
                }
                output::fit_last_column(&mut t);
                output::line(t)?;
            }
        }
        TypeCommand::Show(a) => {
            validate_name("type", &a.job_type)?;
            let store = super::connect(g).await?;
            let schemas = store.type_schemas().await?;
            let text = schemas
                .get(&a.job_type)
                .ok_or_else(|| not_found(&a.job_type, g))?;
            if g.json {
                output::json(&info(&a.job_type, text))?;
            } else {
                output::json(&serde_json::from_str::<serde_json::Value>(text).unwrap_or_default())?;
            }
        }
        TypeCommand::Rm(a) => {
            validate_name("type", &a.job_type)?;
            let store = super::connect(g).await?;
            if !store.remove_type_schema(&a.job_type).await? {
                return Err(not_found(&a.job_type, g));
            }
            if g.json {
                output::json(&serde_json::json!({ "removed": a.job_type }))?;
            } else {
                output::note(format!("type {} has no schema any more", a.job_type));
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn info(job_type: &str, text: &str) -> TypeInfo {
    TypeInfo {
        job_type: job_type.to_string(),
        schema: serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_string())),
    }
}

fn not_found(job_type: &str, g: &GlobalArgs) -> Error {
    Error::NotFound(format!(
        "type `{job_type}` has no schema in namespace `{}` (see `jobq type ls`)",
        g.namespace
    ))
}

fn read_schema(path: &std::path::Path) -> Result<String> {
    let name = path.display().to_string();
    let reader: Box<dyn Read> = if name == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| Error::invalid(format!("cannot read schema file {name}: {e}")))?,
        )
    };
    let mut buf = Vec::new();
    reader
        .take(MAX_SCHEMA_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::invalid(format!("cannot read schema file {name}: {e}")))?;
    if buf.len() > MAX_SCHEMA_BYTES {
        return Err(Error::invalid(format!(
            "schema {name} is larger than {MAX_SCHEMA_BYTES} bytes"
        )));
    }
    String::from_utf8(buf).map_err(|_| Error::invalid(format!("schema {name} is not UTF-8 text")))
}
