//! What `decide` needs besides the state and the command: the county's rules as loaded data
//! ([`Rules`]), the time, and who is acting.
//!
//! The service loads one [`Rules`] at start and builds a [`Context`] per request; tests build
//! both from text. `decide` reads the clock only through [`Context::now`], so it stays pure.
//!
//! ```
//! use caseledger_domain::context::{Context, Rules};
//! use caseledger_domain::principal::{Principal, Role};
//!
//! let rules = Rules::default();
//! let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
//! let context = Context::new(&rules, now, Principal::new(Role::Office, "office".parse().unwrap()));
//! assert_eq!(context.principal.role, Role::Office);
//! ```

use chrono::{DateTime, Utc};

use crate::calendar::WorkCalendar;
use crate::deadline::{deadline, Clock, Deadline, Severity};
use crate::policy::{CreditPolicy, DeadlinePolicy, ResponsibilityMatrix};
use crate::principal::Principal;
use crate::registry::Registry;
use crate::rejection::{Rejection, RejectionCode};

/// The county's rules as data: registry, responsibility matrix, deadline and credit policies,
/// working-day calendar. Loaded once, read by every decision.
#[derive(Debug, Clone)]
pub struct Rules {
    /// 组织名录.
    pub registry: Registry,
    /// 职责分工.
    pub matrix: ResponsibilityMatrix,
    /// 办理时限.
    pub deadlines: DeadlinePolicy,
    /// 信用评价办法.
    pub credit: CreditPolicy,
    /// 工作日历.
    pub calendar: WorkCalendar,
}

impl Default for Rules {
    /// Empty registry, matrix and calendar, and the DOMAIN.md default policies. Useful only
    /// for examples: with no calendar, every working-day deadline is refused.
    fn default() -> Rules {
        Rules {
            registry: Registry::default(),
            matrix: ResponsibilityMatrix::default(),
            deadlines: DeadlinePolicy {
                dispatch_working_days: 1,
                accept_working_days: 1,
                first_contact_working_days: 1,
                return_window_working_days: 2,
                resolve_urgent_hours: 24,
                resolve_general_working_days: 5,
                resolve_complex_working_days: 15,
                extensions_max: 1,
                extension_working_days_max: 10,
                follow_up_working_days: 1,
                close_unrated_working_days: 3,
            },
            credit: default_credit_policy(),
            calendar: WorkCalendar::default(),
        }
    }
}

fn default_credit_policy() -> CreditPolicy {
    use crate::policy::{
        BlackListRule, Commendation, Deductions, Grade, GradeThresholds, InspectionIntervals,
        RedListRule,
    };
    CreditPolicy {
        score_max: 100,
        record_lifetime_months: 12,
        deductions: Deductions {
            penalty: 10,
            substantiated_complaint: 2,
            overdue_rectification: 5,
            black_list_violation: 20,
        },
        commendation: Commendation {
            points: 5,
            points_max: 10,
        },
        grades: GradeThresholds {
            a_min: 90,
            b_min: 75,
            c_min: 60,
        },
        inspection_interval_months: InspectionIntervals {
            a: 12,
            b: 6,
            c: 3,
            d: 1,
        },
        red_list: RedListRule {
            grade: Grade::A,
            consecutive_quarters: 4,
            no_penalty: true,
        },
        black_list: BlackListRule {
            grade: Grade::D,
            any_black_list_violation: true,
        },
    }
}

/// One decision's context: the rules, the time of the decision and who asks.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The rules.
    pub rules: &'a Rules,
    /// Now, in UTC. Every deadline an act carries is computed from it.
    pub now: DateTime<Utc>,
    /// Who asks.
    pub principal: Principal,
}

impl<'a> Context<'a> {
    /// A context.
    pub fn new(rules: &'a Rules, now: DateTime<Utc>, principal: Principal) -> Context<'a> {
        Context {
            rules,
            now,
            principal,
        }
    }

    /// The deadline of `clock` started now, or a rejection when the calendar does not cover
    /// the days it needs.
    pub fn clock(&self, clock: Clock, severity: Severity) -> Result<Deadline, Rejection> {
        deadline(
            clock,
            severity,
            self.now,
            &self.rules.deadlines,
            &self.rules.calendar,
        )
        .map_err(|error| deadline_rejection(&error))
    }
}

/// A deadline error as a rejection.
pub(crate) fn deadline_rejection(error: &crate::deadline::DeadlineError) -> Rejection {
    Rejection::new(
        RejectionCode::DeadlineUnavailable,
        format!("无法计算办理时限：{error}"),
        format!("cannot compute the deadline: {error}"),
    )
}
