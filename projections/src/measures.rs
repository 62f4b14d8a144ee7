//! 考核指标 — the county's measures (DOMAIN.md §2) by township, department (handling unit),
//! firm, category and month.
//!
//! Every count belongs to the month (CST) in which its case was filed, so the rates of a
//! month compare like with like: of the cases filed in March, how many were answered in
//! time, resolved, rated satisfied. Counts about handling go to the unit that did it (the
//! unit a case was dispatched to, that accepted, returned or resolved it); counts about the
//! case as a whole (filed, repeats) go to no unit.
//!
//! Keys of the `measures` tree:
//! - `k/` text(case) → [`MeasureCase`]
//! - `m/` dimension tag, text(value), text(month) → [`Counts`]
//! - `o/` dimension tag, text(value), time(earliest due), text(case) → month: open cases by
//!   deadline, for the overdue count at the instant asked
//! - `r/` text(compound), text(category) → time of the last filing: 重复投诉 detection
//!
//! Definitions (ours; no official formula is published):
//! - 响应率 response rate = dispatches accepted by the accept deadline and followed by a first
//!   contact by its deadline ÷ dispatches (transfers count as dispatches);
//! - 解决率 resolution rate = cases rated as resolved ÷ cases rated;
//! - 满意率 satisfaction rate = (satisfied + basically satisfied) ÷ cases rated;
//! - on-time resolution rate = resolutions before the running resolution deadline ÷
//!   resolutions;
//! - return rate = returns ÷ dispatches;
//! - mean handling time = filing to resolution, over resolutions;
//! - repeat-complaint rate = filings with an earlier filing about the same compound and
//!   category within 90 days ÷ filings.

use serde::{Deserialize, Serialize};

use crate::case_status::{apply_clocks, DeadlineEntry};
use crate::codec::{self, Key, KeyReader};
use crate::facts::{CaseFact, Event, Rating, Subject};
use crate::framework::{Indexed, IndexedTable, Input, Projection, Reader, Table, Tx};
use crate::store::Scan;
use crate::Error;

/// The projection's name.
pub const NAME: &str = "measures";
/// Bump when the stored form or the fold changes.
pub const VERSION: u32 = 3;

/// Two filings about the same compound and category this close are a repeat.
pub const REPEAT_WINDOW_US: i64 = 90 * codec::DAY_US;

/// The most distinct values one `by` query returns.
pub const VALUES_MAX: usize = 10_000;

/// What the measures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Dimension {
    /// The whole county (the value is empty).
    County,
    /// 乡镇.
    Township,
    /// 部门 — the handling unit (a department, township or community).
    Unit,
    /// 物业企业 — the firm the case is about.
    Firm,
    /// 类别.
    Category,
}

impl Dimension {
    fn tag(self) -> u8 {
        match self {
            Dimension::County => b'*',
            Dimension::Township => b't',
            Dimension::Unit => b'u',
            Dimension::Firm => b'f',
            Dimension::Category => b'g',
        }
    }
}

/// The counts behind the rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Complaints filed.
    pub filed: u64,
    /// Filings that repeat one within 90 days (same compound and category).
    pub repeats: u64,
    /// Dispatches and transfers.
    pub dispatched: u64,
    /// Dispatches accepted and contacted in time.
    pub responded: u64,
    /// Returns.
    pub returned: u64,
    /// Resolutions.
    pub resolved: u64,
    /// Resolutions before the resolution deadline.
    pub resolved_on_time: u64,
    /// Filing-to-resolution time summed, µs.
    pub handling_sum_us: i64,
    /// Feedbacks received.
    pub rated: u64,
    /// Feedbacks saying resolved.
    pub rated_resolved: u64,
    /// Feedbacks satisfied or basically satisfied.
    pub satisfied: u64,
    /// Reopenings.
    pub reopened: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.filed += other.filed;
        self.repeats += other.repeats;
        self.dispatched += other.dispatched;
        self.responded += other.responded;
        self.returned += other.returned;
        self.resolved += other.resolved;
        self.resolved_on_time += other.resolved_on_time;
        self.handling_sum_us += other.handling_sum_us;
        self.rated += other.rated;
        self.rated_resolved += other.rated_resolved;
        self.satisfied += other.satisfied;
        self.reopened += other.reopened;
    }
}

