//! 部门工作量 — the workload of each handling unit (department, township, community).
//!
//! Keys of the `workload` tree:
//! - `k/` text(case) → [`WorkCase`]: where the case is and its running clocks
//! - `n/` text(unit) → [`NowCounts`]: cases in the unit's hands now
//! - `d/` text(unit) day(u32, CST) → [`DayCounts`]: what happened at the unit that day
//! - `o/` text(unit) time(earliest due) text(case) → (): open cases by deadline, so "overdue
//!   now" is a bounded range count at query time
//! - `w/` text(unit) → (): every unit that ever held a case
//!
//! Handling time here is from the case's arrival at the unit (dispatch or transfer) to its
//! resolution by that unit; the p90 comes from a histogram of whole hours (exact up to ten
//! days, then by day), so it is an upper bound within an hour (a day beyond ten days).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case_status::{apply_clocks, CaseState, DeadlineEntry};
use crate::codec::{self, Key, KeyReader};
use crate::facts::{CaseFact, Event, Subject};
use crate::framework::{Indexed, IndexedTable, Input, Projection, Reader, Table, Tx};
use crate::query::{scan_page, Page, PageRequest};
use crate::store::Scan;
use crate::Error;

/// The projection's name.
pub const NAME: &str = "workload";
/// Bump when the stored form or the fold changes.
pub const VERSION: u32 = 3;

/// The longest period one workload query sums, in days.
pub const PERIOD_DAYS_MAX: i64 = 3_660;

const HOUR_US: i64 = 3_600_000_000;
/// Histogram buckets of one hour below this many hours; of one day above.
const HOURLY_BUCKETS: u32 = 240;
const BUCKETS_MAX: u32 = 2_000;

/// What the workload projection keeps per case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkCase {
    /// The case id.
    pub case: String,
    /// The unit holding it.
    pub unit: Option<String>,
    /// The unit that dispatched it there (gets it back on a return).
    pub dispatched_by: Option<String>,
    /// When it reached the unit holding it.
    pub arrived_us: i64,
    /// Its state.
    pub state: CaseState,
    /// The clocks running now.
    pub running: Vec<DeadlineEntry>,
}

/// Which of the unit's "now" counts a case is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Awaiting,
    InProgress,
}

/// Which "now" count of which unit a case in `state` held by `unit` is in.
fn bucket(unit: Option<&str>, state: CaseState) -> Option<(&str, Bucket)> {
    let unit = unit?;
    match state {
        CaseState::Dispatched => Some((unit, Bucket::Awaiting)),
        CaseState::Accepted | CaseState::InProgress | CaseState::Reopened => {
            Some((unit, Bucket::InProgress))
        }
        _ => None,
    }
}

impl WorkCase {
    fn bucket(&self) -> Option<(&str, Bucket)> {
        bucket(self.unit.as_deref(), self.state)
    }

    fn earliest_due(&self) -> Option<i64> {
        self.running
            .iter()
            .filter(|entry| entry.due.clock.counts_as_overdue())
            .map(|entry| entry.due.due_us)
            .min()
    }
}

impl Indexed for WorkCase {
    fn index_entries(&self, _key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        match (self.bucket(), self.earliest_due()) {
            (Some((unit, _)), Some(due)) => vec![(
                Key::tag(b"o/")
                    .text(unit)
                    .time(due)
                    .text(&self.case)
                    .into_bytes(),
                Vec::new(),
            )],
            _ => Vec::new(),
        }
    }
}

/// Cases in a unit's hands now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NowCounts {
    /// 待签收 — dispatched to it, not accepted.
    pub awaiting_acceptance: u64,
    /// 办理中 — accepted, being handled (or reopened).
    pub in_progress: u64,
}

/// What happened at a unit on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Cases that arrived (dispatched or transferred to it).
    pub received: u64,
    /// Cases it accepted.
    pub accepted: u64,
    /// Cases it resolved.
    pub resolved: u64,
    /// Its resolved cases that were closed.
    pub closed: u64,
    /// 退单 — cases it sent back.
    pub returns_out: u64,
    /// Cases sent back to it (it had dispatched them).
    pub returns_in: u64,
    /// 移送 — cases it transferred away.
    pub transfers_out: u64,
    /// Cases transferred to it.
    pub transfers_in: u64,
    /// Handling times summed, µs.
    pub handling_sum_us: i64,
    /// Handling-time histogram: bucket → count.
    pub handling_histogram: BTreeMap<u32, u64>,
}

