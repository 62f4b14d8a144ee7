//! 企业信用档案 — each firm's history: its acts and the cases about it, penalties and
//! mediations, quarterly credit with the trace of every point, list status and the
//! inspection frequency its grade implies.
//!
//! Scores, grades, traces and inspection intervals are the ones the grading act carries,
//! computed by the domain's scoring function when the act was decided; nothing is
//! recomputed here.
//!
//! Keys of the `firm_history` tree:
//! - `s/` text(uscc) → [`FirmFile`]
//! - `t/` text(uscc) newest_first(position) → [`TimelineItem`]
//! - `c/` text(uscc) newest_first(filed position) → case id
//! - `p/` text(uscc) newest_first(position) → [`PenaltyItem`]
//! - `q/` text(uscc) text(quarter) → [`QuarterCredit`]
//! - `k/` text(case) → [`CaseLink`]: which firm a case is about

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codec::{self, Key};
use crate::facts::{CaseFact, Event, FirmFact, Subject, TracePoint};
use crate::framework::{Input, Projection, Reader, Table, Tx};
use crate::query::{scan_page, Page, PageRequest};
use crate::Error;

/// The projection's name.
pub const NAME: &str = "firm_history";
/// Bump when the stored form or the fold changes.
pub const VERSION: u32 = 2;

/// A firm's file: the running totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmFile {
    /// 统一社会信用代码.
    pub uscc: String,
    /// Its name, once registered.
    pub name: Option<String>,
    /// When it was registered.
    pub registered_at_us: Option<i64>,
    /// Compounds it serves under a filed contract.
    pub compounds: Vec<String>,
    /// Cases about it.
    pub cases: u64,
    /// Cases about it, by category.
    pub cases_by_category: BTreeMap<String, u64>,
    /// 有效投诉 — cases found substantiated at a resolution (each case once).
    pub substantiated: u64,
    /// 黑榜行为 — black-list-grade violations found on inspection.
    pub severe_violations: u64,
    /// 表彰 — commendations.
    pub commendations: u64,
    /// 行政处罚 — penalties.
    pub penalties: u64,
    /// Fines summed, in fen.
    pub penalties_fen: i64,
    /// 调解 — mediations by outcome.
    pub mediations: BTreeMap<String, u64>,
    /// The latest grade, with its quarter.
    pub latest: Option<QuarterGrade>,
    /// 红榜.
    pub red_list: bool,
    /// 黑榜.
    pub black_list: bool,
    /// Times its credit was repaired.
    pub credit_repairs: u64,
    /// The last record about it.
    pub last_position: u64,
}

/// A quarter's grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarterGrade {
    /// `YYYYQn`.
    pub quarter: String,
    /// Score in hundredths of a point.
    pub score_hundredths: i64,
    /// A, B, C or D.
    pub grade: String,
    /// 检查频次 — months between inspections the grade implies.
    pub inspection_interval_months: u32,
}

/// A quarter's credit: the communities' assessments and the grade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarterCredit {
    /// `YYYYQn`.
    pub quarter: String,
    /// 季度考评 — each community's score, hundredths.
    pub assessments: BTreeMap<String, i64>,
    /// Whether the township aggregated them.
    pub aggregated: bool,
    /// The grade, once assigned.
    pub grade: Option<QuarterGrade>,
    /// Every point of the score, as the domain traced it.
    pub trace: Vec<TracePoint>,
    /// The record that graded it.
    pub graded_by: Option<u64>,
}

/// One line of a firm's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineItem {
    /// The record.
    pub position: u64,
    /// When.
    pub at_us: i64,
    /// The act kind.
    pub kind: String,
    /// The acting unit.
    pub unit: String,
    /// The case, for a case act.
    pub case: Option<String>,
    /// A short description.
    pub detail: String,
}

/// A penalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyItem {
    /// The record.
    pub position: u64,
    /// When.
    pub at_us: i64,
    /// The case.
    pub case: String,
    /// The unit that imposed it.
    pub unit: String,
    /// The fine in fen.
    pub amount_fen: i64,
    /// 法律依据.
    pub basis: String,
}

/// Which firm a case is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseLink {
    /// The firm.
    pub uscc: String,
    /// The case's category.
    pub category: String,
    /// Whether a resolution found it substantiated (counted once per case).
    pub substantiated: bool,
}

