//! Prints `schemas/vectors/chain.json`: a short chain whose records exercise every encoding
//! rule of `schemas/chain.md` (varint widths, zigzag time, UTF-8 text, empty and 251-byte
//! payloads). Run: `cargo run -p caseledger-record --example chain_vectors > schemas/vectors/chain.json`
//!
//! The file is checked in and frozen; `tests/vectors.rs` checks the code against it, so
//! regenerating it is only ever right for a new format version.

use caseledger_record::{genesis_hash, record_hash, Actor, Hash, Record, RECORD_FORMAT};

const ORIGIN: &str = "caseledger.example/anhua";

fn records() -> Vec<Record> {
    let actor = |role: &str, unit: &str, user: &str| Actor {
        role: role.into(),
        unit: unit.into(),
        user: user.into(),
    };
    let base = |position: u64| Record {
        format: RECORD_FORMAT,
        position,
        prev_hash: Hash([0; 32]),
        recorded_at_us: 1_764_115_200_000_000,
        stream: "case/0190d1d2-5a7b-7c3d-8e9f-0a1b2c3d4e5f".into(),
        stream_version: 1,
        event_id: [0; 16],
        actor: actor("intake", "hotline-12345", "operator-1"),
        kind: "ComplaintFiled".into(),
        schema_version: 1,
        payload: Vec::new(),
    };
    vec![
        Record {
            event_id: *b"\x01\x90\xd1\xd2\x5a\x7b\x7c\x3d\x8e\x9f\x00\x00\x00\x00\x00\x01",
            payload:
                br#"{"summary":"elevator stopped for three days","compound":"compound/anhua-7"}"#
                    .to_vec(),
            ..base(1)
        },
        Record {
            recorded_at_us: 1_764_115_200_000_250,
            stream_version: 250,
            event_id: [0x22; 16],
            actor: actor("dispatcher", "office", "张三"),
            kind: "CaseDispatched".into(),
            payload: vec![0xAB; 251],
            ..base(2)
        },
        Record {
            recorded_at_us: -1,
            stream: "firm/91330100MA2AXXXX0X".into(),
            stream_version: 251,
            event_id: [0xFF; 16],
            actor: actor("handler", "township/东平", "u"),
            kind: "CreditAdjusted".into(),
            schema_version: 65_535,
            payload: b"{}".to_vec(),
            ..base(3)
        },
        Record {
            stream_version: 65_536,
            event_id: [0x44; 16],
            kind: "CaseClosed".into(),
            schema_version: 251,
            payload: Vec::new(),
            ..base(4)
        },
        Record {
            stream_version: 1 << 32,
            recorded_at_us: i64::MIN,
            event_id: [0x55; 16],
            kind: "GovernanceNoted".into(),
            payload: vec![0x00; 3],
            ..base(5)
        },
    ]
}

fn main() {
    let genesis = genesis_hash(ORIGIN);
    let mut prev = genesis;
    let mut out = Vec::new();
    for mut record in records() {
        record.prev_hash = prev;
        let bytes = record.encode();
        let hash = record_hash(&bytes);
        out.push(serde_json::json!({
            "fields": {
                "format": record.format,
                "position": record.position,
                "prev_hash": record.prev_hash.to_hex(),
                "recorded_at_us": record.recorded_at_us,
                "stream": record.stream,
                "stream_version": record.stream_version,
                "event_id": hex::encode(record.event_id),
                "actor": { "role": record.actor.role, "unit": record.actor.unit, "user": record.actor.user },
                "kind": record.kind,
                "schema_version": record.schema_version,
                "payload_hex": hex::encode(&record.payload),
            },
            "bytes_hex": hex::encode(&bytes),
            "hash": hash.to_hex(),
        }));
        prev = hash;
    }
    let document = serde_json::json!({
        "description": "caseledger record chain test vectors; see schemas/chain.md",
        "chain_context": caseledger_record::CHAIN_CONTEXT,
        "genesis_context": caseledger_record::GENESIS_CONTEXT,
        "origin": ORIGIN,
        "genesis_hash": genesis.to_hex(),
        "records": out,
        "head_hash": prev.to_hex(),
    });
    println!("{}", serde_json::to_string_pretty(&document).expect("json"));
}
