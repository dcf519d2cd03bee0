//! Slider: press the handle and drag it to the end of the bar. There is no image; the answer
//! is right when the trajectory ends at the end of the track, and the behaviour checks in
//! [`crate::risk`] decide whether a person produced it.

use serde::{Deserialize, Serialize};

use super::{Environment, Point, Pointer, Verdict, check_drag};
use crate::risk::Finding;

/// How close to the end (in CSS px) counts as "at the end".
pub const END_TOLERANCE_PX: f64 = 4.0;

/// The widget's report of one drag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SliderAnswer {
    /// The handle's maximum travel in CSS px.
    pub track_width: f64,
    pub pointer: Pointer,
    /// Samples from press to release: x is the handle offset, y the pointer's height over the
    /// track, t milliseconds since render.
    pub points: Vec<Point>,
    #[serde(default)]
    pub env: Environment,
}

/// The distances the widget's keys move the handle over a track of `width`: an arrow key
/// (`max(4, width / 20)`) and Page Up/Down (four arrows). Home/End jump to the ends.
pub fn key_steps(width: f64) -> [f64; 2] {
    let step = (width / 20.0).max(4.0);
    [step, 4.0 * step]
}

/// Judge a slider answer.
pub fn check(a: &SliderAnswer) -> Verdict {
    if let Err(v) = check_drag(
        a.track_width,
        &a.points,
        a.pointer,
        &a.env,
        &key_steps(a.track_width),
    ) {
        return v;
    }
    let last_x = a.points.last().map_or(0.0, |p| p[0]);
    if last_x < a.track_width - END_TOLERANCE_PX {
        return Verdict::Wrong(vec![Finding::NotAtTarget]);
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::tests::human_drag;

    fn answer(points: Vec<Point>) -> SliderAnswer {
        SliderAnswer {
            track_width: 300.0,
            pointer: Pointer::Mouse,
            points,
            env: Environment::default(),
        }
    }

    #[test]
    fn human_drag_to_the_end_passes() {
        for seed in 0..50 {
            let v = check(&answer(human_drag(seed, 300.0, 1.0)));
            assert_eq!(v, Verdict::Pass, "seed {seed}");
        }
    }

    #[test]
    fn stopping_short_is_wrong() {
        assert_eq!(
            check(&answer(human_drag(1, 300.0, 0.6))),
            Verdict::Wrong(vec![Finding::NotAtTarget])
        );
    }

    #[test]
    fn a_straight_constant_speed_drag_is_scripted() {
        let pts: Vec<Point> = (0..=30)
            .map(|i| [i as f64 * 10.0, 20.0, i as f64 * 16.0])
            .collect();
        assert!(matches!(check(&answer(pts)), Verdict::Scripted(_)));
    }

    #[test]
    fn nonsense_geometry_is_an_anomaly() {
        let mut a = answer(human_drag(2, 300.0, 1.0));
        a.track_width = 5.0;
        assert!(matches!(check(&a), Verdict::Anomaly(_)));
        let mut a = answer(human_drag(2, 300.0, 1.0));
        a.points[3][2] = f64::NAN;
        assert!(matches!(check(&a), Verdict::Anomaly(_)));
    }
}
