//! Checks the code against the frozen vectors in `schemas/vectors/chain.json`, and checks the
//! byte-layout claims that `schemas/chain.md` makes, one rule at a time.

use caseledger_record::{
    genesis_hash, record_hash, Actor, ChainWalker, Hash, Record, CHAIN_CONTEXT, GENESIS_CONTEXT,
    RECORD_FORMAT,
};

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/vectors/chain.json"
    );
    let text = std::fs::read_to_string(path).expect("schemas/vectors/chain.json is checked in");
    serde_json::from_str(&text).expect("vectors are JSON")
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().expect("a string").to_string()
}

fn record_of(fields: &serde_json::Value) -> Record {
    let bytes16 = |value: &serde_json::Value| -> [u8; 16] {
        hex::decode(text(value)).unwrap().try_into().unwrap()
    };
    Record {
        format: fields["format"].as_u64().unwrap() as u8,
        position: fields["position"].as_u64().unwrap(),
        prev_hash: Hash::from_hex(&text(&fields["prev_hash"])).unwrap(),
        recorded_at_us: fields["recorded_at_us"].as_i64().unwrap(),
        stream: text(&fields["stream"]),
        stream_version: fields["stream_version"].as_u64().unwrap(),
        event_id: bytes16(&fields["event_id"]),
        actor: Actor {
            role: text(&fields["actor"]["role"]),
            unit: text(&fields["actor"]["unit"]),
            user: text(&fields["actor"]["user"]),
        },
        kind: text(&fields["kind"]),
        schema_version: fields["schema_version"].as_u64().unwrap() as u16,
        payload: hex::decode(text(&fields["payload_hex"])).unwrap(),
    }
}

#[test]
fn the_code_reproduces_the_vectors() {
    let vectors = vectors();
    assert_eq!(text(&vectors["chain_context"]), CHAIN_CONTEXT);
    assert_eq!(text(&vectors["genesis_context"]), GENESIS_CONTEXT);
    let genesis = genesis_hash(&text(&vectors["origin"]));
    assert_eq!(genesis.to_hex(), text(&vectors["genesis_hash"]));
    // The genesis hash is plain blake3 derive_key over the origin's UTF-8 bytes.
    assert_eq!(
        genesis.0,
        blake3::derive_key(GENESIS_CONTEXT, text(&vectors["origin"]).as_bytes())
    );
    let mut walker = ChainWalker::new(genesis);
    let records = vectors["records"].as_array().unwrap();
    assert!(records.len() >= 5);
    for entry in records {
        let record = record_of(&entry["fields"]);
        let bytes = hex::decode(text(&entry["bytes_hex"])).unwrap();
        assert_eq!(
            record.encode(),
            bytes,
            "encoding of position {}",
            record.position
        );
        assert_eq!(Record::decode(&bytes).unwrap(), record);
        let hash = record_hash(&bytes);
        assert_eq!(hash.to_hex(), text(&entry["hash"]));
        // The chain hash is blake3 in derive-key mode over exactly the stored bytes.
        let mut hasher = blake3::Hasher::new_derive_key(CHAIN_CONTEXT);
        hasher.update(&bytes);
        assert_eq!(hash.0, *hasher.finalize().as_bytes());
        let (decoded, walked) = walker.push(&bytes).unwrap();
        assert_eq!((decoded, walked), (record, hash));
    }
    assert_eq!(walker.prev_hash().to_hex(), text(&vectors["head_hash"]));
}

fn sample() -> Record {
    Record {
        format: RECORD_FORMAT,
        position: 1,
        prev_hash: Hash([0x11; 32]),
        recorded_at_us: 0,
        stream: "s".into(),
        stream_version: 1,
        event_id: [0x22; 16],
        actor: Actor {
            role: "r".into(),
            unit: "u".into(),
            user: "x".into(),
        },
        kind: "k".into(),
        schema_version: 1,
        payload: vec![0x33],
    }
}

