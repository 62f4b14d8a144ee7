//! Shared fixtures: the shipped ops/ data, principals, times, and the given / when / then
//! helper over `decide` and `evolve`.
#![allow(dead_code)]

use caseledger_domain::act::{Act, CaseId, RecordedAct};
use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::case::{self, CaseCommand, CaseState};
use caseledger_domain::context::{Context, Rules};
use caseledger_domain::firm::{self, FirmCommand, FirmContext, FirmState};
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, ResponsibilityMatrix};
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::registry::Registry;
use caseledger_domain::rejection::{Rejection, RejectionCode};
use caseledger_domain::seal::{seal, MemoryKeyStore, PersonalData, Sealed};
use caseledger_domain::Source;
use chrono::{DateTime, TimeZone, Utc};

/// The shipped county data, as the service would load it.
pub fn rules() -> Rules {
    let registry = Registry::from_sources(&[
        Source {
            name: "county.toml",
            text: include_str!("../../../../ops/registry/county.toml"),
        },
        Source {
            name: "townships.toml",
            text: include_str!("../../../../ops/registry/townships.toml"),
        },
        Source {
            name: "communities.toml",
            text: include_str!("../../../../ops/registry/communities.toml"),
        },
        Source {
            name: "compounds.toml",
            text: include_str!("../../../../ops/registry/compounds.toml"),
        },
        Source {
            name: "firms.toml",
            text: include_str!("../../../../ops/registry/firms.toml"),
        },
    ])
    .expect("shipped registry loads");
    let matrix = ResponsibilityMatrix::from_source(
        &Source {
            name: "matrix.toml",
            text: include_str!("../../../../ops/policy/matrix.toml"),
        },
        &registry,
    )
    .expect("shipped matrix loads");
    let deadlines = DeadlinePolicy::from_source(&Source {
        name: "deadlines.toml",
        text: include_str!("../../../../ops/policy/deadlines.toml"),
    })
    .expect("shipped deadline policy loads");
    let credit = CreditPolicy::from_source(&Source {
        name: "credit.toml",
        text: include_str!("../../../../ops/policy/credit.toml"),
    })
    .expect("shipped credit policy loads");
    let calendar = WorkCalendar::from_sources(&[
        Source {
            name: "2026.toml",
            text: include_str!("../../../../ops/calendar/2026.toml"),
        },
        Source {
            name: "2027.toml",
            text: include_str!("../../../../ops/calendar/2027.toml"),
        },
    ])
    .expect("shipped calendar loads");
    Rules {
        registry,
        matrix,
        deadlines,
        credit,
        calendar,
    }
}

pub fn principal(role: Role, unit: &str) -> Principal {
    Principal::new(role, unit.parse().expect("valid unit id"))
}

pub fn office() -> Principal {
    principal(Role::Office, "office")
}
pub fn housing() -> Principal {
    principal(Role::Department, "housing")
}
pub fn petitions() -> Principal {
    principal(Role::Department, "petitions")
}
pub fn urban() -> Principal {
    principal(Role::Department, "urban-management")
}
pub fn market() -> Principal {
    principal(Role::Department, "market-supervision")
}
pub fn hotline() -> Principal {
    principal(Role::Intake, "12345")
}
pub fn dongping() -> Principal {
    principal(Role::Township, "township/dongping")
}
pub fn qingtangpu() -> Principal {
    principal(Role::Township, "township/qingtangpu")
}
pub fn heping() -> Principal {
    principal(Role::Community, "community/dongping/heping")
}
pub fn xinjie() -> Principal {
    principal(Role::Community, "community/dongping/xinjie")
}
pub fn court() -> Principal {
    principal(Role::Court, "court")
}
pub fn public() -> Principal {
    principal(Role::Public, "public")
}

/// 兰亭苑, in 和平社区, 东坪镇.
pub const COMPOUND: &str = "compound/dongping/lanting-11";
pub const COMMUNITY: &str = "community/dongping/heping";
pub const TOWNSHIP: &str = "township/dongping";
/// A sample firm of the shipped registry.
pub const FIRM: &str = "91430923MA4L123461";
pub const OTHER_FIRM: &str = "91430923MA4L91531J";

pub fn case_id() -> CaseId {
    CaseId(uuid::Uuid::from_u128(
        0x2026_0302_0000_0000_0000_0000_0000_0001,
    ))
}

