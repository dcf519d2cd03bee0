//! One-click: a "confirm you are human" box clicked once. The answer is the click and the
//! pointer's approach to it; the behaviour checks judge both.

use serde::{Deserialize, Serialize};

use super::{Environment, Point, Pointer, Verdict};
use crate::risk::behaviour::pointing;
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
    if a.pointer == Pointer::Mouse {
        findings.extend(approach_findings(&a.points, a.click));
    }
    if findings.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Scripted(findings)
    }
}

/// The rules on a mouse's final reach to the box ([`pointing::frame`]): a script's ruled
/// line — every sample within 0.15 px of the line from the set-off to the click, in any
/// direction, over 60 px or more (a hand on a pixel grid zigzags by up to half a pixel off
/// any slanted line, and cannot hold a level one that long) — or one speed all the way,
/// at any length. The approach model judges the rest.
fn approach_findings(points: &[Point], click: Point) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(reach) = pointing::frame(points, click) else {
        return out;
    };
    let body = &reach[..reach.len() - 1]; // without the click
    let across = body.iter().map(|p| p[1].abs()).fold(0.0, f64::max);
    let length = reach.last().map_or(0.0, |p| p[0]);
    if body.len() >= 10 && length >= 60.0 && across <= 0.15 {
        out.push(Finding::RuledLine);
    }
    if risk::constant_speed(body) {
        out.push(Finding::ConstantSpeed);
    }
    out
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
    fn the_rules_never_take_a_person_pointing_for_a_script() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..2000 {
            let a = pointing::person(&mut rng);
            let f = approach_findings(&a.points, a.click);
            assert!(f.is_empty(), "{f:?}: {:?} {:?}", a.points, a.click);
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
        // The same along a slant, positions to a tenth of a pixel as the widget sends them.
        let slanted: Vec<Point> = (0..14)
            .map(|i| {
                let s = f64::from(i) * f64::from(i) / 13.0;
                [
                    (-10.0 * s * 10.0).round() / 10.0 + 150.0,
                    (-7.0 * s * 10.0).round() / 10.0 + 140.0,
                    300.0 + 16.0 * f64::from(i),
                ]
            })
            .collect();
        let Verdict::Scripted(f) = check(&answer(slanted)) else {
            panic!("a slanted ruled line passed");
        };
        assert_eq!(f, vec![Finding::RuledLine]);
        // One speed is a script's at any length, here 40 px.
        let short: Vec<Point> = (0..11)
            .map(|i| {
                [
                    4.0 * f64::from(i),
                    30.0 - 1.0 * f64::from(i),
                    300.0 + 16.0 * f64::from(i),
                ]
            })
            .collect();
        let Verdict::Scripted(f) = check(&answer(short)) else {
            panic!("a short constant-speed approach passed");
        };
        assert_eq!(f, vec![Finding::ConstantSpeed]);
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