/// The whole layout of a small record, byte by byte, as chain.md describes it.
#[test]
fn layout_field_by_field() {
    let bytes = sample().encode();
    let mut expected = vec![RECORD_FORMAT, 1];
    expected.extend([0x11; 32]); // prev_hash: 32 raw bytes, no length
    expected.push(0); // recorded_at_us 0, zigzag 0
    expected.extend([1, b's']); // stream: length 1, UTF-8
    expected.push(1); // stream_version
    expected.extend([0x22; 16]); // event_id: 16 raw bytes, no length
    expected.extend([1, b'r', 1, b'u', 1, b'x']); // actor role, unit, user
    expected.extend([1, b'k']); // kind
    expected.push(1); // schema_version
    expected.extend([1, 0x33]); // payload: length, raw bytes
    assert_eq!(bytes, expected);
}

/// Encodes `value` as the position and returns the varint bytes (they follow the format byte).
fn position_varint(value: u64) -> Vec<u8> {
    let bytes = Record {
        position: value,
        ..sample()
    }
    .encode();
    let length = bytes.len() - sample().encode().len() + 1;
    bytes[1..1 + length].to_vec()
}

#[test]
fn unsigned_varints_use_the_documented_widths() {
    assert_eq!(position_varint(0), vec![0]);
    assert_eq!(position_varint(250), vec![250]);
    assert_eq!(position_varint(251), vec![251, 251, 0]);
    assert_eq!(position_varint(65_535), vec![251, 0xFF, 0xFF]);
    assert_eq!(position_varint(65_536), vec![252, 0, 0, 1, 0]);
    assert_eq!(
        position_varint(u32::MAX as u64),
        vec![252, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    assert_eq!(position_varint(1 << 32), vec![253, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        position_varint(u64::MAX),
        vec![253, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
}

/// The bytes of `recorded_at_us` (they follow format, position 1 and the 32-byte prev_hash).
fn time_varint(value: i64) -> Vec<u8> {
    let bytes = Record {
        recorded_at_us: value,
        ..sample()
    }
    .encode();
    let length = bytes.len() - sample().encode().len() + 1;
    bytes[34..34 + length].to_vec()
}

#[test]
fn signed_time_is_zigzag_then_varint() {
    assert_eq!(time_varint(0), vec![0]);
    assert_eq!(time_varint(-1), vec![1]);
    assert_eq!(time_varint(1), vec![2]);
    assert_eq!(time_varint(125), vec![250]);
    assert_eq!(time_varint(-126), vec![251, 251, 0]);
    assert_eq!(
        time_varint(i64::MIN),
        vec![253, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // 2025-11-26T00:00:00Z in microseconds: zigzag doubles it, which needs the u64 form.
    let at = 1_764_115_200_000_000i64;
    let mut expected = vec![253];
    expected.extend(((at as u64) << 1).to_le_bytes());
    assert_eq!(time_varint(at), expected);
}

#[test]
fn schema_version_is_a_varint_too() {
    let bytes = Record {
        schema_version: 65_535,
        ..sample()
    }
    .encode();
    let base = sample().encode();
    assert_eq!(bytes.len(), base.len() + 2);
    // schema_version sits just before the payload (length 1, one byte).
    let at = bytes.len() - 2 - 3;
    assert_eq!(&bytes[at..at + 3], &[251, 0xFF, 0xFF]);
}

#[test]
fn strings_are_length_and_utf8_bytes() {
    let record = Record {
        stream: "case/东平".into(),
        ..sample()
    };
    let bytes = record.encode();
    let utf8 = "case/东平".as_bytes();
    assert_eq!(utf8.len(), 11);
    let at = 1 + 1 + 32 + 1; // format, position, prev_hash, recorded_at_us
    assert_eq!(bytes[at], 11);
    assert_eq!(&bytes[at + 1..at + 12], utf8);
}

#[test]
fn a_251_byte_payload_has_a_three_byte_length() {
    let record = Record {
        payload: vec![0xAB; 251],
        ..sample()
    };
    let bytes = record.encode();
    let tail = &bytes[bytes.len() - 254..];
    assert_eq!(&tail[..3], &[251, 251, 0]);
    assert!(tail[3..].iter().all(|byte| *byte == 0xAB));
}
