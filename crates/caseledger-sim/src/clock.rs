//! The simulated clock: instants in office hours on the working-day calendar, China Standard
//! Time. Government units act from 08:30 to 17:30 on working days (make-up days included,
//! holidays excluded); the 12345 hotline takes calls from 07:00 to 22:00 every day; urgent
//! safety cases are handled at any hour.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::deadline::{cst_date, CST_OFFSET_SECONDS};

use crate::rng::Rng;

/// Office hours start, minutes after midnight CST (08:30).
pub(crate) const OFFICE_OPENS_MINUTES: i64 = 8 * 60 + 30;
/// Office hours end, minutes after midnight CST (17:30).
pub(crate) const OFFICE_CLOSES_MINUTES: i64 = 17 * 60 + 30;
/// The most working days a search looks ahead before giving up.
const LOOKAHEAD_DAYS_MAX: u32 = 90;

/// The instant `minutes` after 00:00 CST of `date`, with a few random seconds so that acts of
/// the same minute still differ.
pub(crate) fn at_cst(date: NaiveDate, minutes: i64, seconds: i64) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    DateTime::<Utc>::from_naive_utc_and_offset(
        midnight + Duration::minutes(minutes) + Duration::seconds(seconds)
            - Duration::seconds(i64::from(CST_OFFSET_SECONDS)),
        Utc,
    )
}

/// Minutes after 00:00 CST of the instant's own CST day.
#[cfg(test)]
pub(crate) fn cst_minutes(instant: DateTime<Utc>) -> i64 {
    let date = cst_date(instant);
    (instant - at_cst(date, 0, 0)).num_minutes()
}

/// The working-day clock over a calendar.
#[derive(Clone, Copy)]
pub(crate) struct SimClock<'a> {
    pub(crate) calendar: &'a WorkCalendar,
}

impl SimClock<'_> {
    fn is_working(&self, date: NaiveDate) -> bool {
        self.calendar.is_working_day(date)
    }

    /// The first working day on or after `date`.
    pub(crate) fn working_day_from(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        for _ in 0..LOOKAHEAD_DAYS_MAX {
            if self.is_working(day) {
                return day;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        day
    }

    /// The `n`th working day after `date` (`n = 0`: `date` itself if working, else the next).
    pub(crate) fn nth_working_day(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = self.working_day_from(date);
        for _ in 0..n {
            day = self.working_day_from(day.succ_opt().unwrap_or(day));
        }
        day
    }

    /// A random instant in office hours on `date`, not before `not_before` and not after
    /// `not_after`; `None` when the window is empty.
    fn office_instant_on(
        &self,
        date: NaiveDate,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        rng: &mut Rng,
    ) -> Option<DateTime<Utc>> {
        let opens = at_cst(date, OFFICE_OPENS_MINUTES, 0).max(not_before);
        let closes = at_cst(date, OFFICE_CLOSES_MINUTES, 0).min(not_after);
        if closes <= opens {
            return None;
        }
        let span = (closes - opens).num_seconds().max(1) as u64;
        Some(opens + Duration::seconds(rng.range(0, span - 1) as i64))
    }

    /// A random office-hours instant after `now` (at least `gap_minutes` later) and before
    /// `until`, skewed towards the start when `early` is true. When the window holds no office
    /// hours, the first office-hours instant after `now + gap` (which may be after `until`).
    pub(crate) fn office_between(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        gap_minutes: i64,
        early: bool,
        rng: &mut Rng,
    ) -> DateTime<Utc> {
        let from = now + Duration::minutes(gap_minutes);
        let first = cst_date(from);
        let last = cst_date(until - Duration::seconds(1));
        let mut days = Vec::new();
        let mut day = first;
        while day <= last && days.len() < LOOKAHEAD_DAYS_MAX as usize {
            if self.is_working(day) {
                days.push(day);
            }
            day = match day.succ_opt() {
                Some(next) => next,
                None => break,
            };
        }
        let mut order: Vec<usize> = (0..days.len()).collect();
        if !order.is_empty() {
            let pick = if early {
                rng.below(days.len()).min(rng.below(days.len()))
            } else {
                rng.below(days.len())
            };
            order.rotate_left(pick);
        }
        for index in order {
            if let Some(instant) =
                self.office_instant_on(days[index], from, until - Duration::minutes(1), rng)
            {
                return instant;
            }
        }
        self.office_after(from, 0, 0, rng)
    }

    /// A random office-hours instant on the `n`th working day after `now`'s CST day, `n`
    /// drawn from `low..=high` (0: later the same working day when there is time left).
    pub(crate) fn office_after(
        &self,
        now: DateTime<Utc>,
        low: u32,
        high: u32,
        rng: &mut Rng,
    ) -> DateTime<Utc> {
        let n = rng.range(u64::from(low), u64::from(high)) as u32;
        let mut day = self.nth_working_day(cst_date(now), n);
        loop {
            let far = at_cst(day, 24 * 60, 0);
            if let Some(instant) = self.office_instant_on(day, now + Duration::minutes(5), far, rng)
            {
                return instant;
            }
            day = self.nth_working_day(day.succ_opt().unwrap_or(day), 0);
        }
    }

    /// A random instant at any hour between `now + gap_minutes` and `until` (urgent work).
    pub(crate) fn any_between(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        gap_minutes: i64,
        rng: &mut Rng,
    ) -> DateTime<Utc> {
        let from = now + Duration::minutes(gap_minutes);
        if until <= from {
            return from;
        }
        let span = (until - from).num_seconds().max(1) as u64;
        from + Duration::seconds(rng.range(0, span - 1) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger_domain::Source;

    fn calendar() -> WorkCalendar {
        WorkCalendar::from_sources(&[Source {
            name: "2026.toml",
            text: include_str!("../../../ops/calendar/2026.toml"),
        }])
        .unwrap()
    }

    #[test]
    fn office_instants_fall_on_working_days_in_office_hours() {
        let calendar = calendar();
        let clock = SimClock {
            calendar: &calendar,
        };
        let mut rng = Rng::new(9);
        // 2026-02-13 is a Friday before the Spring Festival holiday; 02-14 a make-up Saturday.
        let now = at_cst(NaiveDate::from_ymd_opt(2026, 2, 13).unwrap(), 17 * 60, 0);
        for _ in 0..200 {
            let instant = clock.office_after(now, 1, 3, &mut rng);
            let date = cst_date(instant);
            assert!(calendar.is_working_day(date), "{date}");
            let minutes = cst_minutes(instant);
            assert!((OFFICE_OPENS_MINUTES..OFFICE_CLOSES_MINUTES).contains(&minutes));
            assert!(instant > now);
        }
    }

    #[test]
    fn office_between_respects_the_window_when_it_can() {
        let calendar = calendar();
        let clock = SimClock {
            calendar: &calendar,
        };
        let mut rng = Rng::new(10);
        let now = at_cst(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), 9 * 60, 0);
        let until = at_cst(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(), 24 * 60, 0);
        for _ in 0..200 {
            let instant = clock.office_between(now, until, 10, true, &mut rng);
            assert!(instant > now && instant < until);
        }
    }
}
