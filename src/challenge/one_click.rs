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
    // An approach along a ruled line, or at one speed all the way, is a script's — judged
    // on a movement long enough that a hand could not keep that up (a short one can stay
    // on one pixel row).
    let travel = match (a.points.first(), a.points.last()) {
        (Some(f), Some(l)) => (l[0] - f[0]).hypot(l[1] - f[1]),
        _ => 0.0,
    };
    if travel >= 60.0 {
        findings.extend(risk::path_shape_findings(&a.points, a.pointer));
    }
    if findings.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Scripted(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(points: Vec<Point>) -> OneClickAnswer {
        let last = *points.last().unwrap();
        OneClickAnswer {
            pointer: Pointer::Mouse,
            points,
            click: [last[0], last[1], last[2] + 90.0],
            env: Environment::default(),
        }
    }

    #[test]
    fn an_approach_along_a_ruled_line_or_at_one_speed_is_scripted() {
        // Decelerating onto the box with a little wobble: a hand.
        let hand: Vec<Point> = (0..14)
            .map(|i| {
                let s = f64::from(i) / 13.0;
                let e = 1.0 - (1.0 - s).powi(3);
                [
                    120.0 * e,
                    40.0 + 12.0 * e + (f64::from(i) * 1.7).sin(),
                    300.0 + 16.0 * f64::from(i),
                ]
            })
            .collect();
        assert_eq!(check(&answer(hand)), Verdict::Pass);
        let ruled: Vec<Point> = (0..14)
            .map(|i| {
                [
                    10.0 * f64::from(i) * f64::from(i) / 13.0,
                    40.0,
                    300.0 + 16.0 * f64::from(i),
                ]
            })
            .collect();
        let Verdict::Scripted(f) = check(&answer(ruled)) else {
            panic!("a ruled line passed");
        };
        assert!(f.contains(&Finding::RuledLine), "{f:?}");
        let steady: Vec<Point> = (0..14)
            .map(|i| {
                [
                    9.0 * f64::from(i),
                    40.0 + 3.0 * f64::from(i),
                    300.0 + 16.0 * f64::from(i),
                ]
            })
            .collect();
        let Verdict::Scripted(f) = check(&answer(steady)) else {
            panic!("a constant-speed approach passed");
        };
        assert!(f.contains(&Finding::ConstantSpeed), "{f:?}");
    }
}
