//! 办理时限 — when each clock of a case runs out, in China Standard Time on the working-day
//! calendar, and when its warnings fall.
//!
//! # The rule
//!
//! - **N working days** from an instant ends at **24:00 China Standard Time (UTC+8) of the Nth
//!   working day after the CST calendar day on which the clock started**. The start day never
//!   counts, whatever the hour and whether or not it is a working day: a case dispatched on
//!   Tuesday at 08:00 or at 23:50 must be accepted by the end of Wednesday (1 working day); one
//!   dispatched on Saturday, by the end of Monday. We chose this over counting office hours
//!   because it is what a clerk can check with a wall calendar, it never gives less than one
//!   full working day, and it does not depend on each unit's office hours.
//! - **Urgent safety** cases (fire, lift entrapment, gas, water cut) are resolved within a
//!   number of **wall-clock hours** (24 by default), holidays or not.
//! - **An extension** of N working days moves the deadline to 24:00 CST of the Nth working day
//!   after the CST day on which the current deadline falls (for a working-day deadline, the
//!   last day it covered; for an urgent one, the day of its hour).
//! - **Warnings** fall at 50% and 75% of the wall-clock time from the start to the deadline
//!   (after an extension, of the whole extended span).
//! - The calendar must cover every day a computation looks at; otherwise the computation
//!   fails with [`DeadlineError::BeyondCalendar`] rather than silently ignore holidays of a
//!   year nobody loaded.
//!
//! ```
//! use caseledger_domain::{calendar::WorkCalendar, deadline::add_working_days, Source};
//! use chrono::{TimeZone, Utc};
//!
//! let text = "year = 2026\n[[holiday]]\nname = \"元旦\"\nfrom = 2026-01-01\nto = 2026-01-03\n\
//!             [[makeup]]\nname = \"元旦调休上班\"\ndate = 2026-01-04\n";
//! let calendar = WorkCalendar::from_sources(&[Source { name: "2026.toml", text }]).unwrap();
//! // Wednesday 31 December 2025 is outside the calendar, but only the days after it count.
//! let start = Utc.with_ymd_and_hms(2025, 12, 31, 2, 0, 0).unwrap(); // 10:00 CST
//! // 1, 2, 3 January are holidays; Sunday the 4th is a make-up working day.
//! let due = add_working_days(&calendar, start, 1).unwrap();
//! assert_eq!(due, Utc.with_ymd_and_hms(2026, 1, 4, 16, 0, 0).unwrap()); // 5 Jan 00:00 CST
//! ```

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::policy::DeadlinePolicy;

/// China Standard Time, UTC+8, in seconds east of UTC. China has no daylight saving time.
pub const CST_OFFSET_SECONDS: i32 = 8 * 3600;

/// The most working days a single computation may add. Bounds the day scan.
pub const WORKING_DAYS_MAX: u32 = 120;

/// The most calendar days a computation scans before it gives up (a calendar that is all
/// holidays).
const SCAN_DAYS_MAX: u32 = 400;

/// A clock that runs on a case.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// 派单 — dispatch after filing.
    Dispatch,
    /// 签收 — acceptance after dispatch.
    Accept,
    /// 先行联系 — first contact with the complainant after acceptance.
    FirstContact,
    /// 退单 — the window after dispatch within which the unit may return the case.
    Return,
    /// 办结 — resolution after acceptance (by severity).
    Resolve,
    /// 回访 — follow-up after resolution.
    FollowUp,
    /// 逾期未评价自动办结 — a resolved case without feedback closes unrated.
    CloseUnrated,
}

/// How serious a case is; decides its resolution clock.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// 紧急 — urgent safety: fire, lift entrapment, gas, water cut. Hours, not days.
    Urgent,
    /// 一般 — general.
    General,
    /// 复杂 — complex.
    Complex,
}

/// A running clock's deadline and its warning points, all in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deadline {
    /// Which clock.
    pub clock: Clock,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// When it runs out: the case is overdue at and after this instant.
    pub due_at: DateTime<Utc>,
    /// The first warning, at 50% of the time.
    pub warn_50_at: DateTime<Utc>,
    /// The second warning, at 75% of the time.
    pub warn_75_at: DateTime<Utc>,
}

/// Where a clock stands at an instant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlineStatus {
    /// Less than half the time used.
    OnTime,
    /// 黄色预警 — at least 50% used.
    Warn50,
    /// 橙色预警 — at least 75% used.
    Warn75,
    /// 逾期 — past the deadline.
    Overdue,
}

/// Why a deadline could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeadlineError {
    /// The computation needs a day of a year the calendar was not loaded with.
    #[error("工作日历未覆盖 {date} / the working-day calendar does not cover {date}; load that year's calendar")]
    BeyondCalendar {
        /// The first day not covered.
        date: NaiveDate,
    },
    /// More working days were asked for than [`WORKING_DAYS_MAX`].
    #[error("工作日数过大 / {working_days} working days is more than {WORKING_DAYS_MAX}")]
    TooManyWorkingDays {
        /// The number asked for.
        working_days: u32,
    },
    /// No working day was found within the scan limit.
    #[error("找不到工作日 / no working day within {SCAN_DAYS_MAX} days after {date}")]
    NoWorkingDay {
        /// The day the scan started after.
        date: NaiveDate,
    },
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(CST_OFFSET_SECONDS)
        .unwrap_or_else(|| unreachable!("UTC+8 is a valid offset"))
}

/// The CST calendar day of an instant.
pub fn cst_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&cst()).date_naive()
}

