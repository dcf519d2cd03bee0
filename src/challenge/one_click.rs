//! One-click: a "confirm you are human" box clicked once. The answer is the click and the
//! pointer's approach to it; the behaviour checks judge both.

use serde::{Deserialize, Serialize};

use super::{Environment, Point, Pointer, Verdict};
use crate::risk::{self, Finding};

/// The widget's report of the click.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneClickAnswer {
    pub pointer: Pointer,
    /// Pointer samples over the widget before the click (may be empty for touch/keyboard).
    #[serde(default)]
    pub points: Vec<Point>,
    /// The click itself.
    pub click: Point,
    #[serde(default)]
    pub env: Environment,
}

/// Judge a one-click answer.
pub fn check(a: &OneClickAnswer) -> Verdict {
    if a.click.iter().any(|v| !v.is_finite()) || a.points.len() > risk::MAX_POINTS {
        return Verdict::Anomaly(vec![Finding::Malformed]);
    }
    let mut findings = risk::scripted_environment(&a.env);
    if a.click[2] < 150.0 {
        findings.push(Finding::TooFast);
    }
    if a.pointer == Pointer::Mouse && a.points.len() < 3 {
        // A real mouse has to travel onto the box; a click from nowhere is synthetic.
        findings.push(Finding::NoApproach);
    }
    if findings.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Scripted(findings)
    }
}
