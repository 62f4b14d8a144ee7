//! Mistakes in calendar and policy files are named by file, line and kind.

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, ResponsibilityMatrix};
use caseledger_domain::registry::Registry;
use caseledger_domain::{LoadError, Source};

/// `result` is an error in `file` at `line` whose message contains `fragment`.
fn check<T: std::fmt::Debug>(result: Result<T, LoadError>, expect: (&str, usize, &str)) {
    let error = result.expect_err("the file should be refused");
    let (file, line, fragment) = expect;
    let message = error.to_string();
    assert_eq!((error.file.as_str(), error.line), (file, line), "{message}");
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

fn calendar(text: &str) -> Result<WorkCalendar, LoadError> {
    WorkCalendar::from_sources(&[Source {
        name: "2026.toml",
        text,
    }])
}

#[test]
fn calendar_mistakes() {
    // A make-up day that is a weekday (Monday 5 January 2026).
    check(
        calendar("year = 2026\n\n[[makeup]]\nname = \"x\"\ndate = 2026-01-05\n"),
        ("2026.toml", 5, "2026-01-05 is a Mon, not a weekend day"),
    );
    // A make-up day that is also a holiday.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"元旦\"\nfrom = 2026-01-01\nto = 2026-01-03\n[[makeup]]\nname = \"x\"\ndate = 2026-01-03\n"),
        ("2026.toml", 8, "also a holiday (元旦)"),
    );
    // A date outside the file's year.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"元旦\"\ndate = 2027-01-01\n"),
        ("2026.toml", 4, "2027-01-01 is not in 2026"),
    );
    // Overlapping holidays.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"a\"\nfrom = 2026-10-01\nto = 2026-10-07\n[[holiday]]\nname = \"b\"\ndate = 2026-10-07\n"),
        ("2026.toml", 8, "already a holiday (a)"),
    );
    // A run that ends before it starts.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"a\"\nfrom = 2026-10-07\nto = 2026-10-01\n"),
        ("2026.toml", 5, "must go forward"),
    );
    // A date with a time.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"a\"\ndate = 2026-10-07T08:00:00\n"),
        ("2026.toml", 4, "plain date"),
    );
    // A quoted date is a shape error on its line.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"a\"\ndate = \"2026-10-07\"\n"),
        ("2026.toml", 4, "syntax"),
    );
    // A holiday with neither date nor run, found by its name.
    check(
        calendar("year = 2026\n[[holiday]]\nname = \"国庆节\"\nfrom = 2026-10-01\n"),
        ("2026.toml", 3, "needs either"),
    );
    // The same year twice.
    let text = "year = 2026\n";
    check(
        WorkCalendar::from_sources(&[
            Source {
                name: "a.toml",
                text,
            },
            Source {
                name: "b.toml",
                text,
            },
        ]),
        (
            "b.toml",
            1,
            "duplicate id \"2026\" (first defined in a.toml:1)",
        ),
    );
}

const DEADLINES: &str = "dispatch_working_days = 1
accept_working_days = 1
first_contact_working_days = 1
return_window_working_days = 2
resolve_urgent_hours = 24
resolve_general_working_days = 5
resolve_complex_working_days = 15
extensions_max = 1
extension_working_days_max = 10
follow_up_working_days = 1
close_unrated_working_days = 3
";

fn deadlines(text: &str) -> Result<DeadlinePolicy, LoadError> {
    DeadlinePolicy::from_source(&Source {
        name: "deadlines.toml",
        text,
    })
}