/// What the measures projection keeps per case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureCase {
    /// The case.
    pub case: String,
    /// Filing month, `YYYY-MM` (CST).
    pub month: String,
    /// When it was filed.
    pub filed_us: i64,
    /// Township.
    pub township: String,
    /// Category.
    pub category: String,
    /// Firm.
    pub firm: Option<String>,
    /// The unit holding it.
    pub unit: Option<String>,
    /// The unit that resolved it last.
    pub resolver: Option<String>,
    /// Whether the current dispatch was accepted in time.
    pub accepted_in_time: bool,
    /// Whether the current dispatch was already counted as responded.
    pub responded: bool,
    /// Whether it is open (a unit still works on it).
    pub open: bool,
    /// Clocks running now.
    pub running: Vec<DeadlineEntry>,
}

impl MeasureCase {
    /// The groups the case counts in, with `unit` as its unit (borrowed: this runs for
    /// nearly every record).
    fn dims<'a>(&'a self, unit: Option<&'a str>) -> Vec<(Dimension, &'a str)> {
        let mut dims = Vec::with_capacity(5);
        dims.extend([
            (Dimension::County, ""),
            (Dimension::Township, self.township.as_str()),
            (Dimension::Category, self.category.as_str()),
        ]);
        if let Some(firm) = &self.firm {
            dims.push((Dimension::Firm, firm.as_str()));
        }
        if let Some(unit) = unit {
            dims.push((Dimension::Unit, unit));
        }
        dims
    }
}

impl Indexed for MeasureCase {
    fn index_entries(&self, _key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        if !self.open {
            return Vec::new();
        }
        let Some(due) = self
            .running
            .iter()
            .filter(|entry| entry.due.clock.counts_as_overdue())
            .map(|entry| entry.due.due_us)
            .min()
        else {
            return Vec::new();
        };
        self.dims(self.unit.as_deref())
            .into_iter()
            .map(|(dimension, value)| {
                (
                    Key::tag(b"o/")
                        .raw(&[dimension.tag()])
                        .text(value)
                        .time(due)
                        .text(&self.case)
                        .into_bytes(),
                    self.month.as_bytes().to_vec(),
                )
            })
            .collect()
    }
}

/// How this projection's keys are paged (see [`crate::paged`]): every class of keys in
/// pages of about this many entries, chosen so that a page is a few KiB.
pub fn layout(key: &[u8]) -> Option<crate::paged::Class> {
    // The writer rewrites a whole page for each entry a batch changes. Almost every record
    // changes its case (`k/`) and moves its entry in the due queue (`o/`, small: open
    // cases only) of each of its dimensions; `r/` is small and written on every filing.
    // Small pages there keep the writer's commit cheap (version 3; before, `k/` was 16
    // and `o/` and `r/` 64).
    crate::paged::by_tag(key, &[(b"k/", 8), (b"m/", 16), (b"o/", 8), (b"r/", 16)])
}

/// The key of a cell, built in `bytes` (see [`Key::reuse`]).
fn cell_key(bytes: Vec<u8>, dimension: Dimension, value: &str, month: &str) -> Vec<u8> {
    Key::reuse(bytes, b"m/")
        .raw(&[dimension.tag()])
        .text(value)
        .text(month)
        .into_bytes()
}

/// The measures projection.
#[derive(Default)]
pub struct MeasuresProjection {
    cases: IndexedTable<MeasureCase>,
    cells: Table<Counts>,
    last_filed: Table<i64>,
    /// A buffer for the cell keys of one record.
    cell_key: Vec<u8>,
    /// The buffer a record's case key is built in (see [`Key::reuse`]).
    key: Vec<u8>,
}

impl MeasuresProjection {
    /// A new projection.
    pub fn new() -> MeasuresProjection {
        MeasuresProjection::default()
    }

    fn count(
        &mut self,
        tx: &Tx<'_>,
        dims: &[(Dimension, &str)],
        month: &str,
        change: impl Fn(&mut Counts),
    ) -> Result<(), Error> {
        // Most records count in five cells: their keys are built in one buffer.
        let mut key = std::mem::take(&mut self.cell_key);
        for (dimension, value) in dims {
            key = cell_key(key, *dimension, value, month);
            change(self.cells.get_or_insert_with(tx, &key, Counts::default)?);
        }
        self.cell_key = key;
        Ok(())
    }