fn bucket_of(handling_us: i64) -> u32 {
    let hours = u32::try_from(handling_us.max(0) / HOUR_US).unwrap_or(u32::MAX);
    if hours < HOURLY_BUCKETS {
        hours
    } else {
        (HOURLY_BUCKETS + (hours - HOURLY_BUCKETS) / 24).min(BUCKETS_MAX)
    }
}

fn bucket_upper_us(bucket: u32) -> i64 {
    let hours = if bucket < HOURLY_BUCKETS {
        i64::from(bucket) + 1
    } else {
        i64::from(HOURLY_BUCKETS) + (i64::from(bucket - HOURLY_BUCKETS) + 1) * 24
    };
    hours * HOUR_US
}

/// How this projection's keys are paged (see [`crate::paged`]): every class of keys in
/// pages of about this many entries, chosen so that a page is a few KiB.
pub fn layout(key: &[u8]) -> Option<crate::paged::Class> {
    crate::paged::by_tag(
        key,
        &[
            // The writer rewrites a whole page for each entry a batch changes: most
            // records change their case (`k/`) and move it in the due queue (`o/`, few:
            // open cases only), so those pages are small (version 3; 16 and 64 before).
            (b"k/", 8),
            (b"n/", 16),
            (b"d/", 16),
            (b"o/", 8),
            (b"w/", 64),
        ],
    )
}

/// The key of a case, built in `buffer` (see [`Key::reuse`]).
fn case_key_in(buffer: Vec<u8>, case: &str) -> Vec<u8> {
    Key::reuse(buffer, b"k/").text(case).into_bytes()
}

fn now_key(unit: &str) -> Vec<u8> {
    Key::tag(b"n/").text(unit).into_bytes()
}

fn day_key(unit: &str, day: i32) -> Vec<u8> {
    day_key_in(Vec::new(), unit, day)
}

/// The key of a unit's day, built in `buffer` (see [`Key::reuse`]).
fn day_key_in(buffer: Vec<u8>, unit: &str, day: i32) -> Vec<u8> {
    Key::reuse(buffer, b"d/")
        .text(unit)
        .u64(u64::from((day as u32) ^ (1 << 31)))
        .into_bytes()
}

/// The workload projection.
#[derive(Default)]
pub struct WorkloadProjection {
    cases: IndexedTable<WorkCase>,
    /// The buffers a record's case key and day keys are built in (see [`Key::reuse`]).
    key: Vec<u8>,
    day_key: Vec<u8>,
    now: Table<NowCounts>,
    days: Table<DayCounts>,
    units: Table<()>,
}

impl WorkloadProjection {
    /// A new projection.
    pub fn new() -> WorkloadProjection {
        WorkloadProjection::default()
    }

    fn day(&mut self, tx: &Tx<'_>, unit: &str, at_us: i64) -> Result<&mut DayCounts, Error> {
        let key = day_key_in(
            std::mem::take(&mut self.day_key),
            unit,
            codec::cst_day(at_us),
        );
        let counts = self.days.get_or_insert_with(tx, &key, DayCounts::default);
        self.day_key = key;
        counts
    }

    fn move_bucket(
        &mut self,
        tx: &Tx<'_>,
        before: Option<(&str, Bucket)>,
        after: Option<(&str, Bucket)>,
    ) -> Result<(), Error> {
        if before == after {
            return Ok(());
        }
        if let Some((unit, bucket)) = before {
            let counts = self
                .now
                .get_or_insert_with(tx, &now_key(unit), NowCounts::default)?;
            let slot = match bucket {
                Bucket::Awaiting => &mut counts.awaiting_acceptance,
                Bucket::InProgress => &mut counts.in_progress,
            };
            *slot = slot.saturating_sub(1);
        }
        if let Some((unit, bucket)) = after {
            let counts = self
                .now
                .get_or_insert_with(tx, &now_key(unit), NowCounts::default)?;
            match bucket {
                Bucket::Awaiting => counts.awaiting_acceptance += 1,
                Bucket::InProgress => counts.in_progress += 1,
            }
        }
        Ok(())
    }

