//! Verification result codes (SPEC §4): the `T…`/`F…` vocabulary shared by the widget API,
//! server verification and logs. Stile's own additions use the `S…` prefix.

use serde::{Deserialize, Serialize};

/// A verdict code as returned by server verification and recorded in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VerifyCode {
    /// Passed.
    T001,
    /// Scene is in test mode, preset to pass.
    T005,
    /// Passed by an allow-list rule.
    T006,
    /// Risk policy says attack.
    F001,
    /// Token empty.
    F002,
    /// Token malformed or tampered.
    F003,
    /// Scene is in test mode, preset to fail.
    F004,
    /// Scene ID invalid.
    F005,
    /// Token already verified (replay).
    F008,
    /// Emulator, virtual machine, or desktop pretending to be mobile.
    F009,
    /// Per-IP frequency limit exceeded.
    F010,
    /// Per-device frequency limit exceeded.
    F011,
    /// Scene ID given by the backend differs from the token's.
    F012,
    /// No init record (expired, or never initialised).
    F014,
    /// Wrong answer.
    F015,
    /// Page URL not allowed for the scene.
    F016,
    /// Protocol or parameter anomaly (forged or replayed client request).
    F017,
    /// More than 90 s between pass and server verification.
    F019,
    /// Encryption-mode check failed.
    F022,
    /// Scripted (simulated) clicks or drags detected.
    F024,
    /// Stile: the proof-of-work asked at init is missing or wrong.
    S001,
}

impl VerifyCode {
    /// Every code, in table order (used by docs and tests).
    pub const ALL: [VerifyCode; 21] = [
        Self::T001,
        Self::T005,
        Self::T006,
        Self::F001,
        Self::F002,
        Self::F003,
        Self::F004,
        Self::F005,
        Self::F008,
        Self::F009,
        Self::F010,
        Self::F011,
        Self::F012,
        Self::F014,
        Self::F015,
        Self::F016,
        Self::F017,
        Self::F019,
        Self::F022,
        Self::F024,
        Self::S001,
    ];

    /// The code as it appears on the wire (`"T001"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::T001 => "T001",
            Self::T005 => "T005",
            Self::T006 => "T006",
            Self::F001 => "F001",
            Self::F002 => "F002",
            Self::F003 => "F003",
            Self::F004 => "F004",
            Self::F005 => "F005",
            Self::F008 => "F008",
            Self::F009 => "F009",
            Self::F010 => "F010",
            Self::F011 => "F011",
            Self::F012 => "F012",
            Self::F014 => "F014",
            Self::F015 => "F015",
            Self::F016 => "F016",
            Self::F017 => "F017",
            Self::F019 => "F019",
            Self::F022 => "F022",
            Self::F024 => "F024",
            Self::S001 => "S001",
        }
    }

    /// Whether the code means the verification passed.
    pub fn passed(self) -> bool {
        matches!(self, Self::T001 | Self::T005 | Self::T006)
    }

    /// A one-line human explanation.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::T001 => "passed",
            Self::T005 => "scene is in test mode, preset to pass",
            Self::T006 => "passed by an allow-list rule",
            Self::F001 => "risk policy says attack",
            Self::F002 => "token empty",
            Self::F003 => "token malformed or tampered",
            Self::F004 => "scene is in test mode, preset to fail",
            Self::F005 => "scene ID invalid",
            Self::F008 => "token already verified (replay)",
            Self::F009 => "emulator, virtual machine, or desktop pretending to be mobile",
            Self::F010 => "per-IP frequency limit exceeded",
            Self::F011 => "per-device frequency limit exceeded",
            Self::F012 => "scene ID given by the backend differs from the token's",
            Self::F014 => "no init record (expired or never initialised)",
            Self::F015 => "wrong answer",
            Self::F016 => "page URL not allowed for the scene",
            Self::F017 => "protocol or parameter anomaly",
            Self::F019 => "more than 90 s between pass and server verification",
            Self::F022 => "encryption-mode check failed",
            Self::F024 => "scripted clicks or drags detected",
            Self::S001 => "proof-of-work missing or wrong",
        }
    }
}

impl std::fmt::Display for VerifyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        for code in VerifyCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.passed(), code.as_str().starts_with('T'));
            assert!(!code.meaning().is_empty());
        }
    }
}
