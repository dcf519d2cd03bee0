//! Challenges: what each verification type shows, what it keeps secret, and how an answer
//! is judged against the secret. Pure and synchronous — no I/O, no HTTP.
//!
//! Each type lives in its own module behind three enums: [`Presentation`] (sent to the
//! widget), [`Secret`] (kept in the cycle record) and [`Answer`] (sent back). Adding a type
//! means adding a variant to each and a module; nothing else in the cycle changes. Picture
//! challenges (jigsaw, image restoration) share [`picture`].

pub mod one_click;
pub mod picture;
pub mod slider;

use serde::{Deserialize, Serialize};

use crate::imaging::Background;
use crate::model::VerificationType;
use crate::risk::{self, Finding};

/// What the widget needs to render the challenge.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Presentation {
    Slider,
    OneClick,
    Jigsaw(picture::PicturePresentation),
    ImageRestoration(picture::PicturePresentation),
    /// No-CAPTCHA's silent step: nothing to show, the widget reports its environment.
    Silent,
}

/// What the server keeps to judge the answer (e.g. a jigsaw gap's position).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Secret {
    Slider,
    OneClick,
    Jigsaw(picture::PictureSecret),
    ImageRestoration(picture::PictureSecret),
    Silent,
}

impl Secret {
    /// The custom pool image this challenge was cut from, if any.
    pub fn image_id(&self) -> Option<&str> {
        match self {
            Secret::Jigsaw(s) => s.image_id.as_deref(),
            _ => None,
        }
    }
}

/// A timed pointer sample: x and y in CSS pixels relative to the control, t in milliseconds
/// since the challenge was rendered.
pub type Point = [f64; 3];

/// The input device that produced an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pointer {
    Mouse,
    Touch,
    Pen,
    Keyboard,
}

/// What the widget reports about its environment (examined by the risk layer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    pub webdriver: bool,
    pub lang: String,
    pub screen: Vec<f64>,
    /// `navigator.maxTouchPoints`.
    pub touch: f64,
    /// `navigator.userAgent`.
    #[serde(default)]
    pub ua: String,
    /// `navigator.platform`.
    #[serde(default)]
    pub platform: String,
    /// `navigator.hardwareConcurrency`.
    #[serde(default)]
    pub cores: f64,
    /// `outerWidth`, `outerHeight` (both 0 in old headless browsers).
    #[serde(default)]
    pub outer: Vec<f64>,
    /// The WebGL renderer's name.
    #[serde(default)]
    pub gl: String,
    /// Input events on the widget with `isTrusted` false (dispatched by a script).
    #[serde(default)]
    pub untrusted: f64,
}

/// A client's answer, tagged by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Answer {
    Slider(slider::SliderAnswer),
    OneClick(one_click::OneClickAnswer),
    Jigsaw(picture::PictureAnswer),
    ImageRestoration(picture::PictureAnswer),
    Silent {
        #[serde(default)]
        env: Environment,
    },
}

impl Answer {
    /// The drag a slider or picture answer carries, when made with a pointer (a keyboard
    /// answer's steps are checked by rule, not by the behaviour model).
    pub fn drag(&self) -> Option<&[Point]> {
        let (pointer, points) = match self {
            Answer::Slider(a) => (a.pointer, &a.points),
            Answer::Jigsaw(a) | Answer::ImageRestoration(a) => (a.pointer, &a.points),
            Answer::OneClick(_) | Answer::Silent { .. } => return None,
        };
        (pointer != Pointer::Keyboard).then_some(points.as_slice())
    }

    /// A one-click answer's mouse approach to the box and its click (what the approach
    /// model judges; touch, pen and keyboard answers have none worth judging).
    pub fn approach(&self) -> Option<(&[Point], Point)> {
        match self {
            Answer::OneClick(a) if a.pointer == Pointer::Mouse => Some((&a.points, a.click)),
            _ => None,
        }
    }

    /// Every pointer path the answer carries: the drag, or a one-click answer's approach to
    /// the box (what a replay would copy).
    pub fn path(&self) -> Option<&[Point]> {
        match self {
            Answer::OneClick(a) => Some(a.points.as_slice()),
            _ => self.drag(),
        }
    }

    /// The environment the widget reported with this answer.
    pub fn env(&self) -> &Environment {
        match self {
            Answer::Slider(a) => &a.env,
            Answer::Jigsaw(a) | Answer::ImageRestoration(a) => &a.env,
            Answer::OneClick(a) => &a.env,
            Answer::Silent { env } => env,
        }
    }

    /// When the reported input ended, in ms since the challenge was rendered (the last
    /// sample, or the click); `None` for answers with no input.
    pub fn input_ended_ms(&self) -> Option<f64> {
        match self {
            Answer::Slider(a) => a.points.last().map(|p| p[2]),
            Answer::Jigsaw(a) | Answer::ImageRestoration(a) => a.points.last().map(|p| p[2]),
            Answer::OneClick(a) => Some(a.click[2]),
            Answer::Silent { .. } => None,
        }
    }