/// 24:00 CST at the end of `date` (= 00:00 CST of the next day), in UTC.
pub fn end_of_cst_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(NaiveDate::MAX);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    DateTime::<Utc>::from_naive_utc_and_offset(
        midnight - Duration::seconds(i64::from(CST_OFFSET_SECONDS)),
        Utc,
    )
}

/// The Nth working day strictly after `date` (N ≥ 1; N = 0 gives `date`).
pub fn nth_working_day_after(
    calendar: &WorkCalendar,
    date: NaiveDate,
    working_days: u32,
) -> Result<NaiveDate, DeadlineError> {
    if working_days > WORKING_DAYS_MAX {
        return Err(DeadlineError::TooManyWorkingDays { working_days });
    }
    let mut day = date;
    let mut counted = 0;
    let mut scanned = 0;
    while counted < working_days {
        day = day.succ_opt().ok_or(DeadlineError::NoWorkingDay { date })?;
        scanned += 1;
        if scanned > SCAN_DAYS_MAX {
            return Err(DeadlineError::NoWorkingDay { date });
        }
        if !calendar.covers(day) {
            return Err(DeadlineError::BeyondCalendar { date: day });
        }
        if calendar.is_working_day(day) {
            counted += 1;
        }
    }
    Ok(day)
}

/// The instant `working_days` working days after `started_at`: 24:00 CST of the Nth working
/// day after the CST day of `started_at`.
pub fn add_working_days(
    calendar: &WorkCalendar,
    started_at: DateTime<Utc>,
    working_days: u32,
) -> Result<DateTime<Utc>, DeadlineError> {
    let day = nth_working_day_after(calendar, cst_date(started_at), working_days)?;
    Ok(end_of_cst_day(day))
}

/// The number of working days strictly after the CST day of `from` up to and including the
/// CST day of `to` (0 when `to` is not later). How many working days a case took.
pub fn working_days_between(
    calendar: &WorkCalendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u32, DeadlineError> {
    let (first, last) = (cst_date(from), cst_date(to));
    let mut count = 0;
    let mut day = first;
    while day < last {
        day = day
            .succ_opt()
            .ok_or(DeadlineError::NoWorkingDay { date: first })?;
        if !calendar.covers(day) {
            return Err(DeadlineError::BeyondCalendar { date: day });
        }
        if calendar.is_working_day(day) {
            count += 1;
        }
    }
    Ok(count)
}

impl Deadline {
    /// A deadline from `started_at` to `due_at`, with its warnings at 50% and 75% of the span.
    pub fn spanning(clock: Clock, started_at: DateTime<Utc>, due_at: DateTime<Utc>) -> Deadline {
        let span = due_at - started_at;
        Deadline {
            clock,
            started_at,
            due_at,
            warn_50_at: started_at + span / 2,
            warn_75_at: started_at + span * 3 / 4,
        }
    }

    /// Where the clock stands at `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> DeadlineStatus {
        if now >= self.due_at {
            DeadlineStatus::Overdue
        } else if now >= self.warn_75_at {
            DeadlineStatus::Warn75
        } else if now >= self.warn_50_at {
            DeadlineStatus::Warn50
        } else {
            DeadlineStatus::OnTime
        }
    }

    /// True at and after the deadline.
    pub fn is_overdue_at(&self, now: DateTime<Utc>) -> bool {
        now >= self.due_at
    }

    /// 延期 — the deadline extended by `working_days` working days: 24:00 CST of the Nth working
    /// day after the CST day the current deadline falls on. Warnings are recomputed over the
    /// whole span from the original start. Whether an extension is allowed (how many, how
    /// long) is the case rules' business, using [`DeadlinePolicy::extensions_max`] and
    /// [`DeadlinePolicy::extension_working_days_max`].
    pub fn extended(
        &self,
        calendar: &WorkCalendar,
        working_days: u32,
    ) -> Result<Deadline, DeadlineError> {
        // A working-day deadline is 24:00, i.e. 00:00 of the next day: the day it covers is the
        // one ending then, so look one second earlier.
        let last_day = cst_date(self.due_at - Duration::seconds(1));
        let day = nth_working_day_after(calendar, last_day, working_days)?;
        Ok(Deadline::spanning(
            self.clock,
            self.started_at,
            end_of_cst_day(day),
        ))
    }
}

/// The deadline of `clock` started at `started_at`, under `policy` on `calendar`. `severity`
/// matters only for [`Clock::Resolve`].
pub fn deadline(
    clock: Clock,
    severity: Severity,
    started_at: DateTime<Utc>,
    policy: &DeadlinePolicy,
    calendar: &WorkCalendar,
) -> Result<Deadline, DeadlineError> {
    let working_days = match (clock, severity) {
        (Clock::Dispatch, _) => policy.dispatch_working_days,
        (Clock::Accept, _) => policy.accept_working_days,
        (Clock::FirstContact, _) => policy.first_contact_working_days,
        (Clock::Return, _) => policy.return_window_working_days,
        (Clock::Resolve, Severity::Urgent) => {
            let due_at = started_at + Duration::hours(i64::from(policy.resolve_urgent_hours));
            return Ok(Deadline::spanning(clock, started_at, due_at));
        }
        (Clock::Resolve, Severity::General) => policy.resolve_general_working_days,
        (Clock::Resolve, Severity::Complex) => policy.resolve_complex_working_days,
        (Clock::FollowUp, _) => policy.follow_up_working_days,
        (Clock::CloseUnrated, _) => policy.close_unrated_working_days,
    };
    let due_at = add_working_days(calendar, started_at, working_days)?;
    Ok(Deadline::spanning(clock, started_at, due_at))
}
