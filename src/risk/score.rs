//! How findings combine into a score and a decision.
//!
//! Every [`Finding`] carries a weight. *Decisive* findings settle the verdict by themselves
//! with their own code (a forged request is F017 whatever else is true); *soft* findings add
//! points to a score from 0 (nothing suspicious) to 100. The scene's defence mode sets the
//! score at which a correct answer is still refused with F001: Basic tolerates a great deal
//! (few false positives, for low-risk flows), Advanced much less (for use under attack). The
//! shadow option evaluates Advanced beside the enforced mode and only reports what it would
//! have done.

use serde::{Deserialize, Serialize};

use super::Finding;
use crate::codes::VerifyCode;
use crate::model::DefenceMode;

/// What one finding does to a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Settles the verdict with this code.
    Decisive(VerifyCode),
    /// Adds this many points to the score.
    Soft(u8),
    /// Settles the verdict with this code in Advanced mode; adds the points in Basic.
    Strict(VerifyCode, u8),
}

impl Finding {
    /// This finding's weight. Answer geometry and protocol findings are decisive; signals
    /// that a person can also produce now and then are soft.
    pub fn weight(self) -> Weight {
        use Finding::*;
        match self {
            Malformed | TimeReversed | OutOfBounds | BadGeometry | KindMismatch | Inconsistent
            | ReplayedTrajectory | ImpossibleTiming => Weight::Decisive(VerifyCode::F017),
            NotAtTarget => Weight::Decisive(VerifyCode::F015),
            Sparse | TooFast | RuledLine | ConstantSpeed | Webdriver | NoApproach | NotKeyboard
            | UntrustedEvents | Headless => Weight::Decisive(VerifyCode::F024),
            MobilePosing | VirtualMachine => Weight::Strict(VerifyCode::F009, 40),
            PlatformMismatch | UserAgentMismatch => Weight::Soft(30),
            IpLimit | InitFlood => Weight::Decisive(VerifyCode::F010),
            DeviceLimit => Weight::Decisive(VerifyCode::F011),
            ForgedDevice => Weight::Soft(30),
            DeviceChurn => Weight::Soft(30),
            IpBusy => Weight::Soft(20),
            MotionSuspect => Weight::Soft(60),
            // A near copy, not an exact one: about one fresh person in a thousand comes
            // this close to someone among 20,000 (risk::resemblance), so only Advanced
            // refuses on it alone.
            ResembledTrajectory => Weight::Strict(VerifyCode::F017, 40),
            // Patterns over a source's hour, not proof about this answer: a heavy user can
            // now and then look steady (risk::cadence).
            RegularSolveTime | RelayedSolve | FrequentMisses => {
                Weight::Strict(VerifyCode::F001, 40)
            }
        }
    }
}

/// The engine's judgement of one answer: a score and the reasons behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// 0 (nothing suspicious) to 100 (certainly automated).
    pub score: u8,
    /// Every finding that contributed, in the order found, without repeats.
    pub reasons: Vec<Finding>,
}

impl Assessment {
    /// Combines findings: any decisive one scores 100, soft ones add up (capped at 100).
    pub fn of(findings: &[Finding]) -> Assessment {
        let mut reasons: Vec<Finding> = Vec::with_capacity(findings.len());
        for f in findings {
            if !reasons.contains(f) {
                reasons.push(*f);
            }
        }
        let score = reasons
            .iter()
            .map(|f| match f.weight() {
                Weight::Decisive(_) => 100u32,
                Weight::Soft(p) | Weight::Strict(_, p) => u32::from(p),
            })
            .sum::<u32>()
            .min(100) as u8;
        Assessment { score, reasons }
    }

    /// The code of the first reason that is decisive under `mode`, if any.
    pub fn decisive(&self, mode: DefenceMode) -> Option<VerifyCode> {
        self.reasons.iter().find_map(|f| match f.weight() {
            Weight::Decisive(code) => Some(code),
            Weight::Strict(code, _) if mode == DefenceMode::Advanced => Some(code),
            Weight::Soft(_) | Weight::Strict(..) => None,
        })
    }

    /// The verdict under `mode`: `None` to let a correct answer through, or the refusal.
    pub fn decide(&self, mode: DefenceMode) -> Option<VerifyCode> {
        self.decisive(mode)
            .or_else(|| (self.score >= threshold(mode)).then_some(VerifyCode::F001))
    }
}

/// The score from which a correct answer is refused with F001. Basic needs the cap: no two
/// soft signals a person can show together (a busy office IP handing out identities, a
/// drag the model doubts) are enough on their own.
pub fn threshold(mode: DefenceMode) -> u8 {
    match mode {
        DefenceMode::Basic => 100,
        DefenceMode::Advanced => 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisive_findings_settle_the_verdict_with_their_own_code() {
        let a = Assessment::of(&[Finding::IpBusy, Finding::Inconsistent]);
        assert_eq!(a.score, 100);
        assert_eq!(a.decide(DefenceMode::Basic), Some(VerifyCode::F017));
        assert_eq!(
            Assessment::of(&[Finding::DeviceLimit]).decide(DefenceMode::Basic),
            Some(VerifyCode::F011)
        );
    }

    #[test]
    fn soft_findings_add_up_and_advanced_refuses_sooner() {
        assert_eq!(Assessment::of(&[]).decide(DefenceMode::Advanced), None);
        let churn = Assessment::of(&[Finding::DeviceChurn, Finding::ForgedDevice]);
        assert_eq!(churn.score, 60);
        assert_eq!(churn.decide(DefenceMode::Basic), None);
        assert_eq!(churn.decide(DefenceMode::Advanced), Some(VerifyCode::F001));
        // A busy office's user whose drag the model doubts: Basic lets it through.
        let two = Assessment::of(&[Finding::DeviceChurn, Finding::MotionSuspect]);
        assert_eq!(two.score, 90);
        assert_eq!(two.decide(DefenceMode::Basic), None);
        let three = Assessment::of(&[
            Finding::DeviceChurn,
            Finding::MotionSuspect,
            Finding::ForgedDevice,
        ]);
        assert_eq!(three.score, 100);
        assert_eq!(three.decide(DefenceMode::Basic), Some(VerifyCode::F001));
    }

    #[test]
    fn strict_findings_settle_advanced_and_only_weigh_in_basic() {
        let a = Assessment::of(&[Finding::MobilePosing]);
        assert_eq!(a.score, 40);
        assert_eq!(a.decide(DefenceMode::Basic), None);
        assert_eq!(a.decide(DefenceMode::Advanced), Some(VerifyCode::F009));
        let b = Assessment::of(&[Finding::VirtualMachine, Finding::MotionSuspect]);
        assert_eq!(b.decide(DefenceMode::Basic), Some(VerifyCode::F001));
    }

    #[test]
    fn repeated_findings_count_once() {
        let a = Assessment::of(&[Finding::IpBusy, Finding::IpBusy]);
        assert_eq!((a.score, a.reasons.len()), (20, 1));
    }

    #[test]
    fn reason_names_are_stable_kebab_case() {
        let json = serde_json::to_string(&Assessment::of(&[Finding::DeviceChurn])).unwrap();
        assert_eq!(json, r#"{"score":30,"reasons":["device-churn"]}"#);
    }
}
