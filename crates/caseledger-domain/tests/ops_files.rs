//! The files shipped under `ops/` load, validate and say what DOMAIN.md says.

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::ids::{Category, UnitId};
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, Grade, ResponsibilityMatrix};
use caseledger_domain::registry::{Registry, UnitKind};
use caseledger_domain::Source;
use chrono::{Datelike, NaiveDate};

const REGISTRY: &[(&str, &str)] = &[
    (
        "ops/registry/county.toml",
        include_str!("../../../ops/registry/county.toml"),
    ),
    (
        "ops/registry/townships.toml",
        include_str!("../../../ops/registry/townships.toml"),
    ),
    (
        "ops/registry/communities.toml",
        include_str!("../../../ops/registry/communities.toml"),
    ),
    (
        "ops/registry/compounds.toml",
        include_str!("../../../ops/registry/compounds.toml"),
    ),
    (
        "ops/registry/firms.toml",
        include_str!("../../../ops/registry/firms.toml"),
    ),
];
const MATRIX: &str = include_str!("../../../ops/policy/matrix.toml");
const DEADLINES: &str = include_str!("../../../ops/policy/deadlines.toml");
const CREDIT: &str = include_str!("../../../ops/policy/credit.toml");
const CALENDARS: &[(&str, &str)] = &[
    (
        "ops/calendar/2025.toml",
        include_str!("../../../ops/calendar/2025.toml"),
    ),
    (
        "ops/calendar/2026.toml",
        include_str!("../../../ops/calendar/2026.toml"),
    ),
    (
        "ops/calendar/2027.toml",
        include_str!("../../../ops/calendar/2027.toml"),
    ),
];