#[test]
fn deadline_policy_mistakes() {
    assert!(deadlines(DEADLINES).is_ok());
    check(
        deadlines(&DEADLINES.replace("general_working_days = 5", "general_working_days = 0")),
        ("deadlines.toml", 6, "0 is outside 1..=60"),
    );
    check(
        deadlines(&DEADLINES.replace("= 24", "= 240")),
        ("deadlines.toml", 5, "resolve_urgent_hours"),
    );
    check(
        deadlines(&DEADLINES.replace("complex_working_days = 15", "complex_working_days = 4")),
        ("deadlines.toml", 7, "at least as long"),
    );
    check(
        deadlines(&DEADLINES.replace("close_unrated_working_days = 3\n", "")),
        (
            "deadlines.toml",
            1,
            "missing field `close_unrated_working_days`",
        ),
    );
    check(
        deadlines(&DEADLINES.replace("extensions_max = 1", "extensions_max = -1")),
        ("deadlines.toml", 8, "syntax"),
    );
    check(
        deadlines(&format!("{DEADLINES}colour = 1\n")),
        ("deadlines.toml", 12, "unknown field `colour`"),
    );
}

const CREDIT: &str = include_str!("../../../ops/policy/credit.toml");

fn credit(text: &str) -> Result<CreditPolicy, LoadError> {
    CreditPolicy::from_source(&Source {
        name: "credit.toml",
        text,
    })
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.starts_with(needle))
        .unwrap()
        + 1
}

#[test]
fn credit_policy_mistakes() {
    assert!(credit(CREDIT).is_ok());
    let unordered = CREDIT.replace("b_min = 75", "b_min = 95");
    check(
        credit(&unordered),
        ("credit.toml", line_of(CREDIT, "a_min"), "strictly"),
    );
    let cap = CREDIT.replace("points_max = 10", "points_max = 1");
    check(
        credit(&cap),
        (
            "credit.toml",
            line_of(CREDIT, "points_max"),
            "smaller than one commendation",
        ),
    );
    let grade = CREDIT.replace("grade = \"A\"", "grade = \"E\"");
    check(
        credit(&grade),
        ("credit.toml", line_of(CREDIT, "grade = \"A\""), "syntax"),
    );
    let interval = CREDIT.replace("d = 1", "d = 0");
    check(
        credit(&interval),
        (
            "credit.toml",
            line_of(CREDIT, "d = 1"),
            "d = 0 is outside 1..=24",
        ),
    );
}

fn registry() -> Registry {
    let text = "[[unit]]\nid = \"housing\"\nkind = \"department\"\nname = \"住建局\"\n\
                [[unit]]\nid = \"township/a\"\nkind = \"township\"\nname = \"a\"\n";
    Registry::from_sources(&[Source {
        name: "county.toml",
        text,
    }])
    .unwrap()
}

fn matrix(text: &str) -> Result<ResponsibilityMatrix, LoadError> {
    ResponsibilityMatrix::from_source(
        &Source {
            name: "matrix.toml",
            text,
        },
        &registry(),
    )
}

const ROW: &str = "[[category]]
slug = \"service-quality\"
matter = \"服务质量\"
matter_en = \"service quality\"
handlers = [\"housing\", \"township\"]
enforcement = [\"housing\"]
plan = \"§五.(一).1\"
";

#[test]
fn matrix_mistakes() {
    assert!(matrix(ROW).is_ok());
    check(
        matrix(&ROW.replace("[\"housing\", \"township\"]", "[\"housing\", \"mayor\"]")),
        ("matrix.toml", 5, "unit \"mayor\" is not defined"),
    );
    check(
        matrix(&ROW.replace(
            "enforcement = [\"housing\"]",
            "enforcement = [\"township/a\"]",
        )),
        ("matrix.toml", 6, "township/a is a township"),
    );
    check(
        matrix(&ROW.replace("[\"housing\", \"township\"]", "[]")),
        ("matrix.toml", 5, "names no handler"),
    );
    check(
        matrix(&format!("{ROW}\n{ROW}")),
        (
            "matrix.toml",
            10,
            "duplicate id \"service-quality\" (first defined in matrix.toml:2)",
        ),
    );
    check(
        matrix(&ROW.replace("service-quality", "Service Quality")),
        ("matrix.toml", 2, "invalid category"),
    );
    check(
        matrix(&ROW.replace("plan = ", "plan_ = ")),
        ("matrix.toml", 7, "unknown field `plan_`"),
    );
}
