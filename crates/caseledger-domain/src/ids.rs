//! Validated identifiers: registry unit ids, category slugs and Unified Social Credit Codes.
//!
//! Each type checks its invariant in its constructor ([`std::str::FromStr`] and serde
//! deserialization both go through it) and has no setters, so a value in hand is always valid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest unit id accepted, in bytes.
pub const UNIT_ID_BYTES_MAX: usize = 128;

/// The longest category slug accepted, in bytes.
pub const CATEGORY_BYTES_MAX: usize = 64;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The unit id is empty, too long, or has a character or segment outside the allowed set.
    #[error("单位标识无效 / invalid unit id {text:?}: {reason}")]
    UnitId {
        /// The text refused.
        text: String,
        /// What was wrong, in English.
        reason: &'static str,
    },
    /// The category slug is empty, too long, or not lowercase ASCII letters, digits and `-`.
    #[error("事项类别无效 / invalid category {text:?}: {reason}")]
    Category {
        /// The text refused.
        text: String,
        /// What was wrong, in English.
        reason: &'static str,
    },
    /// The credit code is not 18 characters of the GB 32100-2015 alphabet, or its check
    /// character does not match.
    #[error("统一社会信用代码无效 / invalid unified social credit code {text:?}: {reason}")]
    Uscc {
        /// The text refused.
        text: String,
        /// What was wrong, in English.
        reason: String,
    },
}

fn unit_id_problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return Some("empty");
    }
    if text.len() > UNIT_ID_BYTES_MAX {
        return Some("longer than 128 bytes");
    }
    for segment in text.split('/') {
        if segment.is_empty() {
            return Some("empty segment between '/'");
        }
        if !segment.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b.is_ascii_uppercase()
        }) {
            return Some("only ASCII letters, digits, '-' and '/' are allowed");
        }
        if segment.starts_with('-') || segment.ends_with('-') {
            return Some("a segment may not start or end with '-'");
        }
    }
    None
}

/// A registry unit id: `office`, `housing`, `12345`, `township/dongping`,
/// `community/dongping/xinjie`, `compound/dongping/lanting`, `firm/<USCC>`.
///
/// Segments separated by `/` hold ASCII letters, digits and inner `-`; at most
/// [`UNIT_ID_BYTES_MAX`] bytes. Upper-case letters are accepted only because firm ids embed a
/// credit code; the registry's own ids are lower case by convention.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(String);

impl UnitId {
    /// Checks and wraps a unit id.
    pub fn new(text: impl Into<String>) -> Result<UnitId, IdError> {
        let text = text.into();
        match unit_id_problem(&text) {
            None => Ok(UnitId(text)),
            Some(reason) => Err(IdError::UnitId { text, reason }),
        }
    }

    /// The unit id of the firm with this credit code: `firm/<USCC>`.
    pub fn firm(uscc: &Uscc) -> UnitId {
        UnitId(format!("firm/{}", uscc.as_str()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category slug of the responsibility matrix: `service-quality`, `fire-safety`, …
///
/// Lowercase ASCII letters, digits and inner `-`; at most [`CATEGORY_BYTES_MAX`] bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(String);

impl Category {
    /// Checks and wraps a category slug.
    pub fn new(text: impl Into<String>) -> Result<Category, IdError> {
        let text = text.into();
        let reason = if text.is_empty() {
            Some("empty")
        } else if text.len() > CATEGORY_BYTES_MAX {
            Some("longer than 64 bytes")
        } else if !text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Some("only lowercase ASCII letters, digits and '-' are allowed")
        } else if text.starts_with('-') || text.ends_with('-') {
            Some("may not start or end with '-'")
        } else {
            None
        };
        match reason {
            None => Ok(Category(text)),
            Some(reason) => Err(IdError::Category { text, reason }),
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The GB 32100-2015 alphabet: digits and upper-case letters without I, O, Z, S, V.
/// A character's value is its index here.
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The weights of positions 1..=17 (3^(i-1) mod 31), GB 32100-2015 §5.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn uscc_value(byte: u8) -> Option<u32> {
    USCC_ALPHABET
        .iter()
        .position(|&c| c == byte)
        .map(|i| i as u32)
}

/// The check character (position 18) for the first 17 characters of a credit code, or `None`
/// when a character is outside the alphabet or there are not 17 of them.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (byte, weight) in bytes.iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(*byte)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[check as usize] as char)
}

/// 统一社会信用代码 — an 18-character Unified Social Credit Code (GB 32100-2015), the
/// identity of a property-service firm.
///
/// Always valid: 18 characters of [`USCC_ALPHABET`], the 6-digit administrative division code
/// in positions 3-8, and the check character in position 18.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Checks and wraps a credit code. Lower-case input is refused rather than folded, so the
    /// stored form is the only form.
    pub fn new(text: impl Into<String>) -> Result<Uscc, IdError> {
        let text = text.into();
        let refuse = |reason: String| IdError::Uscc {
            text: text.clone(),
            reason,
        };
        let chars = text.chars().count();
        if chars != 18 {
            return Err(refuse(format!("has {chars} characters, not 18")));
        }
        let outside = text
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || uscc_value(*c as u8).is_none());
        if let Some((i, c)) = outside {
            return Err(refuse(format!(
                "character {} ({c:?}) is not in the GB 32100-2015 alphabet (digits and A-Y without I, O, Z, S, V)",
                i + 1
            )));
        }
        let bytes = text.as_bytes();
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(refuse(
                "positions 3-8 must be the 6-digit administrative division code".to_string(),
            ));
        }
        let expected = uscc_check_char(&text[..17]).unwrap_or('?');
        if bytes[17] as char != expected {
            return Err(refuse(format!(
                "check character is {:?}, expected {expected:?}",
                bytes[17] as char
            )));
        }
        Ok(Uscc(text))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative division code of the registering authority (positions 3-8),
    /// e.g. `430923` for Anhua County.
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }
}

macro_rules! text_id {
    ($type:ident, $schema_name:literal, $description:literal, $pattern:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($type), self.0)
            }
        }

        impl FromStr for $type {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                $type::new(text)
            }
        }

        impl TryFrom<String> for $type {
            type Error = IdError;
            fn try_from(text: String) -> Result<Self, IdError> {
                $type::new(text)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $type::new(text).map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $schema_name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $description,
                    "pattern": $pattern,
                })
            }
        }
    };
}

text_id!(
    UnitId,
    "UnitId",
    "Registry unit id: '/'-separated segments of ASCII letters, digits and inner '-', at most 128 bytes.",
    "^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(/[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
);
text_id!(
    Category,
    "Category",
    "Category slug of the responsibility matrix: lowercase ASCII letters, digits and inner '-'.",
    "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
);
text_id!(
    Uscc,
    "Uscc",
    "统一社会信用代码 Unified Social Credit Code (GB 32100-2015), 18 characters with a valid check character.",
    "^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$"
);