    /// Folds one decoded record.
    pub fn apply_event(&mut self, event: &Event, tx: &mut Tx<'_>) -> Result<(), Error> {
        let Subject::Case { case, fact, starts } = &event.subject else {
            return Ok(());
        };
        let key = case_key_in(std::mem::take(&mut self.key), case);
        if matches!(fact, CaseFact::Filed { .. }) {
            let mut work = WorkCase {
                case: case.clone(),
                unit: None,
                dispatched_by: None,
                arrived_us: event.at_us,
                state: CaseState::Filed,
                running: Vec::new(),
            };
            apply_clocks(&mut work.running, fact, starts, None, event);
            work.running.retain(DeadlineEntry::is_running);
            self.cases.put(tx, &key, work)?;
            self.key = key;
            return Ok(());
        }
        let Some(mut work) = self.cases.take_for_update(tx, &key)? else {
            return Err(Error::Decode {
                position: event.position,
                message: format!("act {} on unknown case {case}", event.kind),
            });
        };
        // The unit and state before the act: its "now" count moves if they change.
        let holder = work.unit.clone();
        let state_before = work.state;
        let at = event.at_us;
        match fact {
            CaseFact::Dispatched { unit } => {
                work.state = CaseState::Dispatched;
                work.unit = Some(unit.clone());
                work.dispatched_by = Some(event.unit.clone());
                work.arrived_us = at;
                self.units
                    .set(tx, Key::tag(b"w/").text(unit).as_bytes(), ())?;
                self.day(tx, unit, at)?.received += 1;
            }
            CaseFact::Transferred { to } => {
                work.state = CaseState::Dispatched;
                if let Some(from) = &holder {
                    self.day(tx, from, at)?.transfers_out += 1;
                }
                work.unit = Some(to.clone());
                work.dispatched_by = holder.clone().or_else(|| Some(event.unit.clone()));
                work.arrived_us = at;
                self.units
                    .set(tx, Key::tag(b"w/").text(to).as_bytes(), ())?;
                let day = self.day(tx, to, at)?;
                day.transfers_in += 1;
                day.received += 1;
            }
            CaseFact::Accepted { .. } => {
                work.state = CaseState::Accepted;
                if let Some(unit) = &holder {
                    self.day(tx, unit, at)?.accepted += 1;
                }
            }
            CaseFact::Returned { to, .. } => {
                work.state = CaseState::Returned;
                if let Some(unit) = &holder {
                    self.day(tx, unit, at)?.returns_out += 1;
                }
                self.units
                    .set(tx, Key::tag(b"w/").text(to).as_bytes(), ())?;
                self.day(tx, to, at)?.returns_in += 1;
                work.unit = None;
            }
            CaseFact::Contacted { .. }
            | CaseFact::Inspected { .. }
            | CaseFact::RectificationOrdered
            | CaseFact::RectificationVerified { .. }
            | CaseFact::Penalised { .. }
            | CaseFact::Mediated { .. }
            | CaseFact::JointEnforcement => {
                if matches!(work.state, CaseState::Accepted | CaseState::Reopened) {
                    work.state = CaseState::InProgress;
                }
            }
            CaseFact::Resolved { .. } => {
                work.state = CaseState::Resolved;
                if let Some(unit) = &holder {
                    let handling = at - work.arrived_us;
                    let day = self.day(tx, unit, at)?;
                    day.resolved += 1;
                    day.handling_sum_us += handling;
                    *day.handling_histogram
                        .entry(bucket_of(handling))
                        .or_insert(0) += 1;
                }
            }
            CaseFact::Closed { .. } => {
                if work.state == CaseState::Resolved {
                    if let Some(unit) = &holder {
                        self.day(tx, unit, at)?.closed += 1;
                    }
                }
                work.state = CaseState::Closed;
            }
            CaseFact::Reopened { unit } => {
                work.state = CaseState::Reopened;
                work.unit = Some(unit.clone());
                self.units
                    .set(tx, Key::tag(b"w/").text(unit).as_bytes(), ())?;
                // Handling time of the second round counts from the reopening.
                work.arrived_us = at;
            }
            CaseFact::Merged { .. } => work.state = CaseState::Merged,
            CaseFact::Withdrawn => work.state = CaseState::Withdrawn,
            CaseFact::Filed { .. }
            | CaseFact::Extended { .. }
            | CaseFact::Supervised { .. }
            | CaseFact::Feedback { .. }
            | CaseFact::Other => {}
        }
        apply_clocks(&mut work.running, fact, starts, work.unit.as_deref(), event);
        work.running.retain(DeadlineEntry::is_running);
        self.move_bucket(tx, bucket(holder.as_deref(), state_before), work.bucket())?;
        self.cases.put_if_changed(tx, &key, work)?;
        self.key = key;
        Ok(())
    }
}

