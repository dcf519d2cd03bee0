//! Picture challenges — jigsaw and image restoration. Both show a 300×200 picture and a
//! movable part (a puzzle piece, or the object that was taken out of the scene) that a slider
//! moves horizontally; the answer is right when the part's left edge lands within
//! [`TOLERANCE_PX`] of the secret position *and* the drag that was sent actually leads there.
//! The images come from [`crate::imaging`], freshly generated for every challenge.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{Environment, Point, Pointer, Verdict, check_drag};
use crate::imaging::{self, Background};
use crate::risk::Finding;

/// How far (image px) from the secret position a placement still counts.
pub const TOLERANCE_PX: f64 = 6.0;

/// How far (image px) the reported position may be from where the drag ended.
pub const CONSISTENCY_PX: f64 = 2.5;

/// What the widget renders: the picture, the movable part and where the part travels.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PicturePresentation {
    /// `data:image/jpeg;base64,…`, `width`×`height` px.
    pub image: String,
    /// `data:image/png;base64,…`, `part_w`×`part_h` px with transparency.
    pub part: String,
    pub width: u32,
    pub height: u32,
    pub part_w: u32,
    pub part_h: u32,
    /// The part's top in picture px; it moves along x only, starting at 0.
    pub part_y: u32,
}

/// What the server keeps: where the part belongs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PictureSecret {
    /// The part's left edge, picture px, where it fits.
    pub target_x: u32,
    pub part_w: u32,
    /// The custom background used (jigsaw with a tenant pool), for per-image statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

/// The widget's report of one placement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PictureAnswer {
    /// Where the part's left edge was released, picture px.
    pub x: f64,
    /// The slider handle's maximum travel in CSS px.
    pub track_width: f64,
    pub pointer: Pointer,
    /// The slider drag, as for the slider type: handle offset, height, time.
    pub points: Vec<Point>,
    #[serde(default)]
    pub env: Environment,
}

/// `data:{mime};base64,…`, the base64 written straight after the prefix (no zero-filled
/// intermediate buffer, no second copy of some 20 KB per picture).
fn data_uri(mime: &str, bytes: &[u8]) -> String {
    let mut uri = String::with_capacity(13 + mime.len() + bytes.len().div_ceil(3) * 4);
    uri.push_str("data:");
    uri.push_str(mime);
    uri.push_str(";base64,");
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut uri);
    uri
}

/// The presentation and secret of a part of `part_w`×`part_h` at height `part_y` that
/// belongs at `target_x` on a `WIDTH`×`HEIGHT` picture.
fn picture(
    image_jpeg: &[u8],
    part_png: &[u8],
    (part_w, part_h, part_y): (u32, u32, u32),
    target_x: u32,
    image_id: Option<String>,
) -> (PicturePresentation, PictureSecret) {
    (
        PicturePresentation {
            image: data_uri("image/jpeg", image_jpeg),
            part: data_uri("image/png", part_png),
            width: imaging::WIDTH,
            height: imaging::HEIGHT,
            part_w,
            part_h,
            part_y,
        },
        PictureSecret {
            target_x,
            part_w,
            image_id,
        },
    )
}

/// A fresh jigsaw from `seed`, cut from `base` when the scene has an active custom pool.
pub fn jigsaw(
    seed: u64,
    base: Option<(&str, &Background)>,
) -> (PicturePresentation, PictureSecret) {
    let j = imaging::jigsaw(seed, base.map(|(_, b)| b));
    picture(
        &j.background,
        &j.piece,
        (j.piece_w, j.piece_h, j.piece_y),
        j.gap_x,
        base.map(|(id, _)| id.to_owned()),
    )
}

/// A fresh image-restoration scene from `seed`.
pub fn restoration(seed: u64) -> (PicturePresentation, PictureSecret) {
    let r = imaging::restoration(seed);
    picture(
        &r.scene,
        &r.object,
        (r.object_w, r.object_h, r.object_y),
        r.target_x,
        None,
    )
}

/// The distances the widget's keys move the handle over a track of `width`: an arrow key
/// (`max(1, width / 50)`), with Shift (`max(1, width / 200)`), and Page Up/Down (four of
/// either). Home/End jump to the ends.
pub fn key_steps(width: f64) -> [f64; 4] {
    let (step, fine) = ((width / 50.0).max(1.0), (width / 200.0).max(1.0));
    [step, fine, 4.0 * step, 4.0 * fine]
}