    /// Folds one decoded record.
    pub fn apply_event(&mut self, event: &Event, tx: &mut Tx<'_>) -> Result<(), Error> {
        let Subject::Case { case, fact, starts } = &event.subject else {
            return Ok(());
        };
        let key = Key::reuse(std::mem::take(&mut self.key), b"k/")
            .text(case)
            .into_bytes();
        let at = event.at_us;
        if let CaseFact::Filed {
            category,
            compound,
            township,
            firm,
            ..
        } = fact
        {
            let mut measure = MeasureCase {
                case: case.clone(),
                month: codec::cst_month(at),
                filed_us: at,
                township: township.clone(),
                category: category.clone(),
                firm: firm.clone(),
                unit: None,
                resolver: None,
                accepted_in_time: false,
                responded: false,
                open: true,
                running: Vec::new(),
            };
            apply_clocks(&mut measure.running, fact, starts, None, event);
            measure.running.retain(DeadlineEntry::is_running);
            let repeat_key = Key::tag(b"r/").text(compound).text(category).into_bytes();
            let repeat = match self.last_filed.get(tx, &repeat_key)? {
                Some(last) => at - *last <= REPEAT_WINDOW_US,
                None => false,
            };
            self.last_filed.insert(repeat_key, at);
            let dims = measure.dims(None);
            self.count(tx, &dims, &measure.month, |counts| {
                counts.filed += 1;
                counts.repeats += u64::from(repeat);
            })?;
            self.cases.put(tx, &key, measure)?;
            self.key = key;
            return Ok(());
        }
        let Some(mut measure) = self.cases.take_for_update(tx, &key)? else {
            return Err(Error::Decode {
                position: event.position,
                message: format!("act {} on unknown case {case}", event.kind),
            });
        };
        let month = &measure.month;
        match fact {
            CaseFact::Dispatched { unit } | CaseFact::Transferred { to: unit } => {
                measure.unit = Some(unit.clone());
                measure.accepted_in_time = false;
                measure.responded = false;
                measure.open = true;
                let dims = measure.dims(Some(unit));
                self.count(tx, &dims, month, |counts| counts.dispatched += 1)?;
            }
            CaseFact::Accepted { on_time } => measure.accepted_in_time = *on_time,
            CaseFact::Contacted { first, on_time }
                if *first && *on_time && measure.accepted_in_time && !measure.responded =>
            {
                measure.responded = true;
                let dims = measure.dims(measure.unit.as_deref());
                self.count(tx, &dims, month, |counts| counts.responded += 1)?;
            }
            CaseFact::Returned { .. } => {
                let dims = measure.dims(measure.unit.as_deref());
                self.count(tx, &dims, month, |counts| counts.returned += 1)?;
                measure.unit = None;
            }
            CaseFact::Resolved { on_time, .. } => {
                let on_time = *on_time;
                let handling = at - measure.filed_us;
                let dims = measure.dims(measure.unit.as_deref());
                self.count(tx, &dims, month, |counts| {
                    counts.resolved += 1;
                    counts.resolved_on_time += u64::from(on_time);
                    counts.handling_sum_us += handling;
                })?;
                measure.resolver = measure.unit.clone();
                measure.open = false;
            }
            CaseFact::Feedback { rating, resolved } => {
                let satisfied = matches!(rating, Rating::Satisfied | Rating::BasicallySatisfied);
                let dims = measure.dims(measure.resolver.as_deref());
                self.count(tx, &dims, month, |counts| {
                    counts.rated += 1;
                    counts.rated_resolved += u64::from(*resolved);
                    counts.satisfied += u64::from(satisfied);
                })?;
            }
            CaseFact::Reopened { unit } => {
                measure.open = true;
                measure.unit = Some(unit.clone());
                let dims = measure.dims(measure.unit.as_deref());
                self.count(tx, &dims, month, |counts| counts.reopened += 1)?;
            }
            CaseFact::Closed { .. } | CaseFact::Merged { .. } | CaseFact::Withdrawn => {
                measure.open = false;
            }
            _ => {}
        }
        apply_clocks(
            &mut measure.running,
            fact,
            starts,
            measure.unit.as_deref(),
            event,
        );
        measure.running.retain(DeadlineEntry::is_running);
        self.cases.put_if_changed(tx, &key, measure)?;
        self.key = key;
        Ok(())
    }
}

impl Projection for MeasuresProjection {
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
        self.cells.flush(tx);
        self.last_filed.flush(tx);
        Ok(())
    }

    fn discard(&mut self) {
        self.cases.clear();
        self.cells.clear();
        self.last_filed.clear();
    }

    fn cached(&self) -> usize {
        self.cases.len() + self.cells.len() + self.last_filed.len()
    }
}

