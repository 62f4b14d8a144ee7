//! 信用评价 — a firm's credit score, grade, inspection frequency and list eligibility, computed
//! by one pure function from recorded acts, with a trace naming the act behind every point.
//!
//! The rule (DOMAIN.md §4, numbers from [`CreditPolicy`], `ops/policy/credit.toml`):
//! - The score of quarter Q covers the `record_lifetime_months` (12) ending with Q: the
//!   community assessments **of** the quarters in that span, and the other acts **recorded**
//!   in it (from 00:00 CST of its first day to 24:00 CST of Q's last day).
//! - Base: the mean of the community quarterly scores, in hundredths, rounded half up. Each
//!   assessment's trace line carries its share of the mean; the shares add up to the mean
//!   exactly (largest remainder, ties to the earlier position).
//! - Deductions: each penalty on the firm; each case about the firm whose last resolution in
//!   the span found the complaint substantiated (属实 or 部分属实); each overdue rectification
//!   in a case about it; each black-list-grade violation found on inspection in a case about
//!   it. A deduction cancelled by a `CreditRepaired` recorded before the span ends counts 0
//!   and names the repair.
//! - Commendations: each adds its points until the cap; the rest count 0.
//! - Score = the sum of the trace, clamped to 0..=score_max. Grade by the policy's
//!   thresholds. With no assessment in the span the base is 0: the firm cannot be graded
//!   (the firm aggregate refuses to publish), and the score says so ([`CreditScore::assessments`]).
//!
//! A case is about the firm when its `ComplaintFiled` names it; the caller passes the firm's
//! stream and the streams of the cases about it, in any order; acts are taken in position
//! order, so the result depends only on the records.
//!
//! ```
//! use caseledger_domain::act::Quarter;
//! use caseledger_domain::context::Rules;
//! use caseledger_domain::credit::score;
//!
//! let rules = Rules::default();
//! let firm = "91430923MA4L123461".parse().unwrap();
//! let result = score(&rules.credit, &firm, Quarter::new(2026, 1).unwrap(), &[]);
//! assert_eq!(result.assessments, 0);
//! assert_eq!(result.score_hundredths, 0);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::act::{Act, CaseId, CreditPoint, CreditReason, PenalisedParty, Quarter, RecordedAct};
use crate::deadline::end_of_cst_day;
use crate::ids::Uscc;
use crate::policy::{CreditPolicy, Grade};

/// A firm's credit for a quarter, with its trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditScore {
    /// The firm.
    pub firm: Uscc,
    /// The quarter scored.
    pub quarter: Quarter,
    /// The first instant of the span (00:00 CST).
    pub window_starts_at: DateTime<Utc>,
    /// The first instant after the span (24:00 CST of the quarter's last day).
    pub window_ends_at: DateTime<Utc>,
    /// How many community assessments the base is the mean of.
    pub assessments: u32,
    /// The score in hundredths of a point (9050 = 90.50), 0..=score_max × 100.
    pub score_hundredths: i64,
    /// The grade.
    pub grade: Grade,
    /// 检查频次 — months between inspections at this grade.
    pub inspection_interval_months: u32,
    /// Every point and the act behind it, in position order.
    pub trace: Vec<CreditPoint>,
    /// Positions of the black-list-grade violations counted (not repaired).
    pub violations: Vec<u64>,
    /// Positions of the penalties counted (not repaired).
    pub penalties: Vec<u64>,
}

fn rounded_mean(total: i64, count: i64) -> i64 {
    if count == 0 {
        return 0;
    }
    (2 * total + count).div_euclid(2 * count)
}

/// The mean of `scores` in hundredths, rounded half up; 0 for none.
pub fn mean_hundredths(scores: &[i64]) -> i64 {
    rounded_mean(scores.iter().sum(), scores.len() as i64)
}

fn cst_midnight(date: NaiveDate) -> DateTime<Utc> {
    match date.pred_opt() {
        Some(day) => end_of_cst_day(day),
        None => DateTime::<Utc>::MIN_UTC,
    }
}

/// The first day of the span of `lifetime_months` ending with `quarter`.
fn window_first_day(quarter: Quarter, lifetime_months: u32) -> NaiveDate {
    quarter
        .next()
        .first_day()
        .checked_sub_months(Months::new(lifetime_months))
        .unwrap_or(NaiveDate::MIN)
}

/// The cases the records show to be about `firm`.
fn cases_about(firm: &Uscc, records: &[&RecordedAct]) -> BTreeSet<CaseId> {
    records
        .iter()
        .filter_map(|record| match &record.act {
            Act::ComplaintFiled(filed) if filed.firm.as_ref() == Some(firm) => Some(filed.case_id),
            _ => None,
        })
        .collect()
}

