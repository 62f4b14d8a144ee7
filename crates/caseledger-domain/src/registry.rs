//! 组织名录 — the organisation registry: the Leading Group Office, county departments,
//! townships, communities, residential compounds, property-service firms, and the intake
//! channels (the 12345 hotline and the county petition platform).
//!
//! Built from TOML text by [`Registry::from_sources`] and validated at load: ids are unique
//! across all files, every parent exists and has the right kind (compound → community →
//! township), credit codes carry a valid GB 32100-2015 check character.
//!
//! File format (any number of files; units and firms may be split across them freely):
//!
//! ```toml
//! [[unit]]
//! id = "township/dongping"
//! kind = "township"            # office | department | township | community | compound | intake
//! name = "东坪镇"
//! name_en = "Dongping Town"    # optional
//! parent = "…"                 # community: its township; compound: its community; else absent
//! sample = false               # true for synthetic entries
//!
//! [[firm]]
//! uscc = "91430923MA4L000000"  # 统一社会信用代码; the unit id becomes "firm/<uscc>"
//! name = "…"
//! sample = true
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::ids::{UnitId, Uscc};
use crate::load::{parse_toml, LoadError, LoadErrorKind, Source};

/// Ids no unit may take: the responsibility matrix uses these words for "the township (or
/// community) of the compound the case is about".
pub const RESERVED_IDS: [&str; 2] = ["township", "community"];

/// The longest unit name accepted, in characters.
pub const UNIT_NAME_CHARS_MAX: usize = 128;

/// The kind of a registry unit.
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
pub enum UnitKind {
    /// 领导小组办公室 — the Office of the property-management Leading Group, in the Housing
    /// Bureau.
    Office,
    /// 县直部门 — a county department (housing, urban-management, …).
    Department,
    /// 乡镇 — a town (镇) or township (乡), with its Property Management Office.
    Township,
    /// 社区（居委会） — a community, with its Property Management Committee.
    Community,
    /// 住宅小区（物业管理区域） — a residential compound.
    Compound,
    /// 物业服务企业 — a property-service firm, keyed by its credit code.
    Firm,
    /// 受理渠道 — an intake channel: the 12345 hotline or the county petition platform.
    Intake,
}

impl UnitKind {
    /// The kind as written in the files.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Office => "office",
            UnitKind::Department => "department",
            UnitKind::Township => "township",
            UnitKind::Community => "community",
            UnitKind::Compound => "compound",
            UnitKind::Firm => "firm",
            UnitKind::Intake => "intake",
        }
    }

    /// The kind a parent of this kind must have, if it must have one.
    pub fn parent_kind(self) -> Option<UnitKind> {
        match self {
            UnitKind::Community => Some(UnitKind::Township),
            UnitKind::Compound => Some(UnitKind::Community),
            _ => None,
        }
    }
}

impl std::fmt::Display for UnitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unit of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unit {
    /// Its id.
    pub id: UnitId,
    /// Its kind.
    pub kind: UnitKind,
    /// Its Chinese name.
    pub name: String,
    /// Its English name, if given.
    pub name_en: Option<String>,
    /// Its parent: a community's township, a compound's community; else `None`.
    pub parent: Option<UnitId>,
    /// The credit code of a firm; `None` for other kinds.
    pub uscc: Option<Uscc>,
    /// True for synthetic sample entries, which must not be mistaken for real ones.
    pub sample: bool,
}