impl Projection for WorkloadProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn apply(&mut self, input: &Input<'_>, tx: &mut Tx<'_>) -> Result<(), Error> {
        self.apply_event(input.event()?, tx)
    }

    fn flush(&mut self, tx: &mut Tx<'_>) -> Result<(), Error> {
        self.cases.flush(tx);
        self.now.flush(tx);
        self.days.flush(tx);
        self.units.flush(tx);
        Ok(())
    }

    fn discard(&mut self) {
        self.cases.clear();
        self.now.clear();
        self.days.clear();
        self.units.clear();
    }

    fn cached(&self) -> usize {
        self.cases.len() + self.days.len() + self.now.len()
    }
}

/// A unit's workload: now, and over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// The unit.
    pub unit: String,
    /// The instant "now" and "overdue" refer to, µs.
    pub at_us: i64,
    /// First day of the period (CST), inclusive.
    pub from: NaiveDate,
    /// Last day of the period (CST), inclusive.
    pub to: NaiveDate,
    /// Open cases in its hands now (awaiting acceptance + in progress).
    pub open: u64,
    /// 待签收.
    pub awaiting_acceptance: u64,
    /// 办理中.
    pub in_progress: u64,
    /// 逾期 — open cases in its hands with a clock past its deadline at `at_us`.
    pub overdue: u64,
    /// What happened in the period.
    pub period: DayCounts,
    /// Mean handling time of cases resolved in the period, µs.
    pub mean_handling_us: Option<i64>,
    /// 90th percentile of handling time, µs (upper bound of its histogram bucket).
    pub p90_handling_us: Option<i64>,
}

/// Queries over the workload projection.
#[derive(Clone)]
pub struct WorkloadQueries {
    reader: Reader,
}

impl WorkloadQueries {
    /// Queries through `reader`.
    pub fn new(reader: Reader) -> WorkloadQueries {
        WorkloadQueries { reader }
    }

