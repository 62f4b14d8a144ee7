//! Who is acting: a [`Principal`] is a [`Role`] and the registry unit the person acts for.
//!
//! The service binds every bearer token to one principal and passes it to `decide` in the
//! context; the rules in [`crate::case`] and [`crate::firm`] check the role and the unit's
//! jurisdiction. What each role may do (a summary; the rules are the code):
//!
//! | Role | Chinese | May |
//! |---|---|---|
//! | `office` | 领导小组办公室 | dispatch at county level, grant extensions, issue supervision notices (督办), merge, withdraw, reopen and close cases, erase personal data; publish grades, list, delist, repair credit, commend |
//! | `department` | 县直部门 | handle what is dispatched or transferred to it; penalise where it holds enforcement powers; **housing** (住建局) and **petitions** (信访局) also dispatch at county level and supervise, and housing files firms' contracts, tenders, grades and lists |
//! | `township` | 乡镇物业管理办公室 | file walk-in complaints in its area, dispatch within its area, transfer (移送) to a department, handle, lead joint enforcement, aggregate quarterly assessments, record handover inspections and exits in its area |
//! | `community` | 社区物业管理委员会 | file walk-in complaints in its area, handle what is dispatched to it, mediate, assess its firms every quarter |
//! | `intake` | 12345 热线 / 信访平台 | file complaints, record follow-up feedback (回访), withdraw at the complainant's request |
//! | `court` | 人民法院 | read case histories with proofs; no acts in this crate |
//! | `firm` | 物业服务企业 | read its own file; no acts in this crate |
//! | `public` | 公众 | read published grades, lists and aggregates; no acts |
//!
//! ```
//! use caseledger_domain::principal::{Principal, Role};
//!
//! let housing = Principal::new(Role::Department, "housing".parse().unwrap());
//! assert!(housing.is_county_dispatcher());
//! let urban = Principal::new(Role::Department, "urban-management".parse().unwrap());
//! assert!(!urban.is_county_dispatcher());
//! ```

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::UnitId;
use crate::registry::{Registry, UnitKind};

/// The county departments that designate handlers and supervise (§四.(二).1: 县住建局、
/// 县信访局负责……指定相关乡镇（社区）和部门处理物业管理投诉事宜，并及时进行督查督办).
/// A rule of the plan itself, not a policy default, hence a constant.
pub const COUNTY_DISPATCHER_UNITS: [&str; 2] = ["housing", "petitions"];

/// The department that keeps firms' files: contracts, tenders, grades, lists (住建局).
pub const HOUSING_UNIT: &str = "housing";

/// A principal's role. Serialized in kebab case.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// 领导小组办公室 — the Leading Group Office, in the Housing Bureau.
    Office,
    /// 县直部门 — a county department.
    Department,
    /// 乡镇 — a township's Property Management Office.
    Township,
    /// 社区 — a community's Property Management Committee.
    Community,
    /// 受理渠道 — the 12345 hotline or the petition platform.
    Intake,
    /// 人民法院 — the court.
    Court,
    /// 物业服务企业 — a property-service firm.
    Firm,
    /// 公众 — the public.
    Public,
}

impl Role {
    /// The role as text (`office`, `department`, …), as stored in a record's actor.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Office => "office",
            Role::Department => "department",
            Role::Township => "township",
            Role::Community => "community",
            Role::Intake => "intake",
            Role::Court => "court",
            Role::Firm => "firm",
            Role::Public => "public",
        }
    }

    /// The Chinese name of the role, for messages.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Office => "领导小组办公室",
            Role::Department => "县直部门",
            Role::Township => "乡镇",
            Role::Community => "社区",
            Role::Intake => "受理渠道",
            Role::Court => "人民法院",
            Role::Firm => "物业服务企业",
            Role::Public => "公众",
        }
    }

    /// The registry unit kind a principal of this role must act for; `None` for the public.
    pub fn unit_kind(self) -> Option<UnitKind> {
        match self {
            Role::Office => Some(UnitKind::Office),
            Role::Department | Role::Court => Some(UnitKind::Department),
            Role::Township => Some(UnitKind::Township),
            Role::Community => Some(UnitKind::Community),
            Role::Intake => Some(UnitKind::Intake),
            Role::Firm => Some(UnitKind::Firm),
            Role::Public => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts: a role and the unit acted for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// The registry unit (`township/dongping`, `housing`, `12345`). The public acts for the
    /// unit `public`.
    pub unit: UnitId,
}

/// Why a principal does not fit the registry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    /// The unit is not in the registry.
    #[error("单位 {0} 不在名录中 / unit {0} is not in the registry")]
    UnknownUnit(UnitId),
    /// The unit's kind does not fit the role.
    #[error("单位 {unit} 是 {actual}，不能担任 {role} / unit {unit} is a {actual} and cannot act as {role}")]
    WrongKind {
        /// The unit.
        unit: UnitId,
        /// The role asked for.
        role: Role,
        /// The unit's kind.
        actual: UnitKind,
    },
}

