//! The simulated county: the registry's compounds, firms and categories with the weights and
//! rates the simulation draws from. Every number here is an assumption, listed in the crate
//! documentation.

use caseledger_domain::context::Rules;
use caseledger_domain::ids::{Category, UnitId, Uscc};
use caseledger_domain::policy::Body;
use caseledger_domain::registry::UnitKind;

use crate::rng::Rng;
use crate::SimError;

/// The county seat (东坪镇): its compounds draw more complaints.
pub(crate) const COUNTY_SEAT: &str = "township/dongping";
/// How many times more complaints a county-seat compound draws than a rural one.
const COUNTY_SEAT_WEIGHT: f64 = 3.0;
/// Share of compounds with no property-service firm (no management body, 无物业管理).
const UNMANAGED_SHARE: f64 = 0.08;

/// One category's rates.
pub(crate) struct CategoryProfile {
    pub(crate) slug: &'static str,
    /// Relative frequency among complaints.
    pub(crate) weight: f64,
    /// Probability that the complaint names the compound's firm.
    pub(crate) names_firm: f64,
    /// Probability of urgent safety (only where the matrix allows it).
    pub(crate) urgent: f64,
    /// Probability of a complex case (15 working days).
    pub(crate) complex: f64,
    /// Whether a penalty lands on the firm (else on an owner or a shop).
    pub(crate) firm_is_party: bool,
    /// Probability of a penalty on someone other than the firm, given a substantiated finding.
    pub(crate) other_penalty: f64,
    /// The legal basis cited in penalties.
    pub(crate) legal_basis: &'static str,
    /// Fine range, yuan (the act carries fen).
    pub(crate) fine_yuan: (u64, u64),
    /// What complainants say.
    pub(crate) summaries: &'static [&'static str],
}