/// How this projection's keys are paged (see [`crate::paged`]): every class of keys in
/// pages of about this many entries, chosen so that a page is a few KiB.
pub fn layout(key: &[u8]) -> Option<crate::paged::Class> {
    crate::paged::by_tag(
        key,
        &[
            (b"s/", 4),
            (b"q/", 4),
            (b"t/", 32),
            (b"p/", 32),
            (b"c/", 64),
            (b"k/", 64),
        ],
    )
}

fn file_key(uscc: &str) -> Vec<u8> {
    Key::tag(b"s/").text(uscc).into_bytes()
}

fn quarter_key(uscc: &str, quarter: &str) -> Vec<u8> {
    Key::tag(b"q/").text(uscc).text(quarter).into_bytes()
}

/// The firm history projection.
#[derive(Default)]
pub struct FirmProjection {
    files: Table<FirmFile>,
    quarters: Table<QuarterCredit>,
    links: Table<CaseLink>,
}

impl FirmProjection {
    /// A new projection.
    pub fn new() -> FirmProjection {
        FirmProjection::default()
    }

    fn file<'a>(&'a mut self, tx: &Tx<'_>, uscc: &str) -> Result<&'a mut FirmFile, Error> {
        self.files
            .get_or_insert_with(tx, &file_key(uscc), || FirmFile {
                uscc: uscc.to_string(),
                ..FirmFile::default()
            })
    }

    fn timeline(tx: &mut Tx<'_>, uscc: &str, event: &Event, case: Option<&str>, detail: String) {
        let item = TimelineItem {
            position: event.position,
            at_us: event.at_us,
            kind: event.kind.clone(),
            unit: event.unit.clone(),
            case: case.map(str::to_string),
            detail,
        };
        tx.put(
            Key::tag(b"t/")
                .text(uscc)
                .newest_first(event.position)
                .into_bytes(),
            codec::encode(&item),
        );
    }

    /// Folds one decoded record.
    pub fn apply_event(&mut self, event: &Event, tx: &mut Tx<'_>) -> Result<(), Error> {
        match &event.subject {
            Subject::Case { case, fact, .. } => self.case_event(event, case, fact, tx),
            Subject::Firm { uscc, fact } => self.firm_event(event, uscc, fact, tx),
            Subject::Other => Ok(()),
        }
    }

    fn case_event(
        &mut self,
        event: &Event,
        case: &str,
        fact: &CaseFact,
        tx: &mut Tx<'_>,
    ) -> Result<(), Error> {
        let link_key = Key::tag(b"k/").text(case).into_bytes();
        if let CaseFact::Filed { firm, category, .. } = fact {
            let Some(uscc) = firm else {
                return Ok(());
            };
            self.links.insert(
                link_key,
                CaseLink {
                    uscc: uscc.clone(),
                    category: category.clone(),
                    substantiated: false,
                },
            );
            let file = self.file(tx, uscc)?;
            file.cases += 1;
            *file.cases_by_category.entry(category.clone()).or_insert(0) += 1;
            file.last_position = event.position;
            tx.put(
                Key::tag(b"c/")
                    .text(uscc)
                    .newest_first(event.position)
                    .into_bytes(),
                case.as_bytes().to_vec(),
            );
            Self::timeline(
                tx,
                uscc,
                event,
                Some(case),
                format!("投诉 complaint: {category}"),
            );
            return Ok(());
        }
        let linked = self.links.get(tx, &link_key)?.map(|link| link.uscc.clone());
        match fact {
            CaseFact::Penalised {
                firm,
                amount_fen,
                basis,
            } => {
                // A penalty names its party; a case about a firm defaults to that firm.
                let Some(uscc) = firm.clone().or(linked) else {
                    return Ok(());
                };
                let file = self.file(tx, &uscc)?;
                file.penalties += 1;
                file.penalties_fen += amount_fen;
                file.last_position = event.position;
                let item = PenaltyItem {
                    position: event.position,
                    at_us: event.at_us,
                    case: case.to_string(),
                    unit: event.unit.clone(),
                    amount_fen: *amount_fen,
                    basis: basis.clone(),
                };
                tx.put(
                    Key::tag(b"p/")
                        .text(&uscc)
                        .newest_first(event.position)
                        .into_bytes(),
                    codec::encode(&item),
                );
                Self::timeline(
                    tx,
                    &uscc,
                    event,
                    Some(case),
                    format!("处罚 penalty: {amount_fen} 分/fen, {basis}"),
                );
            }
            CaseFact::Inspected {
                severe_violation: Some(violation),
            } => {
                let Some(uscc) = linked else {
                    return Ok(());
                };
                let file = self.file(tx, &uscc)?;
                file.severe_violations += 1;
                file.last_position = event.position;
                Self::timeline(
                    tx,
                    &uscc,
                    event,
                    Some(case),
                    format!("黑榜行为 black-list-grade violation: {violation}"),
                );
            }
            CaseFact::Mediated { outcome } => {
                let Some(uscc) = linked else {
                    return Ok(());
                };
                let file = self.file(tx, &uscc)?;
                *file.mediations.entry(outcome.clone()).or_insert(0) += 1;
                file.last_position = event.position;
                Self::timeline(
                    tx,
                    &uscc,
                    event,
                    Some(case),
                    format!("调解 mediation: {outcome}"),
                );
            }
            CaseFact::Resolved { substantiated, .. } => {
                let Some(uscc) = linked else {
                    return Ok(());
                };
                // Only the first substantiated resolution changes the link; reading it
                // without `get_mut` leaves it unwritten otherwise.
                let first = *substantiated
                    && matches!(self.links.get(tx, &link_key)?, Some(link) if !link.substantiated);
                if first {
                    if let Some(link) = self.links.get_mut(tx, &link_key)? {
                        link.substantiated = true;
                    }
                }
                let file = self.file(tx, &uscc)?;
                file.substantiated += u64::from(first);
                file.last_position = event.position;
                let detail = if *substantiated {
                    "办结（投诉属实） resolved, substantiated"
                } else {
                    "办结 resolved"
                };
                Self::timeline(tx, &uscc, event, Some(case), detail.to_string());
            }
            _ => {}
        }
        Ok(())
    }