impl Principal {
    /// A principal.
    pub fn new(role: Role, unit: UnitId) -> Principal {
        Principal { role, unit }
    }

    /// Checks that the unit exists and its kind fits the role (a township principal acts for
    /// a township). The service calls this when it issues a token. A court principal acts
    /// for a unit of kind `department` (the court is listed among the county bodies).
    pub fn check(&self, registry: &Registry) -> Result<(), PrincipalError> {
        let Some(expected) = self.role.unit_kind() else {
            return Ok(());
        };
        let actual = registry
            .kind_of(&self.unit)
            .ok_or_else(|| PrincipalError::UnknownUnit(self.unit.clone()))?;
        if actual != expected {
            return Err(PrincipalError::WrongKind {
                unit: self.unit.clone(),
                role: self.role,
                actual,
            });
        }
        Ok(())
    }

    /// True for the Office, and for the housing and petitions departments: the bodies that
    /// dispatch at county level and issue supervision notices.
    pub fn is_county_dispatcher(&self) -> bool {
        match self.role {
            Role::Office => true,
            Role::Department => COUNTY_DISPATCHER_UNITS.contains(&self.unit.as_str()),
            _ => false,
        }
    }

    /// True for the Office and the housing department: the bodies that keep firms' files.
    pub fn is_housing(&self) -> bool {
        match self.role {
            Role::Office => true,
            Role::Department => self.unit.as_str() == HOUSING_UNIT,
            _ => false,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.role, self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;

    fn registry() -> Registry {
        let text = r#"
[[unit]]
id = "office"
kind = "office"
name = "办公室"

[[unit]]
id = "housing"
kind = "department"
name = "住建局"

[[unit]]
id = "township/dongping"
kind = "township"
name = "东坪镇"
"#;
        Registry::from_sources(&[Source {
            name: "units.toml",
            text,
        }])
        .unwrap()
    }

    #[test]
    fn a_principal_must_act_for_a_unit_of_its_role() {
        let registry = registry();
        let unit = |text: &str| -> UnitId { text.parse().unwrap() };
        assert_eq!(
            Principal::new(Role::Township, unit("township/dongping")).check(&registry),
            Ok(())
        );
        assert_eq!(
            Principal::new(Role::Office, unit("office")).check(&registry),
            Ok(())
        );
        assert_eq!(
            Principal::new(Role::Public, unit("public")).check(&registry),
            Ok(())
        );
        assert_eq!(
            Principal::new(Role::Township, unit("housing")).check(&registry),
            Err(PrincipalError::WrongKind {
                unit: unit("housing"),
                role: Role::Township,
                actual: UnitKind::Department
            })
        );
        let error = Principal::new(Role::Community, unit("community/x"))
            .check(&registry)
            .unwrap_err();
        assert!(error.to_string().contains("community/x"));
    }

    #[test]
    fn county_dispatchers_and_housing() {
        let unit = |text: &str| -> UnitId { text.parse().unwrap() };
        assert!(Principal::new(Role::Department, unit("petitions")).is_county_dispatcher());
        assert!(!Principal::new(Role::Department, unit("petitions")).is_housing());
        assert!(Principal::new(Role::Office, unit("office")).is_housing());
        assert!(!Principal::new(Role::Township, unit("housing")).is_county_dispatcher());
        assert_eq!(
            Principal::new(Role::Intake, unit("12345")).to_string(),
            "intake@12345"
        );
        assert_eq!(serde_json::to_string(&Role::Intake).unwrap(), "\"intake\"");
    }
}
