//! Records to facts, through the domain's act decoder. (Placeholder until the domain's acts land.)

use caseledger_record::Record;

use crate::facts::{Event, Subject};
use crate::Error;

/// Decodes one record into the facts the projections read.
pub fn event(record: &Record) -> Result<Event, Error> {
    Ok(Event {
        position: record.position,
        at_us: record.recorded_at_us,
        unit: record.actor.unit.clone(),
        kind: record.kind.clone(),
        subject: Subject::Other,
    })
}