    fn firm_event(
        &mut self,
        event: &Event,
        uscc: &str,
        fact: &FirmFact,
        tx: &mut Tx<'_>,
    ) -> Result<(), Error> {
        let detail = match fact {
            FirmFact::Registered { name } => {
                let file = self.file(tx, uscc)?;
                file.name = Some(name.clone());
                file.registered_at_us = Some(event.at_us);
                format!("登记 registered: {name}")
            }
            FirmFact::ContractFiled { compound } => {
                let file = self.file(tx, uscc)?;
                if !file.compounds.contains(compound) {
                    file.compounds.push(compound.clone());
                    file.compounds.sort();
                }
                format!("合同备案 contract filed: {compound}")
            }
            FirmFact::TenderFiled { compound } => format!("招投标备案 tender filed: {compound}"),
            FirmFact::HandoverInspected { compound, result } => {
                format!("承接查验 handover inspected: {compound}, {result}")
            }
            FirmFact::Exited { compound } => {
                self.file(tx, uscc)?
                    .compounds
                    .retain(|held| held != compound);
                format!("退出 exited: {compound}")
            }
            FirmFact::Assessed {
                quarter,
                community,
                score_hundredths,
            } => {
                let credit = self.quarter(tx, uscc, quarter)?;
                credit
                    .assessments
                    .insert(community.clone(), *score_hundredths);
                format!(
                    "季度考评 assessed {quarter} by {community}: {}",
                    show_hundredths(*score_hundredths)
                )
            }
            FirmFact::Aggregated { quarter } => {
                self.quarter(tx, uscc, quarter)?.aggregated = true;
                format!("汇总上报 aggregated {quarter}")
            }
            FirmFact::Graded {
                quarter,
                score_hundredths,
                grade,
                inspection_interval_months,
                trace,
            } => {
                let assigned = QuarterGrade {
                    quarter: quarter.clone(),
                    score_hundredths: *score_hundredths,
                    grade: grade.clone(),
                    inspection_interval_months: *inspection_interval_months,
                };
                let credit = self.quarter(tx, uscc, quarter)?;
                credit.grade = Some(assigned.clone());
                credit.trace = trace.clone();
                credit.graded_by = Some(event.position);
                let file = self.file(tx, uscc)?;
                // A late re-grade of an older quarter does not replace a newer grade.
                let newer = file
                    .latest
                    .as_ref()
                    .is_none_or(|latest| latest.quarter <= assigned.quarter);
                if newer {
                    file.latest = Some(assigned);
                }
                format!(
                    "信用评级 graded {quarter}: {grade} ({})",
                    show_hundredths(*score_hundredths)
                )
            }
            FirmFact::Listed { list, reason } => {
                let file = self.file(tx, uscc)?;
                set_list(file, list, true);
                format!("列入{list}榜 listed ({list}): {reason}")
            }
            FirmFact::Delisted { list } => {
                let file = self.file(tx, uscc)?;
                set_list(file, list, false);
                format!("移出{list}榜 delisted ({list})")
            }
            FirmFact::CreditRepaired => {
                self.file(tx, uscc)?.credit_repairs += 1;
                "信用修复 credit repaired".to_string()
            }
            FirmFact::Commended { reason } => {
                self.file(tx, uscc)?.commendations += 1;
                format!("表彰 commended: {reason}")
            }
            FirmFact::Other => event.kind.clone(),
        };
        self.file(tx, uscc)?.last_position = event.position;
        Self::timeline(tx, uscc, event, None, detail);
        Ok(())
    }

