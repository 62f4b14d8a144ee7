//! Sealing personal data: round trip, tamper rejection, context binding, erasure.

use caseledger_domain::seal::{
    seal, seal_with_key, unseal, KeyId, KeyStore, MemoryKeyStore, PersonalData, SealError, Sealed,
    NONCE_BYTES,
};

const CASE: &str = "case/2026-000001";

fn person() -> PersonalData {
    PersonalData {
        name: Some("李四".into()),
        phone: Some("13900000000".into()),
        address: Some("东坪镇兰亭苑3栋2单元501".into()),
    }
}

#[test]
fn round_trip() {
    let mut keys = MemoryKeyStore::default();
    let sealed = seal(&person(), CASE, &mut keys).unwrap();
    assert_eq!(sealed.nonce.len(), NONCE_BYTES);
    assert_eq!(unseal(&sealed, CASE, &keys).unwrap(), person());
    // The plaintext is nowhere in the sealed value or its encodings.
    let json = serde_json::to_string(&sealed).unwrap();
    for secret in ["李四", "13900000000", "兰亭苑"] {
        assert!(!json.contains(secret), "{json}");
    }
    assert!(!String::from_utf8_lossy(&sealed.ciphertext).contains("13900000000"));
    // Debug output hides the data.
    assert!(!format!("{:?}", person()).contains("李四"));
    // JSON round trip, with hex bytes.
    let back: Sealed = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sealed);
    assert!(json.contains(&hex::encode(&sealed.nonce)), "{json}");
    // Empty data seals too.
    let empty = seal(&PersonalData::default(), CASE, &mut keys).unwrap();
    assert_eq!(
        unseal(&empty, CASE, &keys).unwrap(),
        PersonalData::default()
    );
}

#[test]
fn two_seals_of_the_same_data_differ() {
    let mut keys = MemoryKeyStore::default();
    let a = seal(&person(), CASE, &mut keys).unwrap();
    let b = seal_with_key(&person(), &a.key_id, CASE, &keys).unwrap();
    assert_eq!(a.key_id, b.key_id);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.ciphertext, b.ciphertext);
    let c = seal(&person(), CASE, &mut keys).unwrap();
    assert_ne!(
        a.key_id, c.key_id,
        "each seal without a key gets a fresh per-person key"
    );
}

#[test]
fn any_change_is_refused() {
    let mut keys = MemoryKeyStore::default();
    let sealed = seal(&person(), CASE, &mut keys).unwrap();
    let other = seal(&person(), CASE, &mut keys).unwrap();
    let mut tampered: Vec<Sealed> = Vec::new();
    for i in 0..sealed.ciphertext.len() {
        let mut copy = sealed.clone();
        copy.ciphertext[i] ^= 0x01;
        tampered.push(copy);
    }
    for i in 0..NONCE_BYTES {
        let mut copy = sealed.clone();
        copy.nonce[i] ^= 0x80;
        tampered.push(copy);
    }
    let mut truncated = sealed.clone();
    truncated.ciphertext.pop();
    tampered.push(truncated);
    // The ciphertext relabelled with another person's key id.
    let mut relabelled = sealed.clone();
    relabelled.key_id = other.key_id.clone();
    tampered.push(relabelled);
    for copy in &tampered {
        assert_eq!(unseal(copy, CASE, &keys), Err(SealError::Tampered));
    }
    // Moved to another case.
    assert_eq!(
        unseal(&sealed, "case/2026-000002", &keys),
        Err(SealError::Tampered)
    );
    // A malformed nonce is named as such.
    let mut short = sealed.clone();
    short.nonce.truncate(12);
    assert!(matches!(
        unseal(&short, CASE, &keys),
        Err(SealError::Malformed(_))
    ));
}

#[test]
fn erasure_is_a_distinct_error_and_touches_only_that_person() {
    let mut keys = MemoryKeyStore::default();
    let erased = seal(&person(), CASE, &mut keys).unwrap();
    let same_person_other_case =
        seal_with_key(&person(), &erased.key_id, "case/2026-000009", &keys).unwrap();
    let someone_else = seal(&person(), CASE, &mut keys).unwrap();
    keys.destroy_key(&erased.key_id).unwrap();
    let expected = Err(SealError::KeyErased {
        key_id: erased.key_id.clone(),
    });
    assert_eq!(unseal(&erased, CASE, &keys), expected);
    assert_eq!(
        unseal(&same_person_other_case, "case/2026-000009", &keys),
        expected
    );
    assert_eq!(unseal(&someone_else, CASE, &keys).unwrap(), person());
    assert!(unseal(&erased, CASE, &keys)
        .unwrap_err()
        .to_string()
        .contains("个人信息已删除"));
    // Destroying twice is fine; sealing under a destroyed key is refused.
    keys.destroy_key(&erased.key_id).unwrap();
    assert_eq!(
        seal_with_key(&person(), &erased.key_id, CASE, &keys),
        expected.map(|_: PersonalData| unreachable!())
    );
    // An unknown key is another error.
    let unknown = KeyId::random();
    assert_eq!(
        keys.destroy_key(&unknown),
        Err(SealError::UnknownKey {
            key_id: unknown.clone()
        })
    );
    let mut orphan = someone_else.clone();
    orphan.key_id = unknown.clone();
    assert_eq!(
        unseal(&orphan, CASE, &keys),
        Err(SealError::UnknownKey { key_id: unknown })
    );
}

#[test]
fn oversized_fields_are_refused() {
    let mut keys = MemoryKeyStore::default();
    let long = PersonalData {
        phone: Some("1".repeat(65)),
        ..PersonalData::default()
    };
    assert_eq!(
        seal(&long, CASE, &mut keys),
        Err(SealError::FieldTooLong {
            field: "phone",
            bytes_max: 64
        })
    );
}

#[test]
fn bincode_round_trip_keeps_raw_bytes() {
    let mut keys = MemoryKeyStore::default();
    let sealed = seal(&person(), CASE, &mut keys).unwrap();
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(&sealed, config).unwrap();
    // Raw bytes, not hex: the encoding is about the size of the ciphertext, not twice it.
    assert!(
        bytes.len() < sealed.ciphertext.len() + NONCE_BYTES + 40,
        "{}",
        bytes.len()
    );
    let (back, _): (Sealed, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(back, sealed);
    assert_eq!(unseal(&back, CASE, &keys).unwrap(), person());
}
