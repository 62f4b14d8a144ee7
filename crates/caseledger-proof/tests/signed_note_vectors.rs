//! `schemas/vectors/signed-note.json` (the Go `sumdb/note` example and a checkpoint, both
//! re-signed byte for byte) and `schemas/vectors/signed-note-rejects.json` (our own must-fail
//! and must-pass notes).

use caseledger_proof::checkpoint::Checkpoint;
use caseledger_proof::merkle::Hash;
use caseledger_proof::note::{open_note, sign_note, NoteError, NoteSigner, NoteVerifier};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    go_sumdb_note: KeyedNote,
    checkpoint: CheckpointVector,
    must_fail: Vec<MustFail>,
}

#[derive(Deserialize)]
struct KeyedNote {
    signer_key: String,
    verifier_key: String,
    text: String,
    note: String,
}

#[derive(Deserialize)]
struct CheckpointVector {
    origin: String,
    tree_size: u64,
    root_hex: String,
    signer_key: String,
    verifier_key: String,
    text: String,
    note: String,
}

#[derive(Deserialize)]
struct MustFail {
    why: String,
    note: String,
    verifier_key: String,
}

#[derive(Deserialize)]
struct Rejects {
    verifier_key: String,
    text: String,
    must_fail: Vec<RejectCase>,
    must_pass: Vec<RejectCase>,
}

#[derive(Deserialize)]
struct RejectCase {
    why: String,
    note: Option<String>,
    note_hex: Option<String>,
}

impl RejectCase {
    fn bytes(&self) -> Vec<u8> {
        match (&self.note, &self.note_hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(hex_text)) => hex::decode(hex_text).expect("hex note"),
            _ => panic!("{}: exactly one of note and note_hex", self.why),
        }
    }
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../../../schemas/vectors/signed-note.json")).unwrap()
}

fn rejects() -> Rejects {
    serde_json::from_str(include_str!(
        "../../../schemas/vectors/signed-note-rejects.json"
    ))
    .unwrap()
}

#[test]
fn go_sumdb_example_is_resigned_byte_for_byte() {
    let v = vectors().go_sumdb_note;
    let signer = NoteSigner::from_text(&v.signer_key).unwrap();
    assert_eq!(signer.to_text(), v.signer_key);
    assert_eq!(signer.verifier().to_text(), v.verifier_key);
    let verifier = NoteVerifier::from_text(&v.verifier_key).unwrap();
    assert_eq!(verifier, signer.verifier());
    assert_eq!(sign_note(&v.text, &[&signer]).unwrap(), v.note);
    let opened = open_note(v.note.as_bytes(), &[verifier]).unwrap();
    assert_eq!(opened.text, v.text);
    assert_eq!(opened.verified.len(), 1);
}

#[test]
fn checkpoint_vector_is_resigned_byte_for_byte() {
    let v = vectors().checkpoint;
    let signer = NoteSigner::from_text(&v.signer_key).unwrap();
    assert_eq!(signer.verifier().to_text(), v.verifier_key);
    let root = Hash::from_hex(&v.root_hex).unwrap();
    let checkpoint = Checkpoint::new(&v.origin, v.tree_size, root).unwrap();
    assert_eq!(checkpoint.to_text(), v.text);
    assert_eq!(Checkpoint::parse(&v.text).unwrap(), checkpoint);
    assert_eq!(checkpoint.sign(&signer).unwrap(), v.note);
    let verifier = NoteVerifier::from_text(&v.verifier_key).unwrap();
    assert_eq!(Checkpoint::open(&v.note, &verifier).unwrap(), checkpoint);
}

#[test]
fn published_must_fail_notes_fail() {
    let v = vectors();
    assert!(!v.must_fail.is_empty());
    for case in &v.must_fail {
        let verifier = NoteVerifier::from_text(&case.verifier_key).unwrap();
        assert!(
            open_note(case.note.as_bytes(), &[verifier]).is_err(),
            "{}",
            case.why
        );
    }
}

#[test]
fn our_must_fail_notes_fail_and_must_pass_notes_open() {
    let r = rejects();
    let verifier = NoteVerifier::from_text(&r.verifier_key).unwrap();
    assert!(r.must_fail.len() >= 15);
    for case in &r.must_fail {
        let result = open_note(&case.bytes(), std::slice::from_ref(&verifier));
        assert!(result.is_err(), "must fail: {}", case.why);
    }
    for case in &r.must_pass {
        let opened = open_note(&case.bytes(), std::slice::from_ref(&verifier))
            .unwrap_or_else(|e| panic!("must pass: {}: {e}", case.why));
        assert_eq!(opened.text, r.text, "{}", case.why);
        assert_eq!(opened.verified.len(), 1, "{}", case.why);
    }
}