    /// The workload of `unit`: now (at `at_us`), and over the CST days `from..=to`.
    pub fn workload(
        &self,
        unit: &str,
        from: NaiveDate,
        to: NaiveDate,
        at_us: i64,
    ) -> Result<Workload, Error> {
        let days = (to - from).num_days();
        if !(0..PERIOD_DAYS_MAX).contains(&days) {
            return Err(Error::Argument {
                field: "to",
                message: format!(
                    "期间须为 1 到 {PERIOD_DAYS_MAX} 天 / the period must be 1 to {PERIOD_DAYS_MAX} days"
                ),
            });
        }
        let tree = self.reader.tree(NAME)?;
        let now_key = now_key(unit);
        let now: NowCounts = match tree.get(&now_key)? {
            Some(bytes) => codec::decode(&now_key, &bytes)?,
            None => NowCounts::default(),
        };
        let mut period = DayCounts::default();
        let start = day_key(unit, codec::day_of_date(from));
        let end = day_key(unit, codec::day_of_date(to) + 1);
        let mut failure = None;
        tree.scan(&start, Some(&end), &mut |key, value| {
            match codec::decode::<DayCounts>(key, value) {
                Ok(day) => add_day(&mut period, day),
                Err(error) => {
                    failure = Some(error);
                    return Scan::Stop;
                }
            }
            Scan::Continue
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        let overdue_prefix = Key::tag(b"o/").text(unit).into_bytes();
        let overdue_end = Key::tag(b"o/")
            .text(unit)
            .time(at_us.saturating_add(1))
            .into_bytes();
        let mut overdue = 0u64;
        tree.scan(&overdue_prefix, Some(&overdue_end), &mut |_, _| {
            overdue += 1;
            Scan::Continue
        })?;
        let (mean, p90) = handling_stats(&period);
        Ok(Workload {
            unit: unit.to_string(),
            at_us,
            from,
            to,
            open: now.awaiting_acceptance + now.in_progress,
            awaiting_acceptance: now.awaiting_acceptance,
            in_progress: now.in_progress,
            overdue,
            period,
            mean_handling_us: mean,
            p90_handling_us: p90,
        })
    }

    /// Every unit that ever held a case, in id order.
    pub fn units(&self, page: &PageRequest) -> Result<Page<String>, Error> {
        let tree = self.reader.tree(NAME)?;
        scan_page(tree.as_ref(), b"w/", page, |key, _| {
            Ok(KeyReader::new(key, 2).text()?.to_string())
        })
    }

    /// The open cases of `unit` with a clock past its deadline at `at_us`, longest overdue
    /// first.
    pub fn overdue_cases(
        &self,
        unit: &str,
        at_us: i64,
        page: &PageRequest,
    ) -> Result<Page<(String, i64)>, Error> {
        let tree = self.reader.tree(NAME)?;
        let prefix = Key::tag(b"o/").text(unit).into_bytes();
        let until = Key::tag(b"o/")
            .text(unit)
            .time(at_us.saturating_add(1))
            .into_bytes();
        let skip = prefix.len();
        crate::query::scan_page_until(tree.as_ref(), &prefix, Some(&until), page, |key, _| {
            let mut reader = KeyReader::new(key, skip);
            let due = reader.time()?;
            Ok((reader.text()?.to_string(), due))
        })
    }
}

fn add_day(total: &mut DayCounts, day: DayCounts) {
    total.received += day.received;
    total.accepted += day.accepted;
    total.resolved += day.resolved;
    total.closed += day.closed;
    total.returns_out += day.returns_out;
    total.returns_in += day.returns_in;
    total.transfers_out += day.transfers_out;
    total.transfers_in += day.transfers_in;
    total.handling_sum_us += day.handling_sum_us;
    for (bucket, count) in day.handling_histogram {
        *total.handling_histogram.entry(bucket).or_insert(0) += count;
    }
}

fn handling_stats(period: &DayCounts) -> (Option<i64>, Option<i64>) {
    let count: u64 = period.handling_histogram.values().sum();
    if count == 0 {
        return (None, None);
    }
    let mean = period.handling_sum_us / i64::try_from(count).unwrap_or(i64::MAX);
    // The smallest bucket whose cumulative count reaches 90% (rounded up) of all.
    let rank = (count * 9).div_ceil(10);
    let mut seen = 0u64;
    let mut p90 = None;
    for (bucket, n) in &period.handling_histogram {
        seen += n;
        if seen >= rank {
            p90 = Some(bucket_upper_us(*bucket));
            break;
        }
    }
    (Some(mean), p90)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_hours_then_days_and_p90_is_an_upper_bound() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(HOUR_US * 5 + 1), 5);
        assert_eq!(bucket_upper_us(5), HOUR_US * 6);
        assert_eq!(bucket_of(HOUR_US * 240), 240);
        assert_eq!(bucket_of(HOUR_US * 264), 241);
        assert_eq!(bucket_upper_us(240), HOUR_US * 264);
        let mut period = DayCounts::default();
        for hours in 1..=10 {
            period.handling_sum_us += hours * HOUR_US;
            *period
                .handling_histogram
                .entry(bucket_of(hours * HOUR_US))
                .or_insert(0) += 1;
        }
        let (mean, p90) = handling_stats(&period);
        assert_eq!(mean, Some(HOUR_US * 55 / 10));
        assert_eq!(p90, Some(HOUR_US * 10));
    }
}
