//! Identifier validation: credit codes (GB 32100-2015), unit ids, category slugs.

use caseledger_domain::ids::{uscc_check_char, Category, UnitId, Uscc};

/// Accepts or refuses `input` as a credit code; `expect` is `Ok(())` or a fragment of the
/// refusal's message.
fn check(input: &str, expect: Result<(), &str>) {
    match (Uscc::new(input), expect) {
        (Ok(code), Ok(())) => {
            assert_eq!(code.as_str(), input);
            assert_eq!(code.to_string(), input);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), code);
        }
        (Err(error), Err(fragment)) => {
            let message = error.to_string();
            assert!(
                message.contains(fragment),
                "{input}: {message:?} lacks {fragment:?}"
            );
            assert!(message.contains("统一社会信用代码"), "{message}");
        }
        (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn real_credit_codes_are_accepted() {
    // Real codes as printed on business licences and in the national enterprise credit
    // publicity system; the first is the standard's own worked example.
    for code in [
        "91350100M000100Y43",
        "914403001922038216",
        "9144030071526726XG",
        "91440300708461136T",
        "91330100799655058B",
        "91110000802100433B",
        "91310000MA1FL1MMXL",
        "91110108551385082Q",
        "91110000100017643K",
    ] {
        check(code, Ok(()));
    }
}

#[test]
fn bad_credit_codes_are_refused_with_the_reason() {
    check(
        "91350100M000100Y44",
        Err("check character is '4', expected '3'"),
    );
    check("91350100M000100Y4", Err("has 17 characters"));
    check("91350100M000100Y433", Err("has 19 characters"));
    check("", Err("has 0 characters"));
    // I, O, Z, S, V are not in the alphabet; lower case is refused, not folded.
    check("91350100M0001I0Y43", Err("character 14 ('I')"));
    check("91350100M000100S43", Err("character 16 ('S')"));
    check("91350100m000100Y43", Err("character 9 ('m')"));
    // Positions 3-8 are the administrative division code, digits only.
    check("9135010AM000100Y43", Err("division code"));
    // A multi-byte character makes the byte length differ from the character count.
    check("91350100M000100Y4中", Err("character 18 ('中')"));
}

#[test]
fn every_wrong_check_character_is_refused() {
    let first17 = "91430923MA4L12346";
    let right = uscc_check_char(first17).unwrap();
    for candidate in caseledger_domain::ids::USCC_ALPHABET
        .iter()
        .map(|&b| b as char)
    {
        let code = format!("{first17}{candidate}");
        assert_eq!(Uscc::new(&code).is_ok(), candidate == right, "{code}");
    }
}

#[test]
fn credit_codes_validate_on_deserialize() {
    let error = serde_json::from_str::<Uscc>("\"91350100M000100Y44\"").unwrap_err();
    assert!(error.to_string().contains("check character"), "{error}");
    assert_eq!(
        Uscc::new("91430923MA4L123461").unwrap().division_code(),
        "430923"
    );
}

#[test]
fn unit_ids() {
    let cases: &[(&str, bool)] = &[
        ("housing", true),
        ("12345", true),
        ("township/dongping", true),
        ("compound/dongping/lanting-11", true),
        ("firm/91350100M000100Y43", true),
        ("", false),
        ("township/", false),
        ("/housing", false),
        ("township//x", false),
        ("house ing", false),
        ("-housing", false),
        ("东坪", false),
        ("a_b", false),
    ];
    for (input, valid) in cases {
        assert_eq!(input.parse::<UnitId>().is_ok(), *valid, "{input:?}");
    }
    assert!(UnitId::new("a".repeat(129)).is_err());
    let firm = UnitId::firm(&Uscc::new("91350100M000100Y43").unwrap());
    assert_eq!(firm.as_str(), "firm/91350100M000100Y43");
    let error = serde_json::from_str::<UnitId>("\"a b\"").unwrap_err();
    assert!(error.to_string().contains("单位标识无效"), "{error}");
}

#[test]
fn categories() {
    for (input, valid) in [
        ("service-quality", true),
        ("fire-safety", true),
        ("Fire", false),
        ("fire_safety", false),
        ("-fire", false),
        ("", false),
    ] {
        assert_eq!(input.parse::<Category>().is_ok(), valid, "{input:?}");
    }
}

#[test]
fn schemas_describe_strings_with_patterns() {
    let schema = schemars::schema_for!(Uscc);
    let json = serde_json::to_value(&schema).unwrap();
    assert_eq!(json["type"], "string");
    assert!(json["pattern"].as_str().unwrap().starts_with('^'));
}