#[test]
fn rejections_name_their_reason() {
    let r = rejects();
    let verifier = NoteVerifier::from_text(&r.verifier_key).unwrap();
    let reason = |why: &str| {
        let case = r.must_fail.iter().find(|c| c.why.starts_with(why)).unwrap();
        open_note(&case.bytes(), std::slice::from_ref(&verifier)).unwrap_err()
    };
    assert!(matches!(
        reason("no newline at the end"),
        NoteError::Malformed(_)
    ));
    assert!(matches!(
        reason("invalid UTF-8"),
        NoteError::Malformed("not UTF-8")
    ));
    assert!(matches!(
        reason("a tab"),
        NoteError::Malformed("control character")
    ));
    assert!(matches!(
        reason("101 signatures"),
        NoteError::Malformed("too many signatures")
    ));
    assert!(matches!(
        reason("signature by the known key"),
        NoteError::BadSignature { .. }
    ));
    assert!(matches!(
        reason("a bad signature by the known key"),
        NoteError::BadSignature { .. }
    ));
    assert!(matches!(
        reason("only signatures by unknown keys"),
        NoteError::NoKnownSignature
    ));
    assert!(matches!(
        reason("the tree size edited"),
        NoteError::BadSignature { .. }
    ));
}

#[test]
fn keys_round_trip_and_bad_keys_are_refused() {
    let signer = NoteSigner::generate("ledger.example/county").unwrap();
    let again = NoteSigner::from_text(&signer.to_text()).unwrap();
    assert_eq!(again.verifier(), signer.verifier());
    assert_eq!(
        NoteVerifier::from_text(&signer.verifier().to_text()).unwrap(),
        signer.verifier()
    );
    let v = vectors().checkpoint;
    let check = |text: &str| NoteVerifier::from_text(text).unwrap_err();
    // Wrong id for the name and key.
    assert_eq!(
        check(&v.verifier_key.replace("+4dda7f90+", "+4dda7f91+")),
        NoteError::KeyId
    );
    // Another name with the same key gets another id.
    assert_eq!(
        check(&v.verifier_key.replace("anhua", "anhui")),
        NoteError::KeyId
    );
    assert!(matches!(check("name+4dda7f90"), NoteError::KeyFormat(_)));
    assert!(matches!(
        check("na me+4dda7f90+AAAA"),
        NoteError::KeyName(_)
    ));
    assert!(matches!(
        check("name+4dda7f9+AAAA"),
        NoteError::KeyFormat(_)
    ));
    assert!(matches!(
        check("name+4dda7f90+AAAA"),
        NoteError::KeyFormat(_)
    ));
    assert!(matches!(
        NoteSigner::from_text(&v.verifier_key).unwrap_err(),
        NoteError::KeyFormat(_)
    ));
    assert!(NoteSigner::generate("bad name").is_err());
    assert!(sign_note("no newline", &[&signer]).is_err());
    assert!(sign_note("tab\there\n", &[&signer]).is_err());
}

#[test]
fn checkpoint_text_is_parsed_strictly() {
    // The same root with non-zero padding bits in its last character.
    let root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=";
    for (why, text) in [
        (
            "no final newline",
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        ),
        ("two lines", "o\n8\n"),
        (
            "leading zero",
            "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        ),
        (
            "sign",
            "o\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        ),
        (
            "empty origin",
            "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        ),
        ("short root", "o\n8\nAAAA\n"),
        (
            "empty extension",
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n",
        ),
        (
            "size overflow",
            "o\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        ),
    ] {
        assert!(Checkpoint::parse(text).is_err(), "{why}");
    }
    let wrong = format!("o\n8\n{root}\n");
    assert!(
        Checkpoint::parse(&wrong).is_err(),
        "non-canonical base64 root"
    );
    let with_extension =
        Checkpoint::parse("o\n0\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nextra\n").unwrap();
    assert_eq!(with_extension.extensions(), ["extra".to_owned()]);
}

#[test]
fn checkpoint_origin_must_match_the_key_name() {
    let signer = NoteSigner::generate("ledger.example/county").unwrap();
    let checkpoint = Checkpoint::new("ledger.example/other", 3, Hash([1; 32])).unwrap();
    let note = checkpoint.sign(&signer).unwrap();
    assert!(Checkpoint::open(&note, &signer.verifier()).is_err());
}
