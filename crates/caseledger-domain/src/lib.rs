//! The county's rules as pure code.
//!
//! This crate holds what the Anhua county implementation plan for property management
//! (安化县物业管理工作实施方案) decides, as data and pure functions:
//! - [`ids`]: validated identifiers ([`ids::UnitId`], [`ids::Category`], [`ids::Uscc`]);
//! - [`registry`]: the organisation registry (office, departments, townships, communities,
//!   compounds, firms, intake channels), loaded from TOML text and validated;
//! - [`policy`]: the responsibility matrix, the deadline policy and the credit policy;
//! - [`calendar`]: the working-day calendar with holidays and make-up working days (调休);
//! - [`deadline`]: each clock's deadline in China Standard Time, with its warning points;
//! - [`seal`]: sealing of complainants' personal data under per-person keys.
//! - [`act`]: every act as a typed event ([`act::Act`]), with its kind, schema version,
//!   stream and payload encoding;
//! - [`principal`], [`context`], [`rejection`]: who acts, what a decision reads, why it refuses;
//! - [`case`], [`firm`], [`governance`]: the aggregates — `decide` holds every rule,
//!   `evolve` none (governance: joint meetings, safety inspections, owners' self-governance,
//!   fire-safety agreements, property liaisons, the maintenance fund);
//! - [`credit`]: the credit score with a trace naming the act behind every point;
//! - [`schema`]: the JSON Schemas of acts and commands checked in under `schemas/`.
//!
//! *Architecture invariant:* the crate does no I/O, no async and knows no storage. Callers
//! read files and pass their text as a [`Source`]; every loader error names the file, the
//! line and the mistake.
//!
//! ```
//! use caseledger_domain::{ids::Uscc, Source, registry::Registry};
//!
//! let uscc: Uscc = "91350100M000100Y43".parse().unwrap();
//! assert_eq!(uscc.as_str(), "91350100M000100Y43");
//!
//! let text = r#"
//! [[unit]]
//! id = "office"
//! kind = "office"
//! name = "安化县物业管理工作领导小组办公室"
//! "#;
//! let registry = Registry::from_sources(&[Source { name: "county.toml", text }]).unwrap();
//! assert!(registry.unit(&"office".parse().unwrap()).is_some());
//! ```
#![deny(missing_docs)]

pub mod act;
pub mod calendar;
pub mod case;
pub mod context;
pub mod credit;
pub mod deadline;
pub mod firm;
pub mod governance;
pub mod ids;
pub mod load;
pub mod policy;
pub mod principal;
pub mod registry;
pub mod rejection;
pub mod schema;
pub mod seal;

pub use load::{LoadError, LoadErrorKind, Source};