    fn quarter<'a>(
        &'a mut self,
        tx: &Tx<'_>,
        uscc: &str,
        quarter: &str,
    ) -> Result<&'a mut QuarterCredit, Error> {
        self.quarters
            .get_or_insert_with(tx, &quarter_key(uscc, quarter), || QuarterCredit {
                quarter: quarter.to_string(),
                ..QuarterCredit::default()
            })
    }
}

fn set_list(file: &mut FirmFile, list: &str, on: bool) {
    match list {
        "red" => file.red_list = on,
        "black" => file.black_list = on,
        _ => {}
    }
}

fn show_hundredths(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let value = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}", value / 100, value % 100)
}

impl Projection for FirmProjection {
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
        self.files.flush(tx);
        self.quarters.flush(tx);
        self.links.flush(tx);
        Ok(())
    }

    fn discard(&mut self) {
        self.files.clear();
        self.quarters.clear();
        self.links.clear();
    }

    fn cached(&self) -> usize {
        self.files.len() + self.quarters.len() + self.links.len()
    }
}

/// Queries over the firm history projection.
#[derive(Clone)]
pub struct FirmQueries {
    reader: Reader,
}

impl FirmQueries {
    /// Queries through `reader`.
    pub fn new(reader: Reader) -> FirmQueries {
        FirmQueries { reader }
    }

    /// A firm's file.
    pub fn file(&self, uscc: &str) -> Result<Option<FirmFile>, Error> {
        let tree = self.reader.tree(NAME)?;
        let key = file_key(uscc);
        match tree.get(&key)? {
            Some(bytes) => Ok(Some(codec::decode(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Its timeline, newest first.
    pub fn timeline(&self, uscc: &str, page: &PageRequest) -> Result<Page<TimelineItem>, Error> {
        let tree = self.reader.tree(NAME)?;
        let prefix = Key::tag(b"t/").text(uscc).into_bytes();
        scan_page(tree.as_ref(), &prefix, page, codec::decode)
    }

    /// The cases about it, newest first.
    pub fn cases(&self, uscc: &str, page: &PageRequest) -> Result<Page<String>, Error> {
        let tree = self.reader.tree(NAME)?;
        let prefix = Key::tag(b"c/").text(uscc).into_bytes();
        scan_page(tree.as_ref(), &prefix, page, |_, value| {
            Ok(String::from_utf8_lossy(value).into_owned())
        })
    }

    /// Its penalties, newest first.
    pub fn penalties(&self, uscc: &str, page: &PageRequest) -> Result<Page<PenaltyItem>, Error> {
        let tree = self.reader.tree(NAME)?;
        let prefix = Key::tag(b"p/").text(uscc).into_bytes();
        scan_page(tree.as_ref(), &prefix, page, codec::decode)
    }

    /// Its quarterly credit, oldest quarter first.
    pub fn credit(&self, uscc: &str, page: &PageRequest) -> Result<Page<QuarterCredit>, Error> {
        let tree = self.reader.tree(NAME)?;
        let prefix = Key::tag(b"q/").text(uscc).into_bytes();
        scan_page(tree.as_ref(), &prefix, page, codec::decode)
    }
}
