//! Realistic synthetic acts: each submitter works through cases of eight acts, from the
//! complaint to the closing, with payloads shaped like the domain's JSON.

use caseledger_log::{Actor, AppendRequest};

const LIFECYCLE: [(&str, &str, &str); 8] = [
    ("ComplaintFiled", "intake", "hotline-12345"),
    ("CaseDispatched", "dispatcher", "office"),
    ("CaseAccepted", "handler", "housing"),
    ("InspectionRecorded", "inspector", "township/dongping"),
    ("RectificationOrdered", "handler", "housing"),
    ("RectificationVerified", "inspector", "township/dongping"),
    ("CaseResolved", "handler", "housing"),
    ("CaseClosed", "dispatcher", "office"),
];

/// Makes one submitter's requests.
pub struct Generator {
    submitter: u64,
    payload_bytes: usize,
    case: uuid::Uuid,
    version: u64,
    sequence: u64,
    state: u64,
}

impl Generator {
    /// A generator for one submitter.
    pub fn new(submitter: u64, payload_bytes: usize) -> Generator {
        Generator {
            submitter,
            payload_bytes,
            case: uuid::Uuid::now_v7(),
            version: 0,
            sequence: 0,
            state: 0x9E37_79B9_7F4A_7C15 ^ submitter.wrapping_mul(0xD1B5_4A32_D192_ED03),
        }
    }

    fn random(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// The next act of the current case.
    pub fn next_request(&mut self) -> AppendRequest {
        if self.version as usize >= LIFECYCLE.len() {
            self.case = uuid::Uuid::now_v7();
            self.version = 0;
        }
        let (kind, role, unit) = LIFECYCLE[self.version as usize];
        self.sequence += 1;
        let firm = format!("91{:016}", self.random() % 10_000_000_000_000_000);
        let compound = self.random() % 900;
        let day = 1 + self.random() % 28;
        let user = self.random() % 50;
        let case = self.case;
        let mut payload = format!(
            "{{\"case\":\"{}\",\"firm_uscc\":\"{firm}\",\"compound\":\"compound/{}\",\"category\":\"elevator\",\"deadline\":\"2026-12-{:02}T18:00:00+08:00\",\"note\":\"",
            case, compound, day
        );
        const WORDS: [&str; 8] = [
            "电梯", "停运", "物业", "整改", "复查", "water", "leak", "noise",
        ];
        while payload.len() + 2 < self.payload_bytes {
            payload.push_str(WORDS[(self.random() % WORDS.len() as u64) as usize]);
            payload.push(' ');
        }
        payload.push_str("\"}");
        AppendRequest {
            stream: format!("case/{}", self.case),
            expected_version: self.version,
            event_id: uuid::Uuid::now_v7(),
            actor: Actor {
                role: role.into(),
                unit: unit.into(),
                user: format!("user-{}-{user}", self.submitter),
            },
            kind: kind.into(),
            schema_version: 1,
            payload: payload.into_bytes(),
        }
    }

    /// Moves on after the request was acknowledged at `stream_version`.
    pub fn acknowledged(&mut self, stream_version: u64) {
        self.version = stream_version;
    }
}
