//! The registry: queries over a small registry, and every load mistake named by file, line and
//! kind.

use caseledger_domain::ids::{UnitId, Uscc};
use caseledger_domain::registry::{Registry, UnitKind};
use caseledger_domain::{LoadErrorKind, Source};

const COUNTY: &str = r#"
[[unit]]
id = "office"
kind = "office"
name = "领导小组办公室"

[[unit]]
id = "housing"
kind = "department"
name = "住建局"

[[unit]]
id = "12345"
kind = "intake"
name = "12345热线"
"#;

const AREAS: &str = r#"
[[unit]]
id = "township/dongping"
kind = "township"
name = "东坪镇"

[[unit]]
id = "township/meicheng"
kind = "township"
name = "梅城镇"

[[unit]]
id = "community/dongping/heping"
kind = "community"
name = "和平社区"
parent = "township/dongping"
sample = true

[[unit]]
id = "compound/dongping/lanting"
kind = "compound"
name = "兰亭苑"
parent = "community/dongping/heping"
sample = true

[[unit]]
id = "community/meicheng/xinjie"
kind = "community"
name = "新街社区"
parent = "township/meicheng"

[[unit]]
id = "compound/meicheng/cuizhu"
kind = "compound"
name = "翠竹园"
parent = "community/meicheng/xinjie"

[[firm]]
uscc = "91350100M000100Y43"
name = "样例物业"
sample = true
"#;

fn id(text: &str) -> UnitId {
    text.parse().unwrap()
}

fn registry() -> Registry {
    Registry::from_sources(&[
        Source {
            name: "county.toml",
            text: COUNTY,
        },
        Source {
            name: "areas.toml",
            text: AREAS,
        },
    ])
    .unwrap()
}

#[test]
fn queries() {
    let registry = registry();
    assert_eq!(registry.kind_of(&id("housing")), Some(UnitKind::Department));
    assert_eq!(registry.kind_of(&id("12345")), Some(UnitKind::Intake));
    assert_eq!(registry.kind_of(&id("nobody")), None);
    let lanting = id("compound/dongping/lanting");
    assert_eq!(
        registry.township_of(&lanting),
        Some(&id("township/dongping"))
    );
    assert_eq!(
        registry.community_of(&lanting),
        Some(&id("community/dongping/heping"))
    );
    assert_eq!(
        registry.township_of(&id("community/dongping/heping")),
        Some(&id("township/dongping"))
    );
    assert_eq!(registry.township_of(&id("housing")), None);
    assert_eq!(registry.community_of(&id("township/dongping")), None);
    let compounds: Vec<_> = registry
        .compounds_of(&id("township/dongping"))
        .iter()
        .map(|u| u.id.clone())
        .collect();
    assert_eq!(compounds, vec![lanting.clone()]);
    assert!(registry.is_within(&lanting, &id("township/dongping")));
    assert!(registry.is_within(&lanting, &lanting));
    assert!(!registry.is_within(&lanting, &id("township/meicheng")));
    assert!(!registry.is_within(&id("housing"), &id("township/dongping")));
    assert_eq!(registry.departments().len(), 1);
    assert_eq!(registry.townships().len(), 2);
    let uscc = Uscc::new("91350100M000100Y43").unwrap();
    let firm = registry.firm(&uscc).unwrap();
    assert_eq!(firm.id, id("firm/91350100M000100Y43"));
    assert_eq!(firm.kind, UnitKind::Firm);
    assert!(firm.sample);
    assert_eq!(registry.kind_of(&UnitId::firm(&uscc)), Some(UnitKind::Firm));
}

/// Loads `county.toml` + `input` as `areas.toml`; expects an error in `file` at `line` whose
/// message contains `fragment`.
fn check(input: &str, expect: (&str, usize, &str)) {
    let error = Registry::from_sources(&[
        Source {
            name: "county.toml",
            text: COUNTY,
        },
        Source {
            name: "areas.toml",
            text: input,
        },
    ])
    .expect_err("the registry should be refused");
    let (file, line, fragment) = expect;
    let message = error.to_string();
    assert_eq!((error.file.as_str(), error.line), (file, line), "{message}");
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    assert!(
        message.starts_with(&format!("{file}:{line}: ")),
        "{message}"
    );
}

