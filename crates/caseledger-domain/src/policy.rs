//! Policy as data: the responsibility matrix (who handles and who may penalise each category,
//! DOMAIN.md §3), the deadline policy (§2) and the credit policy (§4).
//!
//! Each is loaded from TOML text under `ops/policy/` (`matrix.toml`, `deadlines.toml`,
//! `credit.toml`) and validated at load; errors name the file, the line and the mistake.
//!
//! ```
//! use caseledger_domain::{Source, policy::DeadlinePolicy};
//!
//! let text = "dispatch_working_days = 1\naccept_working_days = 1\nfirst_contact_working_days = 1\n\
//!             return_window_working_days = 2\nresolve_urgent_hours = 24\nresolve_general_working_days = 5\n\
//!             resolve_complex_working_days = 15\nextensions_max = 1\nextension_working_days_max = 10\n\
//!             follow_up_working_days = 1\nclose_unrated_working_days = 3\n";
//! let policy = DeadlinePolicy::from_source(&Source { name: "deadlines.toml", text }).unwrap();
//! assert_eq!(policy.resolve_general_working_days, 5);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;

use crate::ids::{Category, UnitId};
use crate::load::{line_at_offset, parse_toml, LoadError, LoadErrorKind, Source};
use crate::registry::{Registry, UnitKind};

/// The longest deadline in working days any clock may be configured with. Keeps a typo such as
/// `150` from passing as a policy.
pub const DEADLINE_WORKING_DAYS_MAX: u32 = 60;

/// The longest urgent deadline, in hours.
pub const URGENT_HOURS_MAX: u32 = 72;

// ---------------------------------------------------------------------------------------------
// Responsibility matrix.

/// A body named in the responsibility matrix: a fixed unit (a department) or the local
/// township or community of the compound the case is about.
///
/// Written in the files as a unit id, or as the words `township` / `community`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Body {
    /// A fixed unit of the registry, usually a county department (`housing`).
    Unit(UnitId),
    /// 属地乡镇 — the township the case's compound lies in.
    LocalTownship,
    /// 所在社区 — the community the case's compound belongs to.
    LocalCommunity,
}

impl Body {
    /// The concrete unit this body stands for, for a case about `compound`.
    pub fn resolve(&self, registry: &Registry, compound: Option<&UnitId>) -> Option<UnitId> {
        match self {
            Body::Unit(id) => Some(id.clone()),
            Body::LocalTownship => registry.township_of(compound?).cloned(),
            Body::LocalCommunity => registry.community_of(compound?).cloned(),
        }
    }
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Unit(id) => f.write_str(id.as_str()),
            Body::LocalTownship => f.write_str("township"),
            Body::LocalCommunity => f.write_str("community"),
        }
    }
}