/// Repairs of `firm` recorded before `until`: repaired position → repair position.
fn repairs(firm: &Uscc, records: &[&RecordedAct], until: DateTime<Utc>) -> BTreeMap<u64, u64> {
    records
        .iter()
        .filter(|record| record.recorded_at < until)
        .filter_map(|record| match &record.act {
            Act::CreditRepaired(repair) if &repair.firm == firm => {
                Some((repair.position, record.position))
            }
            _ => None,
        })
        .collect()
}

fn point(record: &RecordedAct, reason: CreditReason, points_hundredths: i64) -> CreditPoint {
    CreditPoint {
        position: record.position,
        event_id: record.event_id,
        kind: record.act.kind().to_string(),
        case_id: record.act.case_id(),
        reason,
        points_hundredths,
        repaired_by: None,
    }
}

/// Scores `firm` for `quarter` from `records` (its own stream and the streams of cases about
/// it). Pure and deterministic: the same records, in any order, give the same score.
pub fn score(
    policy: &CreditPolicy,
    firm: &Uscc,
    quarter: Quarter,
    records: &[RecordedAct],
) -> CreditScore {
    let mut sorted: Vec<&RecordedAct> = records.iter().collect();
    sorted.sort_by_key(|record| record.position);
    sorted.dedup_by_key(|record| record.position);
    let first_day = window_first_day(quarter, policy.record_lifetime_months);
    let starts_at = cst_midnight(first_day);
    let ends_at = quarter.ends_at();
    let about = cases_about(firm, &sorted);
    let repaired = repairs(firm, &sorted, ends_at);
    let in_span =
        |record: &RecordedAct| record.recorded_at >= starts_at && record.recorded_at < ends_at;
    let about_case =
        |record: &RecordedAct| record.act.case_id().is_some_and(|id| about.contains(&id));

    let mut assessments: Vec<(&RecordedAct, i64)> = Vec::new();
    let mut deductions: Vec<CreditPoint> = Vec::new();
    let mut commendations: Vec<&RecordedAct> = Vec::new();
    // The last resolution of each case in the span: a reopened and re-resolved case counts once.
    let mut resolutions: BTreeMap<CaseId, &RecordedAct> = BTreeMap::new();
    let hundredths = |points: u32| i64::from(points) * 100;
    for record in &sorted {
        match &record.act {
            Act::QuarterlyAssessmentSubmitted(assessment)
                if &assessment.firm == firm
                    && assessment.quarter <= quarter
                    && assessment.quarter.first_day() >= first_day =>
            {
                assessments.push((record, assessment.score_hundredths));
            }
            _ if !in_span(record) => {}
            Act::PenaltyImposed(penalty) if penalty.party == PenalisedParty::Firm(firm.clone()) => {
                deductions.push(point(
                    record,
                    CreditReason::Penalty,
                    -hundredths(policy.deductions.penalty),
                ));
            }
            Act::CaseResolved(resolved) if about_case(record) => {
                resolutions.insert(resolved.case_id, record);
            }
            Act::RectificationVerified(verified) if verified.overdue && about_case(record) => {
                deductions.push(point(
                    record,
                    CreditReason::OverdueRectification,
                    -hundredths(policy.deductions.overdue_rectification),
                ));
            }
            Act::InspectionRecorded(inspection)
                if inspection.severe_violation.is_some() && about_case(record) =>
            {
                deductions.push(point(
                    record,
                    CreditReason::BlackListViolation,
                    -hundredths(policy.deductions.black_list_violation),
                ));
            }
            Act::FirmCommended(commended) if &commended.firm == firm => commendations.push(record),
            _ => {}
        }
    }
    for record in resolutions.values() {
        if let Act::CaseResolved(resolved) = &record.act {
            if resolved.finding.is_substantiated() {
                deductions.push(point(
                    record,
                    CreditReason::SubstantiatedComplaint,
                    -hundredths(policy.deductions.substantiated_complaint),
                ));
            }
        }
    }

    let mut trace = base_points(&assessments);
    for mut deduction in deductions {
        if let Some(repair) = repaired.get(&deduction.position) {
            deduction.repaired_by = Some(*repair);
            deduction.points_hundredths = 0;
        }
        trace.push(deduction);
    }
    let cap = hundredths(policy.commendation.points_max);
    let mut granted = 0;
    for record in commendations {
        let points = hundredths(policy.commendation.points)
            .min(cap - granted)
            .max(0);
        granted += points;
        trace.push(point(record, CreditReason::Commendation, points));
    }
    trace.sort_by_key(|line| (line.position, line.reason as u8));

    let total: i64 = trace.iter().map(|line| line.points_hundredths).sum();
    let score_hundredths = total.clamp(0, hundredths(policy.score_max));
    let grade = policy.grade_for_hundredths(score_hundredths);
    let counted = |reason: CreditReason| {
        trace
            .iter()
            .filter(|line| line.reason == reason && line.repaired_by.is_none())
            .map(|line| line.position)
            .collect::<Vec<_>>()
    };
    CreditScore {
        firm: firm.clone(),
        quarter,
        window_starts_at: starts_at,
        window_ends_at: ends_at,
        assessments: assessments.len() as u32,
        score_hundredths,
        grade,
        inspection_interval_months: policy.inspection_interval_months(grade),
        violations: counted(CreditReason::BlackListViolation),
        penalties: counted(CreditReason::Penalty),
        trace,
    }
}