/// The measures of one group over a range of months, at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measures {
    /// The group's value (empty for the county).
    pub value: String,
    /// The counts.
    pub counts: Counts,
    /// 响应率.
    pub response_rate: Option<f64>,
    /// 解决率.
    pub resolution_rate: Option<f64>,
    /// 满意率.
    pub satisfaction_rate: Option<f64>,
    /// 按时办结率.
    pub on_time_resolution_rate: Option<f64>,
    /// 退单率.
    pub return_rate: Option<f64>,
    /// 重复投诉率.
    pub repeat_rate: Option<f64>,
    /// Mean filing-to-resolution time, µs.
    pub mean_handling_us: Option<i64>,
    /// Open cases of these months with a clock past its deadline at the instant asked.
    pub overdue: u64,
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Measures {
    fn from_counts(value: String, counts: Counts, overdue: u64) -> Measures {
        Measures {
            value,
            response_rate: ratio(counts.responded, counts.dispatched),
            resolution_rate: ratio(counts.rated_resolved, counts.rated),
            satisfaction_rate: ratio(counts.satisfied, counts.rated),
            on_time_resolution_rate: ratio(counts.resolved_on_time, counts.resolved),
            return_rate: ratio(counts.returned, counts.dispatched),
            repeat_rate: ratio(counts.repeats, counts.filed),
            mean_handling_us: (counts.resolved > 0).then(|| {
                counts.handling_sum_us / i64::try_from(counts.resolved).unwrap_or(i64::MAX)
            }),
            counts,
            overdue,
        }
    }
}

/// A range of filing months, `YYYY-MM`, inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Months {
    /// First month.
    pub from: String,
    /// Last month.
    pub to: String,
}

impl Months {
    /// Checks both ends are `YYYY-MM` and in order.
    pub fn new(from: &str, to: &str) -> Result<Months, Error> {
        for (field, month) in [("from", from), ("to", to)] {
            let ok = month.len() == 7
                && month.as_bytes()[4] == b'-'
                && month
                    .bytes()
                    .enumerate()
                    .all(|(index, byte)| index == 4 || byte.is_ascii_digit())
                && matches!(
                    &month[5..],
                    "01" | "02"
                        | "03"
                        | "04"
                        | "05"
                        | "06"
                        | "07"
                        | "08"
                        | "09"
                        | "10"
                        | "11"
                        | "12"
                );
            if !ok {
                return Err(Error::Argument {
                    field,
                    message: format!("月份须为 YYYY-MM / {month:?} is not a YYYY-MM month"),
                });
            }
        }
        if from > to {
            return Err(Error::Argument {
                field: "from",
                message: "起始月份晚于结束月份 / from is after to".into(),
            });
        }
        Ok(Months {
            from: from.to_string(),
            to: to.to_string(),
        })
    }

    fn contains(&self, month: &str) -> bool {
        self.from.as_str() <= month && month <= self.to.as_str()
    }
}

/// Queries over the measures projection.
#[derive(Clone)]
pub struct MeasureQueries {
    reader: Reader,
}

impl MeasureQueries {
    /// Queries through `reader`.
    pub fn new(reader: Reader) -> MeasureQueries {
        MeasureQueries { reader }
    }

    /// The measures of one group (`value` empty for the county) over `months`, with the
    /// overdue count at `at_us`.
    pub fn measures(
        &self,
        dimension: Dimension,
        value: &str,
        months: &Months,
        at_us: i64,
    ) -> Result<Measures, Error> {
        let tree = self.reader.tree(NAME)?;
        let mut counts = Counts::default();
        let start = cell_key(Vec::new(), dimension, value, &months.from);
        let mut end = cell_key(Vec::new(), dimension, value, &months.to);
        end.push(0);
        decode_cells(tree.as_ref(), &start, &end, &mut |_, cell| {
            counts.add(&cell)
        })?;
        let overdue = self.overdue(tree.as_ref(), dimension, Some(value), months, at_us)?;
        Ok(Measures::from_counts(
            value.to_string(),
            counts,
            overdue.get(value).copied().unwrap_or(0),
        ))
    }