/// Category profiles. Slugs missing here but present in the matrix get [`FALLBACK`].
pub(crate) const PROFILES: &[CategoryProfile] = &[
    CategoryProfile {
        slug: "service-quality",
        weight: 22.0,
        names_firm: 1.0,
        urgent: 0.04,
        complex: 0.08,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《物业管理条例》第三十五条、《湖南省物业管理条例》第七十一条",
        fine_yuan: (5_000, 30_000),
        summaries: &[
            "小区垃圾清运不及时，楼道长期无人保洁",
            "小区门禁损坏一个月未修复",
            "物业未按合同公示收支情况",
            "地下车库照明损坏，物业推诿不修",
            "小区停水未提前通知，物业不作解释",
        ],
    },
    CategoryProfile {
        slug: "fees",
        weight: 12.0,
        names_firm: 0.9,
        urgent: 0.0,
        complex: 0.10,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《中华人民共和国价格法》第四十二条",
        fine_yuan: (1_000, 5_000),
        summaries: &[
            "物业费超出政府指导价收取",
            "物业强制收取装修垃圾清运费",
            "物业收费未明码标价",
            "停车费上涨未经业主大会同意",
        ],
    },
    CategoryProfile {
        slug: "special-equipment",
        weight: 9.0,
        names_firm: 0.85,
        urgent: 0.35,
        complex: 0.10,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《中华人民共和国特种设备安全法》第八十三条",
        fine_yuan: (10_000, 100_000),
        summaries: &[
            "电梯频繁故障，曾有人被困",
            "电梯年检标志过期仍在运行",
            "电梯异响，维保单位长期未到场",
        ],
    },
    CategoryProfile {
        slug: "illegal-construction",
        weight: 8.0,
        names_firm: 0.05,
        urgent: 0.0,
        complex: 0.30,
        firm_is_party: false,
        other_penalty: 0.30,
        legal_basis: "《中华人民共和国城乡规划法》第六十四条",
        fine_yuan: (2_000, 50_000),
        summaries: &[
            "顶楼住户在屋顶违章搭建阳光房",
            "一楼住户占用公共绿地私建围墙",
            "住户擅自在外墙开门",
        ],
    },
    CategoryProfile {
        slug: "dispute-mediation",
        weight: 8.0,
        names_firm: 0.5,
        urgent: 0.0,
        complex: 0.15,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "",
        fine_yuan: (0, 0),
        summaries: &[
            "业主与物业就车位使用发生纠纷",
            "楼上漏水，邻里协商不成",
            "业委会与物业就续聘问题发生争议",
        ],
    },
    CategoryProfile {
        slug: "decoration",
        weight: 6.0,
        names_firm: 0.2,
        urgent: 0.0,
        complex: 0.05,
        firm_is_party: false,
        other_penalty: 0.20,
        legal_basis: "《住宅室内装饰装修管理办法》第三十八条",
        fine_yuan: (500, 10_000),
        summaries: &[
            "邻居装修拆改承重墙",
            "装修噪音夜间扰民",
            "装修垃圾堆放楼道多日",
        ],
    },
    CategoryProfile {
        slug: "fire-safety",
        weight: 5.0,
        names_firm: 0.5,
        urgent: 0.30,
        complex: 0.05,
        firm_is_party: true,
        other_penalty: 0.25,
        legal_basis: "《中华人民共和国消防法》第六十条",
        fine_yuan: (5_000, 50_000),
        summaries: &[
            "消防通道被车辆长期堵塞",
            "楼道消火栓无水",
            "电动车在楼道内充电",
        ],
    },
    CategoryProfile {
        slug: "security",
        weight: 4.0,
        names_firm: 0.4,
        urgent: 0.0,
        complex: 0.05,
        firm_is_party: false,
        other_penalty: 0.10,
        legal_basis: "《中华人民共和国治安管理处罚法》第二十三条",
        fine_yuan: (200, 500),
        summaries: &[
            "小区监控长期损坏，电动车被盗",
            "夜间有外来人员随意进出",
            "保安与业主发生冲突",
        ],
    },
    CategoryProfile {
        slug: "maintenance-fund",
        weight: 3.0,
        names_firm: 0.6,
        urgent: 0.0,
        complex: 0.40,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《住宅专项维修资金管理办法》第三十七条",
        fine_yuan: (10_000, 50_000),
        summaries: &["屋面漏水申请维修资金迟迟未批", "维修资金使用情况未公示"],
    },
    CategoryProfile {
        slug: "green-space",
        weight: 3.0,
        names_firm: 0.3,
        urgent: 0.0,
        complex: 0.10,
        firm_is_party: false,
        other_penalty: 0.25,
        legal_basis: "《城市绿化条例》第二十七条",
        fine_yuan: (1_000, 10_000),
        summaries: &["物业毁绿改建停车位", "住户私占绿地种菜"],
    },
    CategoryProfile {
        slug: "pipes",
        weight: 2.0,
        names_firm: 0.2,
        urgent: 0.40,
        complex: 0.05,
        firm_is_party: false,
        other_penalty: 0.20,
        legal_basis: "《城镇燃气管理条例》第四十九条",
        fine_yuan: (1_000, 10_000),
        summaries: &["楼下商户私改燃气管道", "供水管道爆裂无人处理"],
    },
    CategoryProfile {
        slug: "drinking-water",
        weight: 2.0,
        names_firm: 0.6,
        urgent: 0.30,
        complex: 0.05,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《生活饮用水卫生监督管理办法》第二十六条",
        fine_yuan: (2_000, 20_000),
        summaries: &["二次供水水箱长期未清洗，水有异味", "自来水浑浊发黄"],
    },
    CategoryProfile {
        slug: "owners-committee",
        weight: 2.0,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.40,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "",
        fine_yuan: (0, 0),
        summaries: &["业主委员会换届选举程序不规范", "申请成立业主大会无人指导"],
    },
    CategoryProfile {
        slug: "fee-arrears",
        weight: 2.0,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.50,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "",
        fine_yuan: (0, 0),
        summaries: &["个别业主恶意拖欠物业费三年以上"],
    },
    CategoryProfile {
        slug: "advertising",
        weight: 1.5,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.0,
        firm_is_party: false,
        other_penalty: 0.15,
        legal_basis: "《城市市容和环境卫生管理条例》第三十四条",
        fine_yuan: (100, 2_000),
        summaries: &["楼道小广告泛滥", "商户擅自设置户外广告牌"],
    },
    CategoryProfile {
        slug: "pollution",
        weight: 1.5,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.20,
        firm_is_party: false,
        other_penalty: 0.20,
        legal_basis: "《中华人民共和国噪声污染防治法》第七十五条",
        fine_yuan: (2_000, 20_000),
        summaries: &["小区旁加工厂夜间噪音扰民", "临街餐馆油烟直排"],
    },
    CategoryProfile {
        slug: "change-of-use",
        weight: 1.0,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.20,
        firm_is_party: false,
        other_penalty: 0.25,
        legal_basis: "《物业管理条例》第四十九条、第六十六条",
        fine_yuan: (1_000, 10_000),
        summaries: &["住宅改作仓库存放易燃物品"],
    },
    CategoryProfile {
        slug: "unlicensed-business",
        weight: 1.0,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.05,
        firm_is_party: false,
        other_penalty: 0.30,
        legal_basis: "《无证无照经营查处办法》第十三条",
        fine_yuan: (500, 5_000),
        summaries: &["小区内有人无照开设麻将馆"],
    },
    CategoryProfile {
        slug: "planning",
        weight: 1.0,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.50,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "《中华人民共和国城乡规划法》第六十四条",
        fine_yuan: (5_000, 50_000),
        summaries: &["开发商未按规划建设配套幼儿园", "小区配套停车位被挪作他用"],
    },
    CategoryProfile {
        slug: "telecom",
        weight: 1.0,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.05,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "",
        fine_yuan: (0, 0),
        summaries: &["物业阻止运营商光纤入户"],
    },
    CategoryProfile {
        slug: "labour",
        weight: 1.0,
        names_firm: 1.0,
        urgent: 0.0,
        complex: 0.10,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《劳动保障监察条例》第二十六条",
        fine_yuan: (2_000, 20_000),
        summaries: &["物业公司拖欠保洁员工资"],
    },
    CategoryProfile {
        slug: "petition",
        weight: 1.0,
        names_firm: 0.3,
        urgent: 0.0,
        complex: 0.30,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "",
        fine_yuan: (0, 0),
        summaries: &["多次反映物业问题未解决，要求上级督办"],
    },
    CategoryProfile {
        slug: "firm-exit",
        weight: 1.0,
        names_firm: 1.0,
        urgent: 0.0,
        complex: 0.40,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《物业管理条例》第五十八条",
        fine_yuan: (10_000, 100_000),
        summaries: &["原物业合同到期拒不退出、不移交资料"],
    },
    CategoryProfile {
        slug: "fitness",
        weight: 0.7,
        names_firm: 0.3,
        urgent: 0.0,
        complex: 0.05,
        firm_is_party: false,
        other_penalty: 0.0,
        legal_basis: "",
        fine_yuan: (0, 0),
        summaries: &["小区健身器材损坏存在安全隐患"],
    },
    CategoryProfile {
        slug: "residential-to-commercial",
        weight: 0.5,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.10,
        firm_is_party: false,
        other_penalty: 0.30,
        legal_basis: "《市场主体登记管理条例》第四十三条",
        fine_yuan: (1_000, 10_000),
        summaries: &["住宅楼内开设民宿未经登记"],
    },
    CategoryProfile {
        slug: "home-schooling",
        weight: 0.5,
        names_firm: 0.0,
        urgent: 0.0,
        complex: 0.10,
        firm_is_party: false,
        other_penalty: 0.30,
        legal_basis: "《中华人民共和国民办教育促进法》第六十四条",
        fine_yuan: (5_000, 20_000),
        summaries: &["住户在家中无证开办托管班"],
    },
    CategoryProfile {
        slug: "contract-filing",
        weight: 0.5,
        names_firm: 1.0,
        urgent: 0.0,
        complex: 0.20,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《湖南省物业管理条例》第七十条",
        fine_yuan: (5_000, 20_000),
        summaries: &["物业服务合同未备案即进场服务"],
    },
    CategoryProfile {
        slug: "tender-filing",
        weight: 0.3,
        names_firm: 1.0,
        urgent: 0.0,
        complex: 0.30,
        firm_is_party: true,
        other_penalty: 0.0,
        legal_basis: "《前期物业管理招标投标管理暂行办法》第四十三条",
        fine_yuan: (10_000, 50_000),
        summaries: &["前期物业未经招投标直接委托"],
    },
];