/// Each assessment's share of the mean: floor(score / n), plus one hundredth to the largest
/// remainders until the shares add up to the rounded mean.
fn base_points(assessments: &[(&RecordedAct, i64)]) -> Vec<CreditPoint> {
    let count = assessments.len() as i64;
    if count == 0 {
        return Vec::new();
    }
    let total: i64 = assessments.iter().map(|(_, score)| score).sum();
    let mean = rounded_mean(total, count);
    let mut lines: Vec<(CreditPoint, i64)> = assessments
        .iter()
        .map(|(record, score)| {
            (
                point(
                    record,
                    CreditReason::QuarterlyAssessment,
                    score.div_euclid(count),
                ),
                score.rem_euclid(count),
            )
        })
        .collect();
    let mut extra = mean
        - lines
            .iter()
            .map(|(line, _)| line.points_hundredths)
            .sum::<i64>();
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&index| (std::cmp::Reverse(lines[index].1), lines[index].0.position));
    for index in order.into_iter().cycle() {
        if extra <= 0 {
            break;
        }
        lines[index].0.points_hundredths += 1;
        extra -= 1;
    }
    lines.into_iter().map(|(line, _)| line).collect()
}

/// Whether a firm may go on, or come off, the red and black lists now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStanding {
    /// The latest quarter with a published grade, and that grade.
    pub latest_grade: Option<(Quarter, Grade)>,
    /// 红榜 — the policy's grade for the policy's number of consecutive published quarters
    /// up to the latest, with no penalty (unrepaired) recorded since the first of them.
    pub red_eligible: bool,
    /// 黑榜 — the latest published grade at the policy's grade or worse, or (when the policy
    /// says so) an unrepaired black-list-grade violation in the span ending now.
    pub black_eligible: bool,
    /// Positions of the acts that make it black-list eligible.
    pub black_grounds: Vec<u64>,
}

/// The red and black list standing of `firm` at `now`, from its published grades and the
/// score of the current quarter.
pub fn standing(
    policy: &CreditPolicy,
    firm: &Uscc,
    now: DateTime<Utc>,
    records: &[RecordedAct],
) -> ListStanding {
    let mut grades: BTreeMap<Quarter, (Grade, u64)> = BTreeMap::new();
    for record in records {
        if let Act::GradePublished(published) = &record.act {
            if &published.firm == firm && record.recorded_at <= now {
                grades.insert(published.quarter, (published.grade, record.position));
            }
        }
    }
    let latest = grades
        .iter()
        .next_back()
        .map(|(quarter, (grade, position))| (*quarter, *grade, *position));
    let current = score(policy, firm, Quarter::of_instant(now), records);

    let mut black_grounds = Vec::new();
    if let Some((_, grade, position)) = latest {
        if grade >= policy.black_list.grade {
            black_grounds.push(position);
        }
    }
    if policy.black_list.any_black_list_violation {
        black_grounds.extend(current.violations.iter().copied());
    }
    black_grounds.sort_unstable();

    let red_eligible = latest.is_some_and(|(last, _, _)| {
        let mut quarter = last;
        let mut first = last;
        for _ in 0..policy.red_list.consecutive_quarters {
            match grades.get(&quarter) {
                Some((grade, _)) if *grade <= policy.red_list.grade => {}
                _ => return false,
            }
            first = quarter;
            quarter = quarter.previous();
        }
        if !policy.red_list.no_penalty {
            return true;
        }
        let since = first.starts_at();
        let penalties = penalties_since(firm, since, now, records);
        penalties == 0
    });
    ListStanding {
        latest_grade: latest.map(|(quarter, grade, _)| (quarter, grade)),
        red_eligible,
        black_eligible: !black_grounds.is_empty(),
        black_grounds,
    }
}

/// Unrepaired penalties on `firm` recorded in `since..=now`.
fn penalties_since(
    firm: &Uscc,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    records: &[RecordedAct],
) -> usize {
    let all: Vec<&RecordedAct> = records.iter().collect();
    let repaired = repairs(firm, &all, now + chrono::Duration::microseconds(1));
    records
        .iter()
        .filter(|record| record.recorded_at >= since && record.recorded_at <= now)
        .filter(|record| matches!(&record.act, Act::PenaltyImposed(p) if p.party == PenalisedParty::Firm(firm.clone())))
        .filter(|record| !repaired.contains_key(&record.position))
        .count()
}