/// An instant given in China Standard Time.
pub fn cst(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Monday 2 March 2026, 10:00 CST: an ordinary working week.
pub fn monday() -> DateTime<Utc> {
    cst(2026, 3, 2, 10, 0)
}

/// The complainant's sealed data, sealed once per test process so that every history holds
/// the same bytes.
pub fn sealed() -> Sealed {
    static SEALED: std::sync::OnceLock<Sealed> = std::sync::OnceLock::new();
    SEALED.get_or_init(seal_once).clone()
}

fn seal_once() -> Sealed {
    let mut keys = MemoryKeyStore::default();
    let data = PersonalData {
        name: Some("张三".into()),
        phone: Some("13800000000".into()),
        address: Some("兰亭苑3栋".into()),
    };
    seal(&data, &format!("case/{}", case_id()), &mut keys).expect("sealing works")
}

/// Runs commands in order against one case, each by its principal at its time, and returns
/// every act. Panics on a rejection: a `given` history must be valid.
pub fn history(rules: &Rules, steps: &[(Principal, DateTime<Utc>, CaseCommand)]) -> Vec<Act> {
    let mut state = CaseState::default();
    let mut acts = Vec::new();
    for (principal, now, command) in steps {
        let context = Context::new(rules, *now, principal.clone());
        let produced = case::decide(&state, command, &context).unwrap_or_else(|rejection| {
            panic!("given step {} rejected: {rejection}", command.name())
        });
        for act in produced {
            state = case::evolve(state, &act);
            acts.push(act);
        }
    }
    acts
}

/// given(acts).by(principal).at(now).when(command).then(acts) / .then_err(code)
pub struct Given<'r> {
    rules: &'r Rules,
    acts: Vec<Act>,
    principal: Principal,
    now: DateTime<Utc>,
}

pub fn given(rules: &Rules, acts: Vec<Act>) -> Given<'_> {
    Given {
        rules,
        acts,
        principal: office(),
        now: monday(),
    }
}

impl<'r> Given<'r> {
    pub fn by(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn when(self, command: CaseCommand) -> When {
        let state = CaseState::replay(&self.acts);
        let context = Context::new(self.rules, self.now, self.principal);
        let result = case::decide(&state, &command, &context);
        When {
            name: command.name(),
            state,
            result,
        }
    }
}

pub struct When {
    name: &'static str,
    pub state: CaseState,
    pub result: Result<Vec<Act>, Rejection>,
}

impl When {
    /// The acts produced, exactly.
    pub fn then(self, expected: Vec<Act>) -> CaseState {
        let acts = self
            .result
            .unwrap_or_else(|rejection| panic!("{} rejected: {rejection}", self.name));
        assert_eq!(acts, expected, "{} produced other acts", self.name);
        acts.iter().fold(self.state, case::evolve)
    }

    /// The kinds of the acts produced; returns the acts and the state after them.
    pub fn then_kinds(self, kinds: &[&str]) -> (Vec<Act>, CaseState) {
        let acts = self
            .result
            .unwrap_or_else(|rejection| panic!("{} rejected: {rejection}", self.name));
        let produced: Vec<&str> = acts.iter().map(Act::kind).collect();
        assert_eq!(produced, kinds, "{} produced other acts", self.name);
        let state = acts.iter().fold(self.state, case::evolve);
        (acts, state)
    }

    /// Rejected with this code; the messages are non-empty in both languages.
    pub fn then_err(self, code: RejectionCode) -> Rejection {
        match self.result {
            Ok(acts) => panic!(
                "{} was allowed ({:?}), expected {code}",
                self.name,
                acts.iter().map(Act::kind).collect::<Vec<_>>()
            ),
            Err(rejection) => {
                assert_eq!(
                    rejection.code, code,
                    "{} rejected for another reason: {rejection}",
                    self.name
                );
                assert!(!rejection.zh.is_empty() && !rejection.en.is_empty());
                rejection
            }
        }
    }
}

/// Firm-side given / when / then: the firm's recorded acts (with positions) and the case
/// acts about it.
pub struct GivenFirm<'r> {
    pub rules: &'r Rules,
    pub records: Vec<RecordedAct>,
    pub principal: Principal,
    pub now: DateTime<Utc>,
}

pub fn given_firm(rules: &Rules, records: Vec<RecordedAct>) -> GivenFirm<'_> {
    GivenFirm {
        rules,
        records,
        principal: housing(),
        now: monday(),
    }
}

impl<'r> GivenFirm<'r> {
    pub fn by(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn when(self, command: FirmCommand) -> When {
        let state = FirmState::replay(self.records.iter().map(|record| &record.act));
        let context = Context::new(self.rules, self.now, self.principal);
        let firm_context = FirmContext {
            context: &context,
            records: &self.records,
        };
        let result = firm::decide(&state, &command, &firm_context);
        When {
            name: command.name(),
            state: CaseState::default(),
            result,
        }
    }
}

/// Numbers acts as records from position `first`, one minute apart from `start`.
pub fn recorded(acts: Vec<(DateTime<Utc>, Act)>, first: u64) -> Vec<RecordedAct> {
    acts.into_iter()
        .enumerate()
        .map(|(index, (recorded_at, act))| RecordedAct {
            position: first + index as u64,
            event_id: uuid::Uuid::from_u128(u128::from(first + index as u64)),
            recorded_at,
            act,
        })
        .collect()
}