    /// The pointer's name (`mouse`, `touch`, `pen`, `keyboard`), for the drag types.
    pub fn pointer(&self) -> Option<&'static str> {
        let pointer = match self {
            Answer::Slider(a) => a.pointer,
            Answer::Jigsaw(a) | Answer::ImageRestoration(a) => a.pointer,
            Answer::OneClick(a) => a.pointer,
            Answer::Silent { .. } => return None,
        };
        Some(match pointer {
            Pointer::Mouse => "mouse",
            Pointer::Touch => "touch",
            Pointer::Pen => "pen",
            Pointer::Keyboard => "keyboard",
        })
    }
}

/// The judgement of one answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// The answer is wrong (F015); the findings say why.
    Wrong(Vec<Finding>),
    /// The answer is malformed or inconsistent with the protocol (F017).
    Anomaly(Vec<Finding>),
    /// The input was produced by a script (F024).
    Scripted(Vec<Finding>),
}

impl Verdict {
    /// The findings behind this verdict (none for a pass).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Verdict::Pass => &[],
            Verdict::Wrong(f) | Verdict::Anomaly(f) | Verdict::Scripted(f) => f,
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Wrong(_) => "wrong",
            Verdict::Anomaly(_) => "anomaly",
            Verdict::Scripted(_) => "scripted",
        }
    }
}

/// The checks every slider-driven answer shares: a plausible track, a well-formed
/// trajectory, and no sign of a script (with `key_steps` describing the keys for keyboard
/// answers). `Err` carries the verdict to return at once.
pub(crate) fn check_drag(
    track_width: f64,
    points: &[Point],
    pointer: Pointer,
    env: &Environment,
    key_steps: &[f64],
) -> Result<(), Verdict> {
    if !(100.0..=4000.0).contains(&track_width) {
        return Err(Verdict::Anomaly(vec![Finding::BadGeometry]));
    }
    risk::well_formed(points, track_width).map_err(|f| Verdict::Anomaly(vec![f]))?;
    let scripted = risk::trajectory_findings(points, pointer, env, (track_width, key_steps));
    if scripted.is_empty() {
        Ok(())
    } else {
        Err(Verdict::Scripted(scripted))
    }
}

/// A type this build cannot serve yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("verification type {0} is not available in this build")]
pub struct Unavailable(pub VerificationType);

/// A custom jigsaw background chosen from a scene's pool: its id (for statistics) and pixels.
pub type PoolImage<'a> = (&'a str, &'a Background);

/// Whether generating `kind` is CPU work worth running off the async threads.
pub fn is_costly(kind: VerificationType) -> bool {
    matches!(
        kind,
        VerificationType::Jigsaw | VerificationType::ImageRestoration
    )
}

/// Make a fresh challenge of `kind` from `seed`; a jigsaw is cut from `pool_image` when the
/// scene's custom pool is active.
pub fn generate(
    kind: VerificationType,
    seed: u64,
    pool_image: Option<PoolImage<'_>>,
) -> Result<(Presentation, Secret), Unavailable> {
    match kind {
        VerificationType::Slider => Ok((Presentation::Slider, Secret::Slider)),
        VerificationType::OneClick => Ok((Presentation::OneClick, Secret::OneClick)),
        VerificationType::Jigsaw => {
            let (p, s) = picture::jigsaw(seed, pool_image);
            Ok((Presentation::Jigsaw(p), Secret::Jigsaw(s)))
        }
        VerificationType::ImageRestoration => {
            let (p, s) = picture::restoration(seed);
            Ok((
                Presentation::ImageRestoration(p),
                Secret::ImageRestoration(s),
            ))
        }
        VerificationType::NoCaptcha => Err(Unavailable(kind)),
    }
}

/// The silent step of No-CAPTCHA.
pub fn silent() -> (Presentation, Secret) {
    (Presentation::Silent, Secret::Silent)
}

/// How far from its place a picture answer was dropped, in picture pixels: `None` for the
/// types without a place, or an answer of another kind.
pub fn miss_px(secret: &Secret, answer: &Answer) -> Option<f64> {
    match (secret, answer) {
        (Secret::Jigsaw(s), Answer::Jigsaw(a))
        | (Secret::ImageRestoration(s), Answer::ImageRestoration(a)) => {
            Some((a.x - f64::from(s.target_x)).abs()).filter(|d| d.is_finite())
        }
        _ => None,
    }
}

/// Judge `answer` against `secret`.
pub fn check(secret: &Secret, answer: &Answer) -> Verdict {
    match (secret, answer) {
        (Secret::Slider, Answer::Slider(a)) => slider::check(a),
        (Secret::OneClick, Answer::OneClick(a)) => one_click::check(a),
        (Secret::Jigsaw(s), Answer::Jigsaw(a)) => picture::check(s, a),
        (Secret::ImageRestoration(s), Answer::ImageRestoration(a)) => picture::check(s, a),
        (Secret::Silent, Answer::Silent { .. }) => Verdict::Pass,
        _ => Verdict::Anomaly(vec![Finding::KindMismatch]),
    }
}