#[test]
fn mistakes_name_file_line_and_kind() {
    // TOML syntax: an unterminated string on line 3.
    check(
        "[[unit]]\nid = \"x\"\nname = \"oops\nkind = \"office\"\n",
        ("areas.toml", 3, "syntax"),
    );
    // Shape: an unknown field on line 5.
    check(
        "[[unit]]\nid = \"x\"\nkind = \"office\"\nname = \"x\"\ncolour = \"red\"\n",
        ("areas.toml", 5, "unknown field `colour`"),
    );
    // Unknown kind.
    check(
        "[[unit]]\nid = \"x\"\nkind = \"castle\"\nname = \"x\"\n",
        ("areas.toml", 3, "castle"),
    );
    // A duplicate across files names both places.
    check(
        "\n[[unit]]\nid = \"housing\"\nkind = \"department\"\nname = \"again\"\n",
        (
            "areas.toml",
            3,
            "duplicate id \"housing\" (first defined in county.toml:8)",
        ),
    );
    // A duplicate inside one file.
    check(
        "[[unit]]\nid = \"township/a\"\nkind = \"township\"\nname = \"a\"\n\n[[unit]]\nid = \"township/a\"\nkind = \"township\"\nname = \"b\"\n",
        ("areas.toml", 7, "duplicate id"),
    );
    // A parent that does not exist, on the parent line.
    check(
        "[[unit]]\nid = \"community/x/y\"\nkind = \"community\"\nname = \"y\"\nparent = \"township/x\"\n",
        ("areas.toml", 5, "parent \"township/x\" of \"community/x/y\" does not exist"),
    );
    // A compound whose parent is a township, not a community.
    check(
        "[[unit]]\nid = \"township/a\"\nkind = \"township\"\nname = \"a\"\n\n[[unit]]\nid = \"compound/a/b\"\nkind = \"compound\"\nname = \"b\"\nparent = \"township/a\"\n",
        ("areas.toml", 10, "parent must be a community, but \"township/a\" is a township"),
    );
    // A community without a parent; a township with one.
    check(
        "[[unit]]\nid = \"community/x\"\nkind = \"community\"\nname = \"x\"\n",
        ("areas.toml", 2, "must name its parent"),
    );
    check(
        "[[unit]]\nid = \"township/a\"\nkind = \"township\"\nname = \"a\"\nparent = \"office\"\n",
        ("areas.toml", 2, "has no parent"),
    );
    // A bad credit code, on its line, with the reason.
    check(
        "# firms\n\n[[firm]]\nuscc = \"91350100M000100Y44\"\nname = \"x\"\n",
        ("areas.toml", 4, "check character is '4', expected '3'"),
    );
    // The same firm twice.
    check(
        "[[firm]]\nuscc = \"91350100M000100Y43\"\nname = \"x\"\n[[firm]]\nuscc = \"91350100M000100Y43\"\nname = \"y\"\n",
        ("areas.toml", 5, "duplicate id \"firm/91350100M000100Y43\""),
    );
    // Reserved ids and empty names.
    check(
        "[[unit]]\nid = \"township\"\nkind = \"township\"\nname = \"x\"\n",
        ("areas.toml", 2, "is reserved"),
    );
    check(
        "[[unit]]\nid = \"township/x\"\nkind = \"township\"\nname = \" \"\n",
        ("areas.toml", 2, "empty name"),
    );
    // A bad unit id.
    check(
        "[[unit]]\nid = \"Town Ship\"\nkind = \"township\"\nname = \"x\"\n",
        ("areas.toml", 2, "invalid unit id"),
    );
}

#[test]
fn the_parent_may_be_defined_in_a_later_file() {
    let compounds = "[[unit]]\nid = \"compound/a/b\"\nkind = \"compound\"\nname = \"b\"\nparent = \"community/a\"\n";
    let areas = "[[unit]]\nid = \"township/a\"\nkind = \"township\"\nname = \"a\"\n[[unit]]\nid = \"community/a\"\nkind = \"community\"\nname = \"c\"\nparent = \"township/a\"\n";
    let registry = Registry::from_sources(&[
        Source {
            name: "compounds.toml",
            text: compounds,
        },
        Source {
            name: "areas.toml",
            text: areas,
        },
    ])
    .unwrap();
    assert_eq!(
        registry.township_of(&id("compound/a/b")),
        Some(&id("township/a"))
    );
}

#[test]
fn error_kinds_are_typed() {
    let error = Registry::from_sources(&[Source {
        name: "a.toml",
        text: "[[unit]]\nid = \"x\"\nkind = \"community\"\nname = \"x\"\nparent = \"nope\"\n",
    }])
    .unwrap_err();
    assert!(
        matches!(error.kind, LoadErrorKind::UnknownParent { .. }),
        "{error:?}"
    );
}