/// The validated registry.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    units: BTreeMap<UnitId, Unit>,
    firms: BTreeMap<Uscc, UnitId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    unit: Vec<RawUnit>,
    #[serde(default)]
    firm: Vec<RawFirm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    id: Spanned<String>,
    kind: Spanned<RawKind>,
    name: String,
    name_en: Option<String>,
    parent: Option<Spanned<String>>,
    #[serde(default)]
    sample: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum RawKind {
    Office,
    Department,
    Township,
    Community,
    Compound,
    Intake,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFirm {
    uscc: Spanned<String>,
    name: String,
    name_en: Option<String>,
    #[serde(default)]
    sample: bool,
}

impl From<RawKind> for UnitKind {
    fn from(kind: RawKind) -> UnitKind {
        match kind {
            RawKind::Office => UnitKind::Office,
            RawKind::Department => UnitKind::Department,
            RawKind::Township => UnitKind::Township,
            RawKind::Community => UnitKind::Community,
            RawKind::Compound => UnitKind::Compound,
            RawKind::Intake => UnitKind::Intake,
        }
    }
}

/// Where a unit was defined, for errors that point at a second file.
struct Origin {
    source: usize,
    line: usize,
    parent_line: usize,
}

impl Registry {
    /// Parses and validates the registry from the text of its files.
    ///
    /// Errors name the file, the line and the mistake: TOML syntax, an unknown field, an
    /// invalid id or credit code, an id defined twice, a missing parent or one of the wrong
    /// kind.
    pub fn from_sources(sources: &[Source<'_>]) -> Result<Registry, LoadError> {
        let mut registry = Registry::default();
        let mut origins: BTreeMap<UnitId, Origin> = BTreeMap::new();
        for (index, source) in sources.iter().enumerate() {
            let raw: RawFile = parse_toml(source)?;
            let line =
                |span: std::ops::Range<usize>| crate::load::line_at_offset(source.text, span.start);
            for raw_unit in raw.unit {
                let id_line = line(raw_unit.id.span());
                let id = UnitId::new(raw_unit.id.into_inner())
                    .map_err(|e| LoadError::at(source, id_line, e.into()))?;
                let kind = UnitKind::from(*raw_unit.kind.get_ref());
                let (parent, parent_line) = match raw_unit.parent {
                    None => (None, id_line),
                    Some(parent) => {
                        let parent_line = line(parent.span());
                        let parent = UnitId::new(parent.into_inner())
                            .map_err(|e| LoadError::at(source, parent_line, e.into()))?;
                        (Some(parent), parent_line)
                    }
                };
                let unit = Unit {
                    id: id.clone(),
                    kind,
                    name: raw_unit.name,
                    name_en: raw_unit.name_en,
                    parent,
                    uscc: None,
                    sample: raw_unit.sample,
                };
                registry.insert(sources, &mut origins, index, id_line, parent_line, unit)?;
            }
            for raw_firm in raw.firm {
                let uscc_line = line(raw_firm.uscc.span());
                let uscc = Uscc::new(raw_firm.uscc.into_inner())
                    .map_err(|e| LoadError::at(source, uscc_line, e.into()))?;
                let id = UnitId::firm(&uscc);
                let unit = Unit {
                    id: id.clone(),
                    kind: UnitKind::Firm,
                    name: raw_firm.name,
                    name_en: raw_firm.name_en,
                    parent: None,
                    uscc: Some(uscc.clone()),
                    sample: raw_firm.sample,
                };
                registry.insert(sources, &mut origins, index, uscc_line, uscc_line, unit)?;
                registry.firms.insert(uscc, id);
            }
        }
        registry.check_parents(sources, &origins)?;
        Ok(registry)
    }

    fn insert(
        &mut self,
        sources: &[Source<'_>],
        origins: &mut BTreeMap<UnitId, Origin>,
        source: usize,
        line: usize,
        parent_line: usize,
        unit: Unit,
    ) -> Result<(), LoadError> {
        let problem = if RESERVED_IDS.contains(&unit.id.as_str()) {
            Some(format!(
                "{:?} is reserved: the responsibility matrix uses it for the case's own township or community",
                unit.id.as_str()
            ))
        } else if unit.name.trim().is_empty() {
            Some(format!("{} has an empty name", unit.id))
        } else if unit.name.chars().count() > UNIT_NAME_CHARS_MAX {
            Some(format!(
                "{} has a name longer than {UNIT_NAME_CHARS_MAX} characters",
                unit.id
            ))
        } else {
            None
        };
        if let Some(reason) = problem {
            return Err(LoadError::at(
                &sources[source],
                line,
                LoadErrorKind::Value {
                    field: "unit".into(),
                    reason,
                },
            ));
        }
        if let Some(first) = origins.get(&unit.id) {
            return Err(LoadError::at(
                &sources[source],
                line,
                LoadErrorKind::DuplicateId {
                    id: unit.id.to_string(),
                    first: format!("{}:{}", sources[first.source].name, first.line),
                },
            ));
        }
        let needs_parent = unit.kind.parent_kind().is_some();
        if needs_parent != unit.parent.is_some() {
            let reason = if needs_parent {
                format!("a {} must name its parent (parent = \"…\")", unit.kind)
            } else {
                format!("a {} has no parent; remove `parent`", unit.kind)
            };
            return Err(LoadError::at(
                &sources[source],
                line,
                LoadErrorKind::Parent {
                    id: unit.id.to_string(),
                    reason,
                },
            ));
        }
        origins.insert(
            unit.id.clone(),
            Origin {
                source,
                line,
                parent_line,
            },
        );
        self.units.insert(unit.id.clone(), unit);
        Ok(())
    }

    fn check_parents(
        &self,
        sources: &[Source<'_>],
        origins: &BTreeMap<UnitId, Origin>,
    ) -> Result<(), LoadError> {
        for unit in self.units.values() {
            let (Some(parent), Some(expected)) = (&unit.parent, unit.kind.parent_kind()) else {
                continue;
            };
            let origin = &origins[&unit.id];
            let source = &sources[origin.source];
            match self.units.get(parent) {
                None => {
                    return Err(LoadError::at(
                        source,
                        origin.parent_line,
                        LoadErrorKind::UnknownParent {
                            id: unit.id.to_string(),
                            parent: parent.to_string(),
                        },
                    ))
                }
                Some(found) if found.kind != expected => {
                    return Err(LoadError::at(
                        source,
                        origin.parent_line,
                        LoadErrorKind::WrongParentKind {
                            id: unit.id.to_string(),
                            kind: unit.kind,
                            parent: parent.to_string(),
                            expected,
                            actual: found.kind,
                        },
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The unit with this id.
    pub fn unit(&self, id: &UnitId) -> Option<&Unit> {
        self.units.get(id)
    }

    /// Every unit, in id order.
    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    /// The kind of the unit with this id.
    pub fn kind_of(&self, id: &UnitId) -> Option<UnitKind> {
        self.units.get(id).map(|unit| unit.kind)
    }

    /// The township a township, community or compound lies in (a township is its own).
    pub fn township_of(&self, id: &UnitId) -> Option<&UnitId> {
        let unit = self.units.get(id)?;
        match unit.kind {
            UnitKind::Township => Some(&unit.id),
            UnitKind::Community | UnitKind::Compound => self.township_of(unit.parent.as_ref()?),
            _ => None,
        }
    }

    /// The community of a compound (a community is its own).
    pub fn community_of(&self, id: &UnitId) -> Option<&UnitId> {
        let unit = self.units.get(id)?;
        match unit.kind {
            UnitKind::Community => Some(&unit.id),
            UnitKind::Compound => unit.parent.as_ref(),
            _ => None,
        }
    }

    /// The compounds inside a township or community, in id order.
    pub fn compounds_of(&self, area: &UnitId) -> Vec<&Unit> {
        self.units
            .values()
            .filter(|unit| unit.kind == UnitKind::Compound && self.is_within(&unit.id, area))
            .collect()
    }

    /// The communities of a township, in id order.
    pub fn communities_of(&self, township: &UnitId) -> Vec<&Unit> {
        self.units
            .values()
            .filter(|unit| {
                unit.kind == UnitKind::Community && unit.parent.as_ref() == Some(township)
            })
            .collect()
    }

    /// The firm with this credit code.
    pub fn firm(&self, uscc: &Uscc) -> Option<&Unit> {
        self.firms.get(uscc).and_then(|id| self.units.get(id))
    }

    /// Every firm, in credit-code order.
    pub fn firms(&self) -> impl Iterator<Item = &Unit> {
        self.firms.values().filter_map(|id| self.units.get(id))
    }

    /// The county departments, in id order.
    pub fn departments(&self) -> Vec<&Unit> {
        self.of_kind(UnitKind::Department)
    }

    /// The townships, in id order.
    pub fn townships(&self) -> Vec<&Unit> {
        self.of_kind(UnitKind::Township)
    }

    /// Every unit of one kind, in id order.
    pub fn of_kind(&self, kind: UnitKind) -> Vec<&Unit> {
        self.units
            .values()
            .filter(|unit| unit.kind == kind)
            .collect()
    }

    /// True when `unit` is `area` or lies inside it (a compound inside its community and
    /// township, a community inside its township). False for unknown ids.
    pub fn is_within(&self, unit: &UnitId, area: &UnitId) -> bool {
        let mut current = self.units.get(unit);
        while let Some(found) = current {
            if &found.id == area {
                return true;
            }
            current = found
                .parent
                .as_ref()
                .and_then(|parent| self.units.get(parent));
        }
        false
    }
}