impl FromStr for Body {
    type Err = crate::ids::IdError;
    fn from_str(text: &str) -> Result<Body, Self::Err> {
        match text {
            "township" => Ok(Body::LocalTownship),
            "community" => Ok(Body::LocalCommunity),
            other => UnitId::new(other).map(Body::Unit),
        }
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One row of the responsibility matrix: a category of matter and the bodies for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryRule {
    /// The category slug.
    pub category: Category,
    /// The matter, in Chinese.
    pub matter: String,
    /// The matter, in English.
    pub matter_en: String,
    /// 责任主体 — the bodies that handle the matter (a case of this category may be
    /// dispatched or transferred to them).
    pub handlers: Vec<Body>,
    /// 执法权 — the departments with enforcement powers: only they may record a penalty
    /// (行政处罚) for this category. Never a township or community.
    pub enforcement: Vec<UnitId>,
    /// 配合、指导、监督 — bodies that support, guide or oversee without handling.
    pub supporting: Vec<Body>,
    /// True when a case of this category may be urgent safety (fire, lift entrapment, gas,
    /// water cut): resolved within hours, not working days.
    pub urgent_safety: bool,
    /// The paragraph of the plan this row comes from (`§五.(一).1`).
    pub plan: String,
}

impl CategoryRule {
    /// True when `unit`, for a case about `compound`, is one of the handlers.
    pub fn is_handler(
        &self,
        unit: &UnitId,
        registry: &Registry,
        compound: Option<&UnitId>,
    ) -> bool {
        self.handlers
            .iter()
            .any(|body| body.resolve(registry, compound).as_ref() == Some(unit))
    }
}

/// 职责分工 — the responsibility matrix of the plan (§五.(一)): category → bodies.
#[derive(Debug, Clone, Default)]
pub struct ResponsibilityMatrix {
    rules: BTreeMap<Category, CategoryRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    #[serde(default)]
    category: Vec<RawCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    slug: Spanned<String>,
    matter: String,
    matter_en: String,
    handlers: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    enforcement: Vec<Spanned<String>>,
    #[serde(default)]
    supporting: Vec<Spanned<String>>,
    #[serde(default)]
    urgent_safety: bool,
    plan: String,
}

impl ResponsibilityMatrix {
    /// Parses and validates the matrix. Every unit named must exist in `registry`; enforcement
    /// bodies must be departments; every category must have at least one handler.
    pub fn from_source(
        source: &Source<'_>,
        registry: &Registry,
    ) -> Result<ResponsibilityMatrix, LoadError> {
        let raw: RawMatrix = parse_toml(source)?;
        let line = |span: std::ops::Range<usize>| line_at_offset(source.text, span.start);
        let mut rules = BTreeMap::new();
        let mut first_lines: BTreeMap<Category, usize> = BTreeMap::new();
        for raw_rule in raw.category {
            let slug_line = line(raw_rule.slug.span());
            let category = Category::new(raw_rule.slug.into_inner())
                .map_err(|e| LoadError::at(source, slug_line, e.into()))?;
            if let Some(first) = first_lines.get(&category) {
                return Err(LoadError::at(
                    source,
                    slug_line,
                    LoadErrorKind::DuplicateId {
                        id: category.to_string(),
                        first: format!("{}:{first}", source.name),
                    },
                ));
            }
            first_lines.insert(category.clone(), slug_line);
            let handlers_line = line(raw_rule.handlers.span());
            let handlers = bodies(source, registry, raw_rule.handlers.into_inner())?;
            if handlers.is_empty() {
                return Err(LoadError::at(
                    source,
                    handlers_line,
                    LoadErrorKind::Value {
                        field: "handlers".into(),
                        reason: format!("category {category} names no handler"),
                    },
                ));
            }
            let supporting = bodies(source, registry, raw_rule.supporting)?;
            let mut enforcement = Vec::new();
            for body in raw_rule.enforcement {
                let body_line = line(body.span());
                let id = UnitId::new(body.into_inner())
                    .map_err(|e| LoadError::at(source, body_line, e.into()))?;
                match registry.kind_of(&id) {
                    Some(UnitKind::Department) => enforcement.push(id),
                    Some(kind) => {
                        return Err(LoadError::at(
                            source,
                            body_line,
                            LoadErrorKind::Value {
                                field: "enforcement".into(),
                                reason: format!("{id} is a {kind}; only a county department holds enforcement powers"),
                            },
                        ))
                    }
                    None => {
                        return Err(LoadError::at(
                            source,
                            body_line,
                            LoadErrorKind::UnknownReference { what: "unit".into(), id: id.to_string() },
                        ))
                    }
                }
            }
            let rule = CategoryRule {
                category: category.clone(),
                matter: raw_rule.matter,
                matter_en: raw_rule.matter_en,
                handlers,
                enforcement,
                supporting,
                urgent_safety: raw_rule.urgent_safety,
                plan: raw_rule.plan,
            };
            rules.insert(category, rule);
        }
        Ok(ResponsibilityMatrix { rules })
    }

    /// The rule for a category, if the matrix has it.
    pub fn category(&self, category: &Category) -> Option<&CategoryRule> {
        self.rules.get(category)
    }

    /// Every rule, in slug order.
    pub fn categories(&self) -> impl Iterator<Item = &CategoryRule> {
        self.rules.values()
    }

    /// True when `unit` holds enforcement powers (执法权) over `category`, so may record a
    /// penalty for it. False for unknown categories.
    pub fn has_enforcement_powers(&self, unit: &UnitId, category: &Category) -> bool {
        self.rules
            .get(category)
            .is_some_and(|rule| rule.enforcement.contains(unit))
    }

    /// True when a case of `category` may be filed as urgent safety.
    pub fn is_urgent_capable(&self, category: &Category) -> bool {
        self.rules
            .get(category)
            .is_some_and(|rule| rule.urgent_safety)
    }

    /// True when `unit` handles `category` for a case about `compound` (a fixed handler, or
    /// the compound's own township or community when the matrix names `township` /
    /// `community`).
    pub fn is_handler(
        &self,
        unit: &UnitId,
        category: &Category,
        registry: &Registry,
        compound: Option<&UnitId>,
    ) -> bool {
        self.rules
            .get(category)
            .is_some_and(|rule| rule.is_handler(unit, registry, compound))
    }
}

fn bodies(
    source: &Source<'_>,
    registry: &Registry,
    raw: Vec<Spanned<String>>,
) -> Result<Vec<Body>, LoadError> {
    let mut out = Vec::new();
    for body in raw {
        let body_line = line_at_offset(source.text, body.span().start);
        let parsed: Body = body
            .get_ref()
            .parse()
            .map_err(|e: crate::ids::IdError| LoadError::at(source, body_line, e.into()))?;
        if let Body::Unit(id) = &parsed {
            if registry.unit(id).is_none() {
                return Err(LoadError::at(
                    source,
                    body_line,
                    LoadErrorKind::UnknownReference {
                        what: "unit".into(),
                        id: id.to_string(),
                    },
                ));
            }
        }
        out.push(parsed);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Deadline policy.

/// 办理时限 — the deadline policy (DOMAIN.md §2; our defaults, configurable).
///
/// "N working days" is defined in [`crate::deadline`]: the end (CST 24:00) of the Nth working
/// day after the day the clock starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePolicy {
    /// 派单 — dispatch after filing.
    pub dispatch_working_days: u32,
    /// 签收 — acceptance after dispatch.
    pub accept_working_days: u32,
    /// 先行联系 — first contact with the complainant after acceptance.
    pub first_contact_working_days: u32,
    /// 退单 — a return is allowed within this many working days of dispatch.
    pub return_window_working_days: u32,
    /// 紧急 — resolution of an urgent safety case, in wall-clock hours.
    pub resolve_urgent_hours: u32,
    /// 一般 — resolution of a general case.
    pub resolve_general_working_days: u32,
    /// 复杂 — resolution of a complex case.
    pub resolve_complex_working_days: u32,
    /// 延期 — how many extensions a case may get.
    pub extensions_max: u32,
    /// 延期 — the longest single extension.
    pub extension_working_days_max: u32,
    /// 回访 — follow-up after resolution.
    pub follow_up_working_days: u32,
    /// A resolved case with no feedback closes unrated after this many working days.
    pub close_unrated_working_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadlinePolicy {
    dispatch_working_days: Spanned<u32>,
    accept_working_days: Spanned<u32>,
    first_contact_working_days: Spanned<u32>,
    return_window_working_days: Spanned<u32>,
    resolve_urgent_hours: Spanned<u32>,
    resolve_general_working_days: Spanned<u32>,
    resolve_complex_working_days: Spanned<u32>,
    extensions_max: Spanned<u32>,
    extension_working_days_max: Spanned<u32>,
    follow_up_working_days: Spanned<u32>,
    close_unrated_working_days: Spanned<u32>,
}

/// Checks `value` lies in `min..=max`, naming the field and line otherwise.
fn in_range(
    source: &Source<'_>,
    field: &str,
    value: &Spanned<u32>,
    min: u32,
    max: u32,
) -> Result<u32, LoadError> {
    let number = *value.get_ref();
    if (min..=max).contains(&number) {
        Ok(number)
    } else {
        Err(LoadError::at(
            source,
            line_at_offset(source.text, value.span().start),
            LoadErrorKind::Value {
                field: field.into(),
                reason: format!("{number} is outside {min}..={max}"),
            },
        ))
    }
}

impl DeadlinePolicy {
    /// Parses and validates a deadline policy: every clock at least 1 and at most
    /// [`DEADLINE_WORKING_DAYS_MAX`] working days (urgent: 1..=[`URGENT_HOURS_MAX`] hours);
    /// a complex case gets at least as long as a general one; closing unrated comes no
    /// earlier than the follow-up.
    pub fn from_source(source: &Source<'_>) -> Result<DeadlinePolicy, LoadError> {
        let raw: RawDeadlinePolicy = parse_toml(source)?;
        let days = |field: &str, value: &Spanned<u32>| {
            in_range(source, field, value, 1, DEADLINE_WORKING_DAYS_MAX)
        };
        let policy = DeadlinePolicy {
            dispatch_working_days: days("dispatch_working_days", &raw.dispatch_working_days)?,
            accept_working_days: days("accept_working_days", &raw.accept_working_days)?,
            first_contact_working_days: days(
                "first_contact_working_days",
                &raw.first_contact_working_days,
            )?,
            return_window_working_days: days(
                "return_window_working_days",
                &raw.return_window_working_days,
            )?,
            resolve_urgent_hours: in_range(
                source,
                "resolve_urgent_hours",
                &raw.resolve_urgent_hours,
                1,
                URGENT_HOURS_MAX,
            )?,
            resolve_general_working_days: days(
                "resolve_general_working_days",
                &raw.resolve_general_working_days,
            )?,
            resolve_complex_working_days: days(
                "resolve_complex_working_days",
                &raw.resolve_complex_working_days,
            )?,
            extensions_max: in_range(source, "extensions_max", &raw.extensions_max, 0, 5)?,
            extension_working_days_max: days(
                "extension_working_days_max",
                &raw.extension_working_days_max,
            )?,
            follow_up_working_days: days("follow_up_working_days", &raw.follow_up_working_days)?,
            close_unrated_working_days: days(
                "close_unrated_working_days",
                &raw.close_unrated_working_days,
            )?,
        };
        if policy.resolve_complex_working_days < policy.resolve_general_working_days {
            return Err(LoadError::at(
                source,
                line_at_offset(source.text, raw.resolve_complex_working_days.span().start),
                LoadErrorKind::Value {
                    field: "resolve_complex_working_days".into(),
                    reason: "a complex case must get at least as long as a general one".into(),
                },
            ));
        }
        if policy.close_unrated_working_days < policy.follow_up_working_days {
            return Err(LoadError::at(
                source,
                line_at_offset(source.text, raw.close_unrated_working_days.span().start),
                LoadErrorKind::Value {
                    field: "close_unrated_working_days".into(),
                    reason: "closing unrated must come no earlier than the follow-up deadline"
                        .into(),
                },
            ));
        }
        Ok(policy)
    }
}

// ---------------------------------------------------------------------------------------------
// Credit policy.

/// 信用等级 — a firm's credit grade, best first.
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
pub enum Grade {
    /// A — 优秀.
    A,
    /// B — 良好.
    B,
    /// C — 合格.
    C,
    /// D — 不合格; a key supervision target (重点监管对象).
    D,
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        })
    }
}

/// Points deducted per act, DOMAIN.md §4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deductions {
    /// 行政处罚 — each penalty.
    pub penalty: u32,
    /// 有效投诉 — each substantiated complaint.
    pub substantiated_complaint: u32,
    /// 逾期整改 — each overdue rectification.
    pub overdue_rectification: u32,
    /// 黑榜行为 — each black-list-grade violation (e.g. cutting water or power illegally).
    pub black_list_violation: u32,
}