/// The profile of a category the table above does not name.
pub(crate) const FALLBACK: CategoryProfile = CategoryProfile {
    slug: "",
    weight: 0.5,
    names_firm: 0.0,
    urgent: 0.0,
    complex: 0.1,
    firm_is_party: false,
    other_penalty: 0.0,
    legal_basis: "",
    fine_yuan: (0, 0),
    summaries: &["业主反映物业管理相关问题"],
};

/// A category of the matrix with its profile and routing.
pub(crate) struct CategoryInfo {
    pub(crate) slug: Category,
    pub(crate) profile: &'static CategoryProfile,
    pub(crate) urgent_capable: bool,
    pub(crate) handlers: Vec<Body>,
    pub(crate) enforcement: Vec<UnitId>,
}

impl CategoryInfo {
    /// True when the local township or community is among the handlers.
    pub(crate) fn local_handler(&self) -> Option<&Body> {
        self.handlers
            .iter()
            .find(|body| matches!(body, Body::LocalTownship | Body::LocalCommunity))
    }

    /// The handling departments.
    pub(crate) fn departments(&self) -> Vec<&UnitId> {
        self.handlers
            .iter()
            .filter_map(|body| match body {
                Body::Unit(id) => Some(id),
                _ => None,
            })
            .collect()
    }
}

