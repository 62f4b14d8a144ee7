//! Properties of the pure building blocks: identifiers never panic and accept exactly the valid
//! codes; deadlines land at CST midnight after exactly N working days; sealing round-trips.

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::deadline::{
    add_working_days, cst_date, working_days_between, Clock, Deadline,
};
use caseledger_domain::ids::{uscc_check_char, Category, UnitId, Uscc, USCC_ALPHABET};
use caseledger_domain::registry::Registry;
use caseledger_domain::seal::{seal, unseal, MemoryKeyStore, PersonalData};
use caseledger_domain::Source;
use chrono::{DateTime, Duration, Timelike, Utc};
use proptest::prelude::*;

fn calendar() -> WorkCalendar {
    WorkCalendar::from_sources(&[
        Source {
            name: "ops/calendar/2026.toml",
            text: include_str!("../../../ops/calendar/2026.toml"),
        },
        Source {
            name: "ops/calendar/2027.toml",
            text: include_str!("../../../ops/calendar/2027.toml"),
        },
    ])
    .unwrap()
}

fn alphabet_char() -> impl Strategy<Value = char> {
    prop::sample::select(USCC_ALPHABET.iter().map(|&b| b as char).collect::<Vec<_>>())
}

fn first17() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(alphabet_char(), 2),
        prop::collection::vec(prop::char::range('0', '9'), 6),
        prop::collection::vec(alphabet_char(), 9),
    )
        .prop_map(|(a, b, c)| a.into_iter().chain(b).chain(c).collect())
}

/// Instants from 1 January 2026 to 30 September 2027, to the second.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00+08:00")
        .unwrap()
        .timestamp();
    (0i64..(638 * 86_400))
        .prop_map(move |offset| DateTime::from_timestamp(start + offset, 0).unwrap())
}

proptest! {
    #[test]
    fn a_code_is_valid_exactly_with_its_check_character(first in first17(), last in alphabet_char()) {
        let right = uscc_check_char(&first).unwrap();
        let code = format!("{first}{last}");
        prop_assert_eq!(Uscc::new(code.clone()).is_ok(), last == right, "{}", code);
    }

    #[test]
    fn identifiers_never_panic_and_round_trip(text in prop_oneof![
        // Anything at all, and text shaped like unit ids, categories and codes, so that
        // valid ones come up often and their round trips are checked.
        ".{0,40}",
        "[a-z0-9-]{1,16}(/[a-z0-9-]{1,16}){0,2}",
        "[a-z][a-z-]{0,20}",
        first17().prop_map(|first| {
            let check = uscc_check_char(&first).unwrap();
            format!("{first}{check}")
        }),
    ]) {
        if let Ok(code) = Uscc::new(text.clone()) {
            prop_assert_eq!(code.to_string(), text.clone());
        }
        if let Ok(id) = UnitId::new(text.clone()) {
            prop_assert_eq!(id.as_str().parse::<UnitId>().unwrap(), id);
        }
        if let Ok(category) = Category::new(text.clone()) {
            prop_assert_eq!(category.to_string(), text);
        }
    }

    #[test]
    fn the_registry_loader_never_panics(text in "(\\[\\[unit\\]\\]\n|id = \"[a-z/]{0,8}\"\n|kind = \"(office|township|community|compound)\"\n|name = \"x\"\n|parent = \"[a-z/]{0,8}\"\n|[^\n]{0,10}\n){0,12}") {
        let _ = Registry::from_sources(&[Source { name: "fuzz.toml", text: &text }]);
    }

    #[test]
    fn n_working_days_end_at_cst_midnight_of_a_working_day(start in instant(), n in 1u32..=15) {
        let calendar = calendar();
        let due = add_working_days(&calendar, start, n).unwrap();
        let due_cst = due.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
        prop_assert_eq!((due_cst.hour(), due_cst.minute(), due_cst.second()), (0, 0, 0));
        let last_day = cst_date(due - Duration::seconds(1));
        prop_assert!(calendar.is_working_day(last_day), "{}", last_day);
        prop_assert_eq!(working_days_between(&calendar, start, due - Duration::seconds(1)).unwrap(), n);
        prop_assert!(due > start);
        prop_assert!(due - start <= Duration::days(i64::from(n) * 7 + 14));
    }

    #[test]
    fn warnings_are_ordered_and_extensions_add_exactly_n(start in instant(), n in 1u32..=10, extra in 1u32..=10) {
        let calendar = calendar();
        let due = add_working_days(&calendar, start, n).unwrap();
        let deadline = Deadline::spanning(Clock::Resolve, start, due);
        prop_assert!(deadline.started_at < deadline.warn_50_at);
        prop_assert!(deadline.warn_50_at < deadline.warn_75_at);
        prop_assert!(deadline.warn_75_at < deadline.due_at);
        let extended = deadline.extended(&calendar, extra).unwrap();
        prop_assert_eq!(extended.due_at, add_working_days(&calendar, start, n + extra).unwrap());
    }

    #[test]
    fn sealing_round_trips(name in proptest::option::of(".{0,20}"), phone in proptest::option::of("[0-9]{0,20}"), address in proptest::option::of(".{0,60}"), context in "[a-z0-9/-]{0,30}") {
        let mut keys = MemoryKeyStore::default();
        let data = PersonalData { name, phone, address };
        let sealed = seal(&data, &context, &mut keys).unwrap();
        prop_assert_eq!(unseal(&sealed, &context, &keys).unwrap(), data);
    }
}

/// The shapes `identifiers_never_panic_and_round_trip` draws from do reach valid values, so
/// its round-trip checks run.
#[test]
fn the_identifier_shapes_reach_valid_values() {
    assert!(UnitId::new("township/dongping".to_owned()).is_ok());
    assert!(UnitId::new("compound/dongping/lanting-11".to_owned()).is_ok());
    assert!(Category::new("service-quality".to_owned()).is_ok());
    let first = "91430923MA4L12346";
    let check = uscc_check_char(first).unwrap();
    assert!(Uscc::new(format!("{first}{check}")).is_ok());
}
