//! Deadlines on the shipped 2026 calendar: across holidays and make-up working days, across an
//! extension, urgent 24 hours, warning points, and the start-of-clock rule.

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::deadline::{
    add_working_days, deadline, working_days_between, Clock, Deadline, DeadlineError,
    DeadlineStatus, Severity,
};
use caseledger_domain::policy::DeadlinePolicy;
use caseledger_domain::Source;
use chrono::{DateTime, NaiveDate, Utc};

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

fn policy() -> DeadlinePolicy {
    DeadlinePolicy::from_source(&Source {
        name: "ops/policy/deadlines.toml",
        text: include_str!("../../../ops/policy/deadlines.toml"),
    })
    .unwrap()
}

/// An instant written in China Standard Time, `2026-02-13 10:00`.
fn cst(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(&format!("{text} +0800"), "%Y-%m-%d %H:%M %z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The end (24:00 CST) of a day.
fn end_of(date: &str) -> DateTime<Utc> {
    let day: NaiveDate = date.parse().unwrap();
    cst(&format!("{} 00:00", day.succ_opt().unwrap()))
}

/// `clock` (with `severity`) started at `start` (CST) is due at the end of `due_day`.
fn check(clock: Clock, severity: Severity, start: &str, due_day: &str) {
    let computed = deadline(clock, severity, cst(start), &policy(), &calendar()).unwrap();
    assert_eq!(
        computed.due_at,
        end_of(due_day),
        "{clock:?} {severity:?} from {start}"
    );
    assert_eq!(computed.started_at, cst(start));
    assert_eq!(computed.clock, clock);
}

#[test]
fn across_the_spring_festival_and_its_make_up_saturday() {
    // Accepted Friday 13 Feb: Saturday 14 is a make-up working day (1), 15-23 are the holiday,
    // then 24, 25, 26, 27 February.
    check(
        Clock::Resolve,
        Severity::General,
        "2026-02-13 10:00",
        "2026-02-27",
    );
    // Dispatched on the make-up Saturday: the next working day is Tuesday 24 February.
    check(
        Clock::Accept,
        Severity::General,
        "2026-02-14 09:00",
        "2026-02-24",
    );
    // Filed during the holiday.
    check(
        Clock::Dispatch,
        Severity::General,
        "2026-02-18 09:00",
        "2026-02-24",
    );
    // Saturday 28 February is a make-up day too.
    check(
        Clock::FirstContact,
        Severity::General,
        "2026-02-27 17:00",
        "2026-02-28",
    );
}

#[test]
fn across_national_day_and_a_make_up_sunday() {
    check(
        Clock::Accept,
        Severity::General,
        "2026-09-30 15:00",
        "2026-10-08",
    );
    // Saturday 19 September: Sunday 20 is a make-up working day.
    check(
        Clock::Dispatch,
        Severity::General,
        "2026-09-19 11:00",
        "2026-09-20",
    );
    // Return window: 2 working days after dispatch on Friday 9 October: Saturday 10 (make-up)
    // and Monday 12.
    check(
        Clock::Return,
        Severity::General,
        "2026-10-09 16:00",
        "2026-10-12",
    );
    // Follow-up and closing unrated after a resolution on Tuesday 29 September.
    check(
        Clock::FollowUp,
        Severity::General,
        "2026-09-29 18:00",
        "2026-09-30",
    );
    check(
        Clock::CloseUnrated,
        Severity::General,
        "2026-09-29 18:00",
        "2026-10-09",
    );
}

#[test]
fn a_complex_case_spans_weekends() {
    // Monday 2 March + 15 working days = Monday 23 March.
    check(
        Clock::Resolve,
        Severity::Complex,
        "2026-03-02 09:00",
        "2026-03-23",
    );
}

#[test]
fn the_start_day_never_counts_whatever_the_hour() {
    for start in [
        "2026-03-02 00:00",
        "2026-03-02 08:59",
        "2026-03-02 12:00",
        "2026-03-02 23:59",
    ] {
        check(Clock::Accept, Severity::General, start, "2026-03-03");
    }
    // One minute before midnight CST on Sunday is still Sunday: due end of Monday.
    check(
        Clock::Accept,
        Severity::General,
        "2026-03-01 23:59",
        "2026-03-02",
    );
    // Friday evening: due end of Monday.
    check(
        Clock::Accept,
        Severity::General,
        "2026-03-06 22:00",
        "2026-03-09",
    );
}

#[test]
fn urgent_cases_get_24_wall_clock_hours_even_on_holidays() {
    let start = cst("2026-02-16 12:00");
    let urgent = deadline(
        Clock::Resolve,
        Severity::Urgent,
        start,
        &policy(),
        &calendar(),
    )
    .unwrap();
    assert_eq!(urgent.due_at, cst("2026-02-17 12:00"));
    assert_eq!(urgent.warn_50_at, cst("2026-02-17 00:00"));
    assert_eq!(urgent.warn_75_at, cst("2026-02-17 06:00"));
}

#[test]
fn warning_points_and_status() {
    let d = deadline(
        Clock::Accept,
        Severity::General,
        cst("2026-03-02 10:00"),
        &policy(),
        &calendar(),
    )
    .unwrap();
    // 38 hours from Monday 10:00 to Wednesday 00:00: warnings after 19 h and 28 h 30 min.
    assert_eq!(d.due_at, cst("2026-03-04 00:00"));
    assert_eq!(d.warn_50_at, cst("2026-03-03 05:00"));
    assert_eq!(d.warn_75_at, cst("2026-03-03 14:30"));
    let cases = [
        ("2026-03-02 10:00", DeadlineStatus::OnTime),
        ("2026-03-03 04:59", DeadlineStatus::OnTime),
        ("2026-03-03 05:00", DeadlineStatus::Warn50),
        ("2026-03-03 14:29", DeadlineStatus::Warn50),
        ("2026-03-03 14:30", DeadlineStatus::Warn75),
        ("2026-03-03 23:59", DeadlineStatus::Warn75),
        ("2026-03-04 00:00", DeadlineStatus::Overdue),
        ("2026-03-09 00:00", DeadlineStatus::Overdue),
    ];
    for (now, status) in cases {
        assert_eq!(d.status_at(cst(now)), status, "{now}");
        assert_eq!(
            d.is_overdue_at(cst(now)),
            status == DeadlineStatus::Overdue,
            "{now}"
        );
    }
}

#[test]
fn an_extension_runs_across_national_day() {
    // Accepted Monday 21 September: 22, 23, 24, (25-27 中秋), 28, 29 → due end of 29 September.
    let original = deadline(
        Clock::Resolve,
        Severity::General,
        cst("2026-09-21 09:00"),
        &policy(),
        &calendar(),
    )
    .unwrap();
    assert_eq!(original.due_at, end_of("2026-09-29"));
    // +10 working days: 30 Sep, (1-7 Oct), 8, 9, 10 (make-up Saturday), 12, 13, 14, 15, 16, 19.
    let extended = original.extended(&calendar(), 10).unwrap();
    assert_eq!(extended.due_at, end_of("2026-10-19"));
    assert_eq!(extended.started_at, original.started_at);
    assert_eq!(extended.clock, Clock::Resolve);
    // Warnings are recomputed over the whole span.
    assert_eq!(
        extended,
        Deadline::spanning(Clock::Resolve, original.started_at, extended.due_at)
    );
    assert!(extended.warn_50_at > original.warn_50_at);
    // Extending an urgent deadline counts from the day its hour falls on.
    let urgent = deadline(
        Clock::Resolve,
        Severity::Urgent,
        cst("2026-09-30 20:00"),
        &policy(),
        &calendar(),
    )
    .unwrap();
    assert_eq!(urgent.due_at, cst("2026-10-01 20:00"));
    assert_eq!(
        urgent.extended(&calendar(), 1).unwrap().due_at,
        end_of("2026-10-08")
    );
}

#[test]
fn the_calendar_must_cover_the_days_counted() {
    // Thursday 30 December 2027 + 15 working days runs into 2028, which is not loaded.
    let error = deadline(
        Clock::Resolve,
        Severity::Complex,
        cst("2027-12-30 09:00"),
        &policy(),
        &calendar(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        DeadlineError::BeyondCalendar {
            date: "2028-01-01".parse().unwrap()
        }
    );
    assert!(error.to_string().contains("工作日历未覆盖"));
    // The start day itself need not be covered: only the days after it count.
    let due = add_working_days(&calendar(), cst("2025-12-31 10:00"), 1).unwrap();
    assert_eq!(due, end_of("2026-01-04")); // 1-3 January off, Sunday 4th a make-up day
    assert!(matches!(
        add_working_days(&calendar(), cst("2026-03-02 10:00"), 1000),
        Err(DeadlineError::TooManyWorkingDays { working_days: 1000 })
    ));
}

#[test]
fn working_days_taken() {
    let calendar = calendar();
    let cases = [
        ("2026-02-13 10:00", "2026-02-13 18:00", 0),
        ("2026-02-13 10:00", "2026-02-14 10:00", 1),
        ("2026-02-13 10:00", "2026-02-24 10:00", 2),
        ("2026-02-24 10:00", "2026-02-13 10:00", 0),
    ];
    for (from, to, expect) in cases {
        assert_eq!(
            working_days_between(&calendar, cst(from), cst(to)).unwrap(),
            expect,
            "{from} → {to}"
        );
    }
}