/// A compound with its parents.
pub(crate) struct CompoundInfo {
    pub(crate) id: UnitId,
    pub(crate) name: String,
    pub(crate) community: UnitId,
    pub(crate) township: UnitId,
}

/// 信用档次 — the latent quality of a firm, which drives its assessments and how many
/// deductions it collects in a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    A,
    B,
    C,
    D,
}

/// Per tier: (assessment item range, substantiated complaints, overdue rectifications,
/// penalties, black-list-grade violations) per firm per year.
pub(crate) struct TierProfile {
    pub(crate) items: (u64, u64),
    pub(crate) substantiated_per_year: f64,
    pub(crate) overdue_rectifications_per_year: f64,
    pub(crate) penalties_per_year: f64,
    pub(crate) violations_per_year: f64,
}

pub(crate) fn tier_profile(tier: Tier) -> TierProfile {
    match tier {
        Tier::A => TierProfile {
            items: (94, 99),
            substantiated_per_year: 1.5,
            overdue_rectifications_per_year: 0.0,
            penalties_per_year: 0.0,
            violations_per_year: 0.0,
        },
        Tier::B => TierProfile {
            items: (84, 92),
            substantiated_per_year: 4.0,
            overdue_rectifications_per_year: 0.3,
            penalties_per_year: 0.2,
            violations_per_year: 0.0,
        },
        Tier::C => TierProfile {
            items: (78, 88),
            substantiated_per_year: 6.0,
            overdue_rectifications_per_year: 0.6,
            penalties_per_year: 0.4,
            violations_per_year: 0.05,
        },
        Tier::D => TierProfile {
            items: (50, 64),
            substantiated_per_year: 8.0,
            overdue_rectifications_per_year: 1.0,
            penalties_per_year: 0.8,
            violations_per_year: 0.3,
        },
    }
}

/// A firm of the registry and its simulated quality.
pub(crate) struct FirmInfo {
    pub(crate) uscc: Uscc,
    pub(crate) name: String,
    pub(crate) tier: Tier,
    /// A D firm that improves to A from the second quarter on (so that a black-listed firm
    /// comes off the list in the run).
    pub(crate) improving: bool,
}

impl FirmInfo {
    /// The tier in force in the `index`th quarter of the run (0-based).
    pub(crate) fn tier_in_quarter(&self, index: usize) -> Tier {
        if self.improving && index >= 1 {
            Tier::A
        } else {
            self.tier
        }
    }
}

/// The county as the simulation sees it.
pub(crate) struct County {
    pub(crate) compounds: Vec<CompoundInfo>,
    pub(crate) compound_weights: Vec<f64>,
    pub(crate) categories: Vec<CategoryInfo>,
    pub(crate) category_weights: Vec<f64>,
    pub(crate) firms: Vec<FirmInfo>,
    /// The firm serving each compound at the start.
    pub(crate) initial_firm: Vec<Option<usize>>,
    pub(crate) housing: UnitId,
    pub(crate) office: UnitId,
    pub(crate) petitions: UnitId,
    pub(crate) hotline: UnitId,
    pub(crate) platform: UnitId,
}

fn required(rules: &Rules, id: &str, kind: UnitKind) -> Result<UnitId, SimError> {
    let unit: UnitId = id
        .parse()
        .map_err(|_| SimError::Registry(format!("{id} is not a unit id")))?;
    match rules.registry.kind_of(&unit) {
        Some(found) if found == kind => Ok(unit),
        _ => Err(SimError::Registry(format!(
            "the registry has no {kind} {id}; the simulation needs it"
        ))),
    }
}