fn sources(files: &'static [(&'static str, &'static str)]) -> Vec<Source<'static>> {
    files
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect()
}

fn registry() -> Registry {
    Registry::from_sources(&sources(REGISTRY)).unwrap_or_else(|error| panic!("{error}"))
}

fn id(text: &str) -> UnitId {
    text.parse().unwrap()
}

#[test]
fn every_file_under_ops_registry_is_loaded_by_these_tests() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ops/registry");
    let mut on_disk: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = REGISTRY
        .iter()
        .map(|(name, _)| name.rsplit('/').next().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn the_anhua_registry() {
    let registry = registry();
    assert_eq!(registry.of_kind(UnitKind::Office).len(), 1);
    // DOMAIN.md §3 lists 19 department slugs.
    assert_eq!(registry.departments().len(), 19);
    // 18 towns (镇) and 5 townships (乡).
    let townships = registry.townships();
    assert_eq!(townships.len(), 23);
    assert_eq!(
        townships.iter().filter(|u| u.name.ends_with('镇')).count(),
        18
    );
    assert_eq!(
        townships.iter().filter(|u| u.name.ends_with('乡')).count(),
        5
    );
    assert!(townships.iter().all(|u| !u.sample));
    assert_eq!(registry.of_kind(UnitKind::Intake).len(), 2);
    assert_eq!(registry.kind_of(&id("12345")), Some(UnitKind::Intake));
    assert_eq!(
        registry.kind_of(&id("petition-platform")),
        Some(UnitKind::Intake)
    );
    // Synthetic entries are all marked; every township has a compound; the seat has most.
    for kind in [UnitKind::Community, UnitKind::Compound, UnitKind::Firm] {
        assert!(
            registry
                .of_kind(kind)
                .iter()
                .all(|u| u.sample && u.name.contains("样例")),
            "{kind}"
        );
    }
    for township in &townships {
        assert!(
            !registry.compounds_of(&township.id).is_empty(),
            "{}",
            township.id
        );
    }
    let seat = registry.compounds_of(&id("township/dongping")).len();
    assert!(townships
        .iter()
        .all(|t| registry.compounds_of(&t.id).len() <= seat));
    assert!(seat >= 20, "{seat}");
    assert!(registry.firms().count() >= 30);
    assert!(registry.firms().all(|f| f
        .uscc
        .as_ref()
        .is_some_and(|c| c.division_code() == "430923")));
}

#[test]
fn the_responsibility_matrix() {
    let registry = registry();
    let matrix = ResponsibilityMatrix::from_source(
        &Source {
            name: "ops/policy/matrix.toml",
            text: MATRIX,
        },
        &registry,
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let category = |slug: &str| -> Category { slug.parse().unwrap() };
    // Every slug of DOMAIN.md §3.
    let slugs = [
        "service-quality",
        "tender-filing",
        "contract-filing",
        "firm-exit",
        "maintenance-fund",
        "decoration",
        "illegal-construction",
        "advertising",
        "change-of-use",
        "green-space",
        "pipes",
        "unlicensed-business",
        "fees",
        "special-equipment",
        "residential-to-commercial",
        "security",
        "planning",
        "fire-safety",
        "drinking-water",
        "owners-committee",
        "home-schooling",
        "dispute-mediation",
        "fee-arrears",
        "labour",
        "fitness",
        "pollution",
        "telecom",
        "petition",
    ];
    assert_eq!(matrix.categories().count(), slugs.len());
    for slug in slugs {
        assert!(matrix.category(&category(slug)).is_some(), "{slug}");
    }
    let cases: &[(&str, &str, bool)] = &[
        ("housing", "service-quality", true),
        ("township/dongping", "service-quality", false),
        ("community/dongping/heping", "dispute-mediation", false),
        ("urban-management", "illegal-construction", true),
        ("housing", "illegal-construction", false),
        ("market-supervision", "fees", true),
        ("development-reform", "fees", false),
        ("fire-rescue", "fire-safety", true),
        ("emergency", "fire-safety", false),
        ("court", "fee-arrears", false),
        ("housing", "no-such-category", false),
    ];
    for (unit, slug, powers) in cases {
        assert_eq!(
            matrix.has_enforcement_powers(&id(unit), &category(slug)),
            *powers,
            "{unit} {slug}"
        );
    }
    // No township or community ever holds enforcement powers.
    for rule in matrix.categories() {
        for unit in &rule.enforcement {
            assert_eq!(
                registry.kind_of(unit),
                Some(UnitKind::Department),
                "{}",
                rule.category
            );
        }
    }
    assert!(matrix.is_urgent_capable(&category("fire-safety")));
    assert!(matrix.is_urgent_capable(&category("special-equipment")));
    assert!(!matrix.is_urgent_capable(&category("advertising")));
    // "township" in the matrix means the compound's own township.
    let compound = registry.compounds_of(&id("township/meicheng"))[0]
        .id
        .clone();
    let sq = category("service-quality");
    assert!(matrix.is_handler(&id("township/meicheng"), &sq, &registry, Some(&compound)));
    assert!(!matrix.is_handler(&id("township/dongping"), &sq, &registry, Some(&compound)));
    assert!(matrix.is_handler(&id("housing"), &sq, &registry, Some(&compound)));
    assert!(!matrix.is_handler(&id("township/meicheng"), &sq, &registry, None));
}

#[test]
fn the_deadline_and_credit_policies_hold_the_domain_defaults() {
    let deadlines = DeadlinePolicy::from_source(&Source {
        name: "ops/policy/deadlines.toml",
        text: DEADLINES,
    })
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        (
            deadlines.dispatch_working_days,
            deadlines.accept_working_days,
            deadlines.first_contact_working_days,
            deadlines.return_window_working_days,
            deadlines.resolve_urgent_hours,
            deadlines.resolve_general_working_days,
            deadlines.resolve_complex_working_days,
            deadlines.extensions_max,
            deadlines.extension_working_days_max,
            deadlines.follow_up_working_days,
            deadlines.close_unrated_working_days,
        ),
        (1, 1, 1, 2, 24, 5, 15, 1, 10, 1, 3)
    );
    let credit = CreditPolicy::from_source(&Source {
        name: "ops/policy/credit.toml",
        text: CREDIT,
    })
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(credit.score_max, 100);
    assert_eq!(credit.record_lifetime_months, 12);
    let d = &credit.deductions;
    assert_eq!(
        (
            d.penalty,
            d.substantiated_complaint,
            d.overdue_rectification,
            d.black_list_violation
        ),
        (10, 2, 5, 20)
    );
    assert_eq!(
        (credit.commendation.points, credit.commendation.points_max),
        (5, 10)
    );
    for (hundredths, grade) in [
        (10_000, Grade::A),
        (9_000, Grade::A),
        (8_999, Grade::B),
        (7_500, Grade::B),
        (7_499, Grade::C),
        (6_000, Grade::C),
        (5_999, Grade::D),
        (-500, Grade::D),
    ] {
        assert_eq!(
            credit.grade_for_hundredths(hundredths),
            grade,
            "{hundredths}"
        );
    }
    let months: Vec<u32> = [Grade::A, Grade::B, Grade::C, Grade::D]
        .map(|g| credit.inspection_interval_months(g))
        .to_vec();
    assert_eq!(months, vec![12, 6, 3, 1]);
    assert_eq!(
        (
            credit.red_list.grade,
            credit.red_list.consecutive_quarters,
            credit.red_list.no_penalty
        ),
        (Grade::A, 4, true)
    );
    assert_eq!(
        (
            credit.black_list.grade,
            credit.black_list.any_black_list_violation
        ),
        (Grade::D, true)
    );
}

#[test]
fn the_calendars() {
    let calendar =
        WorkCalendar::from_sources(&sources(CALENDARS)).unwrap_or_else(|error| panic!("{error}"));
    let years: Vec<(i32, bool)> = calendar
        .years()
        .map(|(year, info)| (year, info.sample))
        .collect();
    assert_eq!(years, vec![(2025, true), (2026, true), (2027, true)]);
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // 2025: 国庆节、中秋节 1-8 October, make-up Sunday 28 September and Saturday 11 October.
    assert!(!calendar.is_working_day(day(2025, 10, 8)));
    assert!(calendar.is_working_day(day(2025, 9, 28)));
    assert!(calendar.is_working_day(day(2025, 10, 11)));
    assert!(calendar.is_working_day(day(2025, 10, 9)));
    // 2026: 春节 15-23 February, make-up Saturdays 14 and 28 February.
    assert!(!calendar.is_working_day(day(2026, 2, 16)));
    assert!(calendar.is_working_day(day(2026, 2, 14)));
    assert!(calendar.is_working_day(day(2026, 2, 28)));
    assert!(!calendar.is_working_day(day(2026, 2, 21)));
    assert!(calendar.is_working_day(day(2026, 2, 24)));
    // 国庆 1-7 October, make-up Sunday 20 September and Saturday 10 October.
    assert!(calendar.is_working_day(day(2026, 9, 20)));
    assert!(!calendar.is_working_day(day(2026, 10, 5)));
    assert!(calendar.is_working_day(day(2026, 10, 10)));
    assert_eq!(calendar.holiday_name(day(2026, 10, 1)), Some("国庆节"));
    // 2026 has 7 holidays (33 days off) and 6 make-up days.
    let holidays_2026 = calendar
        .holidays()
        .filter(|(date, _)| date.year() == 2026)
        .count();
    assert_eq!(holidays_2026, 3 + 9 + 3 + 5 + 3 + 3 + 7);
    assert_eq!(
        calendar
            .makeup_days()
            .iter()
            .filter(|d| d.year() == 2026)
            .count(),
        6
    );
    assert!(!calendar.is_working_day(day(2027, 2, 8)));
    assert!(calendar.covers(day(2027, 12, 31)));
    assert!(!calendar.covers(day(2028, 1, 1)));
}