/// 表彰加分 — points added per commendation, capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commendation {
    /// Points per commendation.
    pub points: u32,
    /// The most commendation points counted in one score.
    pub points_max: u32,
}

/// The lowest score, in whole points, of grades A, B and C; below `c_min` is D.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeThresholds {
    /// Lowest score of grade A.
    pub a_min: u32,
    /// Lowest score of grade B.
    pub b_min: u32,
    /// Lowest score of grade C.
    pub c_min: u32,
}

/// 检查频次 — how often a firm of each grade is inspected, in months between inspections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionIntervals {
    /// Grade A.
    pub a: u32,
    /// Grade B.
    pub b: u32,
    /// Grade C.
    pub c: u32,
    /// Grade D.
    pub d: u32,
}

/// 红榜 — when a firm goes on the red list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedListRule {
    /// The grade required.
    pub grade: Grade,
    /// For this many consecutive quarters.
    pub consecutive_quarters: u32,
    /// And no penalty within them.
    pub no_penalty: bool,
}

/// 黑榜 — when a firm goes on the black list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackListRule {
    /// A firm at this grade (or worse) is listed.
    pub grade: Grade,
    /// A firm with any black-list-grade violation on record is listed, whatever its grade.
    pub any_black_list_violation: bool,
}

/// 信用评价办法 — the credit policy (DOMAIN.md §4; our defaults, configurable). The scoring
/// function that uses it lives with the firm aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditPolicy {
    /// The top of the community's quarterly scale and of the yearly score (100).
    pub score_max: u32,
    /// How long an act counts towards the score, in months (12).
    pub record_lifetime_months: u32,
    /// Deductions per act.
    pub deductions: Deductions,
    /// Commendations.
    pub commendation: Commendation,
    /// Grade thresholds.
    pub grades: GradeThresholds,
    /// Inspection frequency by grade, in months.
    pub inspection_interval_months: InspectionIntervals,
    /// The red-list rule.
    pub red_list: RedListRule,
    /// The black-list rule.
    pub black_list: BlackListRule,
}