/// Judge a placement: well-formed, consistent with its own drag, not scripted, and at the
/// target.
pub fn check(secret: &PictureSecret, a: &PictureAnswer) -> Verdict {
    if !a.x.is_finite() {
        return Verdict::Anomaly(vec![Finding::BadGeometry]);
    }
    if let Err(v) = check_drag(
        a.track_width,
        &a.points,
        a.pointer,
        &a.env,
        &key_steps(a.track_width),
    ) {
        return v;
    }
    let span = f64::from(imaging::WIDTH.saturating_sub(secret.part_w));
    let Some(last) = a.points.last() else {
        return Verdict::Anomaly(vec![Finding::Malformed]);
    };
    // The position must be where the drag ended: a bot that posts the answer without
    // producing the movement, or pairs a recorded drag with a computed answer, is caught here.
    let from_drag = last[0].clamp(0.0, a.track_width) / a.track_width * span;
    if (from_drag - a.x).abs() > CONSISTENCY_PX || a.x < -0.5 || a.x > span + 0.5 {
        return Verdict::Anomaly(vec![Finding::Inconsistent]);
    }
    if (a.x - f64::from(secret.target_x)).abs() > TOLERANCE_PX {
        return Verdict::Wrong(vec![Finding::NotAtTarget]);
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::tests::human_drag;

    const TRACK: f64 = 300.0;

    #[test]
    fn a_data_uri_carries_the_bytes_in_standard_base64_after_its_prefix() {
        assert_eq!(
            data_uri("image/png", &[0, 1, 2, 255, 254]),
            "data:image/png;base64,AAEC//4="
        );
        assert_eq!(data_uri("image/jpeg", &[]), "data:image/jpeg;base64,");
        for n in [1, 2, 3, 1023, 1024, 1025, 3 * 1024 + 1, 20_000] {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 7 + i / 256) as u8).collect();
            let uri = data_uri("image/jpeg", &bytes);
            let b64 = uri
                .strip_prefix("data:image/jpeg;base64,")
                .expect("the prefix");
            let back = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64");
            assert_eq!(back, bytes, "{n} bytes");
        }
    }

    fn secret(target_x: u32) -> PictureSecret {
        PictureSecret {
            target_x,
            part_w: 50,
            image_id: None,
        }
    }

    /// A human drag that stops with the part at picture position `x`.
    fn answer_at(seed: u64, x: f64) -> PictureAnswer {
        let span = f64::from(imaging::WIDTH - 50);
        let points = human_drag(seed, TRACK, x / span);
        let last = points.last().unwrap()[0];
        PictureAnswer {
            x: last / TRACK * span,
            track_width: TRACK,
            pointer: Pointer::Mouse,
            points,
            env: Environment::default(),
        }
    }

    #[test]
    fn placement_within_tolerance_passes_and_outside_fails() {
        for (seed, target) in [(1, 120), (2, 180), (3, 240)] {
            let t = f64::from(target);
            assert_eq!(check(&secret(target), &answer_at(seed, t)), Verdict::Pass);
            assert_eq!(
                check(&secret(target), &answer_at(seed, t + 4.0)),
                Verdict::Pass
            );
            assert_eq!(
                check(&secret(target), &answer_at(seed, t - 12.0)),
                Verdict::Wrong(vec![Finding::NotAtTarget])
            );
        }
    }

    #[test]
    fn a_position_the_drag_does_not_lead_to_is_an_anomaly() {
        let mut a = answer_at(4, 60.0);
        a.x = 150.0; // the answer claims the target, the drag stopped at 60
        assert_eq!(
            check(&secret(150), &a),
            Verdict::Anomaly(vec![Finding::Inconsistent])
        );
        let mut a = answer_at(4, 150.0);
        a.x = f64::NAN;
        assert!(matches!(check(&secret(150), &a), Verdict::Anomaly(_)));
    }

    #[test]
    fn a_straight_constant_speed_drag_to_the_gap_is_scripted() {
        let span = f64::from(imaging::WIDTH - 50);
        let pts: Vec<Point> = (0..=30)
            .map(|i| [f64::from(i) * 6.0, 20.0, f64::from(i) * 16.0 + 400.0])
            .collect();
        let x = 180.0 / TRACK * span;
        let a = PictureAnswer {
            x,
            track_width: TRACK,
            pointer: Pointer::Mouse,
            points: pts,
            env: Environment::default(),
        };
        assert!(matches!(
            check(&secret(x.round() as u32), &a),
            Verdict::Scripted(_)
        ));
    }
}
