//! Acts round-trip through the log's payload bytes (bincode) and through JSON, and the decoder
//! refuses what is not an act.

mod common;

use std::collections::BTreeSet;

use caseledger_domain::act::*;
use common::*;
use proptest::prelude::*;

#[test]
fn the_samples_cover_every_kind() {
    let kinds: BTreeSet<&str> = every_kind(&rules()).iter().map(Act::kind).collect();
    let all: BTreeSet<&str> = Act::CASE_KINDS
        .iter()
        .chain(Act::FIRM_KINDS)
        .copied()
        .collect();
    assert_eq!(kinds, all);
    assert_eq!(all.len(), 34);
}

#[test]
fn every_act_round_trips_through_payload_bytes_and_json() {
    for act in every_kind(&rules()) {
        let bytes = act.encode_payload();
        let decoded = Act::decode(act.kind(), act.schema_version(), &bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", act.kind()));
        assert_eq!(decoded, act);
        assert_eq!(decoded.encode_payload(), bytes, "one act, one byte form");
        let json = serde_json::to_value(&act).unwrap();
        assert_eq!(json["act"], act.kind());
        assert_eq!(serde_json::from_value::<Act>(json).unwrap(), act);
        let stream = act.stream().to_string();
        let prefix = if act.is_case_act() { "case/" } else { "firm/" };
        assert!(stream.starts_with(prefix), "{stream}");
        assert_eq!(stream.parse::<StreamId>().unwrap(), act.stream());
    }
}

#[test]
fn the_decoder_refuses_what_is_not_an_act() {
    let act = every_kind(&rules()).remove(0);
    let bytes = act.encode_payload();
    assert!(matches!(
        Act::decode("NoSuchAct", 1, &bytes),
        Err(ActDecodeError::UnknownKind(_))
    ));
    assert!(matches!(
        Act::decode(act.kind(), 2, &bytes),
        Err(ActDecodeError::Version {
            version: 2,
            expected: 1,
            ..
        })
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Act::decode(act.kind(), 1, &longer),
        Err(ActDecodeError::Trailing { trailing: 1, .. })
    ));
    assert!(matches!(
        Act::decode(act.kind(), 1, &bytes[..bytes.len() / 2]),
        Err(ActDecodeError::Malformed { .. })
    ));
    // Another kind's payload does not pass for this one.
    assert!(Act::decode("CaseClosed", 1, &bytes).is_err());
    assert!(matches!(
        Act::decode(act.kind(), 1, &vec![0; PAYLOAD_BYTES_MAX + 1]),
        Err(ActDecodeError::TooLarge(_))
    ));
    assert!("case/not-a-uuid".parse::<StreamId>().is_err());
    assert!(
        "firm/91430923MA4L123460".parse::<StreamId>().is_err(),
        "bad check character"
    );
}

/// Freezes the payload layout: bincode 2, standard configuration, fields in declaration order.
#[test]
fn a_payload_vector_is_stable() {
    let act = Act::CaseWithdrawn(CaseWithdrawn {
        case_id: CaseId(uuid::Uuid::from_u128(7)),
        by: "12345".parse().unwrap(),
        reason: "撤".into(),
    });
    let expected = concat!(
        "10",                               // uuid: 16 bytes follow
        "00000000000000000000000000000007", // the uuid
        "05",
        "3132333435", // "12345"
        "03",
        "e692a4", // "撤"
    );
    assert_eq!(hex::encode(act.encode_payload()), expected);
}

#[test]
fn quarters_parse_and_print_and_know_their_bounds() {
    let q: Quarter = "2026-Q4".parse().unwrap();
    assert_eq!(q.to_string(), "2026-Q4");
    assert_eq!(q.next().to_string(), "2027-Q1");
    assert_eq!(q.next().previous(), q);
    assert_eq!(
        q.first_day(),
        chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
    );
    assert_eq!(
        q.last_day(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
    );
    assert_eq!(q.ends_at(), cst(2027, 1, 1, 0, 0));
    assert_eq!(q.starts_at(), cst(2026, 10, 1, 0, 0));
    assert_eq!(Quarter::of_instant(cst(2026, 12, 31, 23, 59)), q);
    assert_eq!(Quarter::of_instant(cst(2027, 1, 1, 0, 0)), q.next());
    for bad in [
        "2026-Q5", "2026-Q0", "26-Q1", "2026Q1", "2026-Q1 ", "1999-Q1",
    ] {
        assert!(bad.parse::<Quarter>().is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_and_numbers_round_trip(reason in "\\PC{0,200}", fine in any::<u64>(), id in any::<u128>(), overdue in any::<bool>()) {
        let case_id = CaseId(uuid::Uuid::from_u128(id));
        let acts = [
            Act::CaseWithdrawn(CaseWithdrawn { case_id, by: "12345".parse().unwrap(), reason: reason.clone() }),
            Act::PenaltyImposed(PenaltyImposed {
                case_id,
                unit: "housing".parse().unwrap(),
                party: PenalisedParty::Other(reason.clone()),
                legal_basis: reason.clone(),
                decision_no: String::new(),
                fine_fen: fine,
            }),
            Act::RectificationVerified(RectificationVerified {
                case_id, unit: "township/dongping".parse().unwrap(), order: (fine % 1000) as u32, passed: !overdue, overdue, note: reason,
            }),
        ];
        for act in acts {
            let decoded = Act::decode(act.kind(), act.schema_version(), &act.encode_payload()).unwrap();
            prop_assert_eq!(&decoded, &act);
            let json = serde_json::to_string(&act).unwrap();
            prop_assert_eq!(serde_json::from_str::<Act>(&json).unwrap(), act);
        }
    }

    #[test]
    fn instants_round_trip_exactly(seconds in -2_000_000_000i64..10_000_000_000, nanos in 0u32..1_000_000_000) {
        let due_at = chrono::DateTime::from_timestamp(seconds, nanos).unwrap();
        let deadline = caseledger_domain::deadline::Deadline::spanning(caseledger_domain::deadline::Clock::Resolve, due_at, due_at + chrono::Duration::nanoseconds(i64::from(nanos) + 7));
        let acts = [
            Act::RectificationOrdered(RectificationOrdered {
                case_id: CaseId(uuid::Uuid::from_u128(1)),
                unit: "township/dongping".parse().unwrap(),
                order: 1,
                requirement: "x".into(),
                working_days: 3,
                due_at,
            }),
            Act::ExtensionGranted(ExtensionGranted {
                case_id: CaseId(uuid::Uuid::from_u128(1)),
                by: "housing".parse().unwrap(),
                working_days: 3,
                reason: "x".into(),
                resolve_deadline: deadline,
            }),
        ];
        for act in acts {
            prop_assert_eq!(&Act::decode(act.kind(), 1, &act.encode_payload()).unwrap(), &act);
            prop_assert_eq!(&serde_json::from_str::<Act>(&serde_json::to_string(&act).unwrap()).unwrap(), &act);
        }
    }

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..300), kind in any::<proptest::sample::Index>()) {
        // Every kind there is, the governance acts' too, and any added later.
        let kinds: Vec<&str> = Act::CASE_KINDS
            .iter()
            .chain(Act::FIRM_KINDS)
            .chain(Act::GOVERNANCE_KINDS)
            .copied()
            .collect();
        let _ = Act::decode(kinds[kind.index(kinds.len())], 1, &bytes);
    }
}