impl CreditPolicy {
    /// Parses and validates a credit policy: thresholds strictly decreasing from A to C and
    /// within the score scale, the commendation cap at least one commendation, lifetimes and
    /// intervals at least a month.
    pub fn from_source(source: &Source<'_>) -> Result<CreditPolicy, LoadError> {
        let policy: CreditPolicy = parse_toml(source)?;
        let fail = |key: &str, field: &str, reason: String| {
            Err(LoadError::near_key(
                source,
                key,
                LoadErrorKind::Value {
                    field: field.into(),
                    reason,
                },
            ))
        };
        if policy.score_max == 0 || policy.score_max > 1000 {
            return fail(
                "score_max",
                "score_max",
                format!("{} is outside 1..=1000", policy.score_max),
            );
        }
        let grades = &policy.grades;
        if !(grades.a_min > grades.b_min && grades.b_min > grades.c_min && grades.c_min > 0) {
            return fail(
                "a_min",
                "grades",
                "thresholds must fall strictly: a_min > b_min > c_min > 0".into(),
            );
        }
        if grades.a_min > policy.score_max {
            return fail(
                "a_min",
                "grades.a_min",
                format!("above score_max {}", policy.score_max),
            );
        }
        if policy.commendation.points_max < policy.commendation.points {
            return fail(
                "points_max",
                "commendation.points_max",
                "smaller than one commendation".into(),
            );
        }
        if policy.record_lifetime_months == 0 {
            return fail(
                "record_lifetime_months",
                "record_lifetime_months",
                "must be at least 1".into(),
            );
        }
        let intervals = &policy.inspection_interval_months;
        for (key, months) in [
            ("a", intervals.a),
            ("b", intervals.b),
            ("c", intervals.c),
            ("d", intervals.d),
        ] {
            if months == 0 || months > 24 {
                return fail(
                    key,
                    "inspection_interval_months",
                    format!("{key} = {months} is outside 1..=24"),
                );
            }
        }
        if policy.red_list.consecutive_quarters == 0 {
            return fail(
                "consecutive_quarters",
                "red_list.consecutive_quarters",
                "must be at least 1".into(),
            );
        }
        Ok(policy)
    }

    /// The grade of a score given in hundredths of a point (9000 = 90.00 points), so that a
    /// mean of quarterly scores need not be rounded before grading.
    pub fn grade_for_hundredths(&self, score_hundredths: i64) -> Grade {
        let at_least = |points: u32| score_hundredths >= i64::from(points) * 100;
        if at_least(self.grades.a_min) {
            Grade::A
        } else if at_least(self.grades.b_min) {
            Grade::B
        } else if at_least(self.grades.c_min) {
            Grade::C
        } else {
            Grade::D
        }
    }

    /// Months between inspections of a firm of this grade.
    pub fn inspection_interval_months(&self, grade: Grade) -> u32 {
        let intervals = &self.inspection_interval_months;
        match grade {
            Grade::A => intervals.a,
            Grade::B => intervals.b,
            Grade::C => intervals.c,
            Grade::D => intervals.d,
        }
    }
}