    /// The measures of every value of `dimension` over `months`, in value order.
    pub fn by(
        &self,
        dimension: Dimension,
        months: &Months,
        at_us: i64,
    ) -> Result<Vec<Measures>, Error> {
        let tree = self.reader.tree(NAME)?;
        let prefix = Key::tag(b"m/").raw(&[dimension.tag()]).into_bytes();
        let end = crate::store::prefix_end(&prefix).expect("tag is below 0xFF");
        let mut groups: std::collections::BTreeMap<String, Counts> = Default::default();
        let mut too_many = false;
        decode_cells(tree.as_ref(), &prefix, &end, &mut |key, cell| {
            let mut reader = KeyReader::new(key, prefix.len());
            let (Ok(value), Ok(month)) = (reader.text(), reader.text()) else {
                return;
            };
            if months.contains(month) {
                if groups.len() >= VALUES_MAX && !groups.contains_key(value) {
                    too_many = true;
                    return;
                }
                groups.entry(value.to_string()).or_default().add(&cell);
            }
        })?;
        if too_many {
            return Err(Error::Argument {
                field: "dimension",
                message: format!("超过 {VALUES_MAX} 个分组 / more than {VALUES_MAX} groups"),
            });
        }
        let overdue = self.overdue(tree.as_ref(), dimension, None, months, at_us)?;
        Ok(groups
            .into_iter()
            .map(|(value, counts)| {
                let late = overdue.get(&value).copied().unwrap_or(0);
                Measures::from_counts(value, counts, late)
            })
            .collect())
    }

    /// The measures of one group month by month.
    pub fn monthly(
        &self,
        dimension: Dimension,
        value: &str,
        months: &Months,
        at_us: i64,
    ) -> Result<Vec<(String, Measures)>, Error> {
        let tree = self.reader.tree(NAME)?;
        let start = cell_key(Vec::new(), dimension, value, &months.from);
        let mut end = cell_key(Vec::new(), dimension, value, &months.to);
        end.push(0);
        let skip = Key::tag(b"m/")
            .raw(&[dimension.tag()])
            .text(value)
            .as_bytes()
            .len();
        let mut out = Vec::new();
        let mut failure = None;
        decode_cells(
            tree.as_ref(),
            &start,
            &end,
            &mut |key, cell| match KeyReader::new(key, skip).text() {
                Ok(month) => out.push((month.to_string(), cell)),
                Err(error) => failure = Some(error),
            },
        )?;
        if let Some(error) = failure {
            return Err(error);
        }
        let mut result = Vec::with_capacity(out.len());
        for (month, counts) in out {
            let single = Months {
                from: month.clone(),
                to: month.clone(),
            };
            let overdue = self.overdue(tree.as_ref(), dimension, Some(value), &single, at_us)?;
            let late = overdue.get(value).copied().unwrap_or(0);
            result.push((
                month,
                Measures::from_counts(value.to_string(), counts, late),
            ));
        }
        Ok(result)
    }

    fn overdue(
        &self,
        tree: &dyn crate::KvTree,
        dimension: Dimension,
        value: Option<&str>,
        months: &Months,
        at_us: i64,
    ) -> Result<std::collections::BTreeMap<String, u64>, Error> {
        let prefix = match value {
            Some(value) => Key::tag(b"o/")
                .raw(&[dimension.tag()])
                .text(value)
                .into_bytes(),
            None => Key::tag(b"o/").raw(&[dimension.tag()]).into_bytes(),
        };
        let end = crate::store::prefix_end(&prefix);
        let skip = Key::tag(b"o/").raw(&[dimension.tag()]).as_bytes().len();
        let mut counts = std::collections::BTreeMap::new();
        let mut failure = None;
        tree.scan(&prefix, end.as_deref(), &mut |key, month| {
            let mut reader = KeyReader::new(key, skip);
            let parsed = reader.text().and_then(|value| Ok((value, reader.time()?)));
            match parsed {
                Ok((value, due)) => {
                    let month = String::from_utf8_lossy(month);
                    if due <= at_us && months.contains(&month) {
                        *counts.entry(value.to_string()).or_insert(0) += 1;
                    }
                    Scan::Continue
                }
                Err(error) => {
                    failure = Some(error);
                    Scan::Stop
                }
            }
        })?;
        match failure {
            Some(error) => Err(error),
            None => Ok(counts),
        }
    }
}

fn decode_cells(
    tree: &dyn crate::KvTree,
    start: &[u8],
    end: &[u8],
    visit: &mut dyn FnMut(&[u8], Counts),
) -> Result<(), Error> {
    let mut failure = None;
    tree.scan(start, Some(end), &mut |key, value| {
        match codec::decode::<Counts>(key, value) {
            Ok(cell) => visit(key, cell),
            Err(error) => {
                failure = Some(error);
                return Scan::Stop;
            }
        }
        Scan::Continue
    })?;
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
