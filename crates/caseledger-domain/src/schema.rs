//! JSON Schemas of every act and command, generated from the Rust types (schemars), and the
//! files they are checked in as under `schemas/acts/` and `schemas/commands/`.
//!
//! This module only builds the texts; a test of this crate compares them with the checked-in
//! files and fails on any difference (run it with `UPDATE_SCHEMAS=1` to rewrite them), so
//! the schemas in the repository always describe what the code reads and writes.
//!
//! Layout (paths relative to `schemas/`):
//! - `acts/<Kind>.v<schema version>.json` — one act's JSON form, `{"act": "<Kind>", …}`;
//! - `acts/Act.json` — any act (the tagged union);
//! - `acts/index.json` — every kind with its schema version and stream (`case`, `firm`,
//!   `governance` or `compound`);
//! - `commands/case/<Name>.json`, `commands/firm/<Name>.json`,
//!   `commands/governance/<Name>.json` — one command's JSON form, `{"command": "<Name>", …}`;
//! - `commands/CaseCommand.json`, `commands/FirmCommand.json`,
//!   `commands/GovernanceCommand.json` — the tagged unions.
//!
//! ```
//! let files = caseledger_domain::schema::schema_files();
//! assert!(files.iter().any(|(path, _)| path == "acts/ComplaintFiled.v1.json"));
//! assert!(files.iter().any(|(path, _)| path == "commands/case/DispatchCase.json"));
//! ```

use crate::act::{act_schemas, Act};
use crate::case::{case_command_schemas, CaseCommand};
use crate::firm::{firm_command_schemas, FirmCommand};
use crate::governance::{governance_command_schemas, GovernanceCommand};

fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a schema is JSON");
    text.push('\n');
    text
}

fn root<T: schemars::JsonSchema>(id: &str) -> schemars::Schema {
    let mut schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$id".into(),
            serde_json::Value::String(format!("caseledger:{id}")),
        );
    }
    schema
}

/// Every schema file: its path relative to `schemas/` and its text (pretty JSON, newline at
/// the end), in path order.
pub fn schema_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut index = Vec::new();
    for (kind, version, schema) in act_schemas() {
        files.push((format!("acts/{kind}.v{version}.json"), pretty(&schema)));
        let stream = if Act::CASE_KINDS.contains(&kind) {
            "case"
        } else if Act::FIRM_KINDS.contains(&kind) {
            "firm"
        } else if matches!(kind, "JointMeetingConvened" | "SafetyInspectionRecorded") {
            "governance"
        } else {
            "compound"
        };
        index
            .push(serde_json::json!({ "kind": kind, "schema_version": version, "stream": stream }));
    }
    files.push(("acts/Act.json".into(), pretty(&root::<Act>("act"))));
    files.push(("acts/index.json".into(), pretty(&index)));
    for (name, schema) in case_command_schemas() {
        files.push((format!("commands/case/{name}.json"), pretty(&schema)));
    }
    for (name, schema) in firm_command_schemas() {
        files.push((format!("commands/firm/{name}.json"), pretty(&schema)));
    }
    for (name, schema) in governance_command_schemas() {
        files.push((format!("commands/governance/{name}.json"), pretty(&schema)));
    }
    files.push((
        "commands/GovernanceCommand.json".into(),
        pretty(&root::<GovernanceCommand>("command/governance")),
    ));
    files.push((
        "commands/CaseCommand.json".into(),
        pretty(&root::<CaseCommand>("command/case")),
    ));
    files.push((
        "commands/FirmCommand.json".into(),
        pretty(&root::<FirmCommand>("command/firm")),
    ));
    files.sort();
    files
}