impl County {
    pub(crate) fn new(rules: &Rules, seed: u64) -> Result<County, SimError> {
        let registry = &rules.registry;
        let mut rng = Rng::new(crate::rng::mix(seed, 0xC0FF_EE00));
        let mut compounds = Vec::new();
        let mut compound_weights = Vec::new();
        for unit in registry.of_kind(UnitKind::Compound) {
            let (Some(community), Some(township)) = (
                registry.community_of(&unit.id).cloned(),
                registry.township_of(&unit.id).cloned(),
            ) else {
                continue;
            };
            let seat = township.as_str() == COUNTY_SEAT;
            // A compound's own trouble factor, 0.4 to 1.6: some compounds complain far more.
            let trouble = 0.4 + 1.2 * rng.unit();
            compound_weights.push(if seat { COUNTY_SEAT_WEIGHT } else { 1.0 } * trouble);
            compounds.push(CompoundInfo {
                id: unit.id.clone(),
                name: unit.name.clone(),
                community,
                township,
            });
        }
        if compounds.is_empty() {
            return Err(SimError::Registry(
                "the registry has no compound; there is nothing to complain about".into(),
            ));
        }
        let mut categories = Vec::new();
        let mut category_weights = Vec::new();
        for rule in rules.matrix.categories() {
            let profile = PROFILES
                .iter()
                .find(|profile| profile.slug == rule.category.as_str())
                .unwrap_or(&FALLBACK);
            category_weights.push(profile.weight);
            categories.push(CategoryInfo {
                slug: rule.category.clone(),
                profile,
                urgent_capable: rule.urgent_safety,
                handlers: rule.handlers.clone(),
                enforcement: rule.enforcement.clone(),
            });
        }
        if categories.is_empty() {
            return Err(SimError::Registry(
                "the responsibility matrix has no category".into(),
            ));
        }

        let mut firms: Vec<FirmInfo> = registry
            .firms()
            .filter_map(|unit| {
                unit.uscc.clone().map(|uscc| FirmInfo {
                    uscc,
                    name: unit.name.clone(),
                    tier: Tier::B,
                    improving: false,
                })
            })
            .collect();
        // Tiers: 20% A, 45% B, 25% C, the rest D, over a seeded shuffle.
        let mut order: Vec<usize> = (0..firms.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let count = firms.len() as f64;
        let mut improving_set = false;
        for (rank, &index) in order.iter().enumerate() {
            let share = rank as f64 / count.max(1.0);
            let tier = if share < 0.20 {
                Tier::A
            } else if share < 0.65 {
                Tier::B
            } else if share < 0.90 {
                Tier::C
            } else {
                Tier::D
            };
            firms[index].tier = tier;
            if tier == Tier::D && !improving_set {
                firms[index].improving = true;
                improving_set = true;
            }
        }
        // Contracts: every firm serves at least one compound, then the rest are shared out
        // with uneven firm sizes; a few compounds have no firm.
        let mut initial_firm = vec![None; compounds.len()];
        let mut compound_order: Vec<usize> = (0..compounds.len()).collect();
        for i in (1..compound_order.len()).rev() {
            compound_order.swap(i, rng.below(i + 1));
        }
        let firm_sizes: Vec<f64> = (0..firms.len())
            .map(|_| 0.3 + 3.0 * rng.unit() * rng.unit())
            .collect();
        for (rank, &compound) in compound_order.iter().enumerate() {
            if firms.is_empty() {
                break;
            }
            if rank < firms.len() {
                initial_firm[compound] = Some(order[rank]);
            } else if !rng.chance(UNMANAGED_SHARE) {
                initial_firm[compound] = Some(rng.weighted(&firm_sizes));
            }
        }
        Ok(County {
            compounds,
            compound_weights,
            categories,
            category_weights,
            firms,
            initial_firm,
            housing: required(rules, "housing", UnitKind::Department)?,
            office: required(rules, "office", UnitKind::Office)?,
            petitions: required(rules, "petitions", UnitKind::Department)?,
            hotline: required(rules, "12345", UnitKind::Intake)?,
            platform: required(rules, "petition-platform", UnitKind::Intake)?,
        })
    }

    /// How many cases name each firm in a run of `cases` cases, in expectation, with the
    /// initial contracts.
    pub(crate) fn expected_firm_cases(&self, cases: u64) -> Vec<f64> {
        let total_weight: f64 = self.category_weights.iter().sum();
        let names_firm: f64 = self
            .categories
            .iter()
            .zip(&self.category_weights)
            .map(|(category, weight)| weight / total_weight * category.profile.names_firm)
            .sum();
        let compound_total: f64 = self.compound_weights.iter().sum();
        let mut expected = vec![0.0; self.firms.len()];
        for (compound, firm) in self.initial_firm.iter().enumerate() {
            if let Some(firm) = firm {
                expected[*firm] +=
                    cases as f64 * names_firm * self.compound_weights[compound] / compound_total;
            }
        }
        expected
    }
}
