//! The risk engine's pure parts: explainable [`Finding`]s about trajectories and
//! environments (this file), how findings combine into a score and a decision per defence
//! mode ([`score`]), the frequency rules' keys and windows ([`frequency`]), and the
//! adaptive proof-of-work ([`pow`]) and the per-cycle signing programs ([`dynamic`]).
//!
//! Architecture invariant: `risk` knows nothing about HTTP or storage, and never fails
//! because a signal is missing — absent data yields no finding, not an error. The cycle
//! service gathers the signals (counters, device tokens) and hands them in.

pub mod accuracy;
pub mod behaviour;
pub mod cadence;
pub mod dynamic;
pub mod frequency;
pub mod pow;
pub mod resemblance;
pub mod score;

use serde::{Deserialize, Serialize};

use crate::challenge::{Environment, Point, Pointer};

/// Most samples one answer may carry.
pub const MAX_POINTS: usize = 2000;

/// An explainable reason, recorded with the verdict. The kebab-case names are stable: they
/// appear in answers, server verification results and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// Non-finite numbers, too many points, or an empty trajectory.
    Malformed,
    /// Time runs backwards between samples.
    TimeReversed,
    /// Positions outside the control.
    OutOfBounds,
    /// The track geometry reported is impossible.
    BadGeometry,
    /// The answer's kind differs from the challenge's.
    KindMismatch,
    /// The drag did not end at the target.
    NotAtTarget,
    /// The reported position is not where the reported drag ended.
    Inconsistent,
    /// Too few samples for a real pointer.
    Sparse,
    /// Faster than a person can act.
    TooFast,
    /// A pointer path with no vertical wobble at all.
    RuledLine,
    /// Speed constant along the path, as interpolating scripts produce.
    ConstantSpeed,
    /// `navigator.webdriver` is set.
    Webdriver,
    /// A mouse click with no approach movement.
    NoApproach,
    /// An answer that says "keyboard" but moves in a way the widget's keys cannot.
    NotKeyboard,
    /// The client IP is over the scene's hourly or daily verification limit.
    IpLimit,
    /// The device is over the scene's hourly or daily verification limit.
    DeviceLimit,
    /// The client IP starts cycles faster than the scene's init limit (challenge harvesting).
    InitFlood,
    /// The client IP has been handed an unusual number of new device identities this hour:
    /// a client that discards its identity to dodge the per-device limit.
    DeviceChurn,
    /// The client IP has used more than half of its hourly verification limit.
    IpBusy,
    /// The device identity sent was not one this server issued (or was altered).
    ForgedDevice,
    /// The behaviour model rates the drag as machine-made (above the threshold set on
    /// held-out people).
    MotionSuspect,
    /// Input events on the widget that a script dispatched (`isTrusted` false).
    UntrustedEvents,
    /// A headless browser says so (its user agent, or a window with no outer size).
    Headless,
    /// A user agent of a phone or tablet on a device with no touch points.
    MobilePosing,
    /// The GPU is a virtual machine's (or an emulator's).
    VirtualMachine,
    /// The user agent's operating system and `navigator.platform` disagree.
    PlatformMismatch,
    /// The `User-Agent` header differs from the `navigator.userAgent` the widget reported.
    UserAgentMismatch,
    /// This drag's timing and height, sample for sample, were seen before: a captured
    /// drag sent again (scaled or not).
    ReplayedTrajectory,
    /// This movement is near one made in an earlier answer (within a day, any of the
    /// tenant's scenes): a recorded person's movement sent again with jitter, rescaled or
    /// re-paced (`risk::resemblance`).
    ResembledTrajectory,
    /// This source's solve times this hour are too alike for people: a solver pipeline
    /// (`risk::cadence`).
    RegularSolveTime,
    /// This source's answers keep arriving long after what their own clock accounts for:
    /// challenges relayed to solvers elsewhere (`risk::cadence`).
    RelayedSolve,
    /// Most of this source's answers to the scene this hour missed: a solver guessing
    /// among the picture's gaps, its right answers the guesses that landed
    /// (`risk::accuracy`).
    FrequentMisses,
    /// The answer arrived sooner after init than the input it reports took: its times
    /// were made up, not lived through.
    ImpossibleTiming,
}

/// Slack for [`timing_finding`]: what an honest client's clock and the server's may drift
/// apart over a cycle, plus rounding.
const TIMING_SLACK_MS: f64 = 250.0;

/// Whether an answer whose input ended `claimed_ms` after its challenge was rendered can
/// have come `elapsed_ms` after init. The challenge is rendered after init answers, so the
/// claim cannot exceed the time since init (network delays only make it smaller); anything
/// past a small slack is a script that sent its made-up drag without waiting for it.
pub fn timing_finding(claimed_ms: f64, elapsed_ms: i64) -> Option<Finding> {
    let elapsed = elapsed_ms.max(0) as f64;
    (claimed_ms.is_finite() && claimed_ms > elapsed * 1.02 + TIMING_SLACK_MS)
        .then_some(Finding::ImpossibleTiming)
}

/// A fingerprint of a drag that survives scaling it along the track: the sampling
/// intervals and the heights, sample by sample (heights to half a pixel). Two people never
/// produce the same one; a captured drag sent again does. `None` for drags too short to
/// tell (under 12 samples).
pub fn trajectory_fingerprint(points: &[Point]) -> Option<String> {
    use sha2::{Digest, Sha256};
    if points.len() < 12 {
        return None;
    }
    let mut h = Sha256::new();
    for w in points.windows(2) {
        let dt = (w[1][2] - w[0][2]).round() as i64;
        let y = (w[1][1] * 2.0).round() as i64;
        h.update(dt.to_le_bytes());
        h.update(y.to_le_bytes());
    }
    let digest = h.finalize();
    Some(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// Reject trajectories that no widget produces: empty, oversized, non-finite, time running
/// backwards, positions far outside the track.
pub fn well_formed(points: &[Point], track_width: f64) -> Result<(), Finding> {
    if points.is_empty() || points.len() > MAX_POINTS {
        return Err(Finding::Malformed);
    }
    if points.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Finding::Malformed);
    }
    if points.windows(2).any(|w| w[1][2] < w[0][2]) {
        return Err(Finding::TimeReversed);
    }
    if points
        .iter()
        .any(|p| p[0] < -8.0 || p[0] > track_width + 8.0 || p[1].abs() > 2000.0)
    {
        return Err(Finding::OutOfBounds);
    }
    Ok(())
}

/// The environment findings that mark a script outright (decisive, F024): what the
/// challenge checks refuse at once. The others go to the risk engine's score.
pub fn scripted_environment(env: &Environment) -> Vec<Finding> {
    environment_findings(env)
        .into_iter()
        .filter(|f| f.weight() == score::Weight::Decisive(crate::codes::VerifyCode::F024))
        .collect()
}

/// The environment findings that only weigh in (soft, or decisive in Advanced mode).
pub fn weighed_environment(env: &Environment) -> Vec<Finding> {
    environment_findings(env)
        .into_iter()
        .filter(|f| !matches!(f.weight(), score::Weight::Decisive(_)))
        .collect()
}

/// What the environment the widget reports gives away: automation flags and artefacts,
/// script-dispatched input, virtual machines and emulators, desktops posing as phones,
/// fingerprints that contradict themselves. Absent fields (an older widget) say nothing.
pub fn environment_findings(env: &Environment) -> Vec<Finding> {
    let mut out = Vec::new();
    if env.webdriver {
        out.push(Finding::Webdriver);
    }
    if env.untrusted > 0.0 {
        out.push(Finding::UntrustedEvents);
    }
    let ua = env.ua.to_ascii_lowercase();
    if ua.contains("headless")
        || env.outer.iter().take(2).count() == 2 && env.outer.iter().take(2).all(|v| *v == 0.0)
    {
        out.push(Finding::Headless);
    }
    let mobile_ua = ["android", "iphone", "ipad", "ipod", "mobile"]
        .iter()
        .any(|m| ua.contains(m));
    if mobile_ua && env.touch <= 0.0 && !env.ua.is_empty() {
        out.push(Finding::MobilePosing);
    }
    let gl = env.gl.to_ascii_lowercase();
    if [
        "vmware",
        "virtualbox",
        "parallels",
        "qemu",
        "virgl",
        "microsoft basic render",
        "hyper-v",
        "bluestacks",
        "android emulator",
    ]
    .iter()
    .any(|v| gl.contains(v))
    {
        out.push(Finding::VirtualMachine);
    }
    let platform = env.platform.to_ascii_lowercase();
    if !platform.is_empty() && !ua.is_empty() {
        let says = |os: &str| ua.contains(os);
        let contradicts = (says("windows") && !platform.starts_with("win"))
            || (says("macintosh") && !platform.starts_with("mac"))
            || (says("iphone") && !(platform.starts_with("iphone") || platform.starts_with("mac")))
            || (platform.starts_with("win") && !says("windows"))
            || (platform.starts_with("mac")
                && !(says("macintosh") || says("iphone") || says("ipad")));
        if contradicts {
            out.push(Finding::PlatformMismatch);
        }
    }
    out
}

/// A keyboard answer must move the way the widget's keys do: every step one of `steps`
/// (or a jump to either end), along one line, with no two presses closer than a key's
/// auto-repeat. Anything else is a script that labelled its answer "keyboard" to skip the
/// trajectory checks.
pub fn keyboard_findings(points: &[Point], track_width: f64, steps: &[f64]) -> Vec<Finding> {
    const EPS: f64 = 0.15;
    let mut out = Vec::new();
    let duration = points.last().map_or(0.0, |p| p[2]) - points.first().map_or(0.0, |p| p[2]);
    if points.len() < 3 || duration < 300.0 {
        out.push(Finding::TooFast);
    }
    let on_grid = |from: f64, to: f64| {
        let d = (to - from).abs();
        d < EPS
            || to.abs() < EPS
            || (to - track_width).abs() < EPS
            || steps.iter().any(|s| (d - s).abs() < EPS)
    };
    let y0 = points.first().map_or(0.0, |p| p[1]);
    let moved_oddly = points
        .windows(2)
        .any(|w| !on_grid(w[0][0], w[1][0]) || (w[1][1] - y0).abs() > EPS);
    // Two distinct key presses less than 15 ms apart: faster than any auto-repeat.
    let too_quick = points
        .windows(2)
        .skip(1)
        .any(|w| (w[1][0] - w[0][0]).abs() >= EPS && w[1][2] - w[0][2] < 15.0);
    if moved_oddly || too_quick {
        out.push(Finding::NotKeyboard);
    }
    out
}

/// Signs that a drag was synthesised rather than performed.
/// `keys` describes the control for keyboard answers: its track width and the step sizes
/// its keys move by (see [`keyboard_findings`]).
pub fn trajectory_findings(
    points: &[Point],
    pointer: Pointer,
    env: &Environment,
    keys: (f64, &[f64]),
) -> Vec<Finding> {
    let mut out = scripted_environment(env);
    let duration = points.last().map_or(0.0, |p| p[2]) - points.first().map_or(0.0, |p| p[2]);
    if pointer == Pointer::Keyboard {
        // Key presses have no path: their steps and pacing are what can be judged.
        out.extend(keyboard_findings(points, keys.0, keys.1));
        return out;
    }
    if points.len() < 5 {
        out.push(Finding::Sparse);
        return out;
    }
    if duration < 150.0 {
        out.push(Finding::TooFast);
    }
    out.extend(path_shape_findings(points, pointer));
    out
}

/// The shape of a pointer path alone: a mouse that moves along a ruled line, or at one
/// speed all the way. Also judged on a one-click answer's approach to the box.
pub fn path_shape_findings(points: &[Point], pointer: Pointer) -> Vec<Finding> {
    let mut out = Vec::new();
    let ys = points.iter().map(|p| p[1]);
    let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if points.len() >= 10 && hi - lo < 0.01 && pointer == Pointer::Mouse {
        out.push(Finding::RuledLine);
    }
    if constant_speed(points) {
        out.push(Finding::ConstantSpeed);
    }
    out
}

/// Whether a path moves at one speed all the way (within 8%, over at least 8 intervals):
/// a script's interpolation, whatever its direction.
pub fn constant_speed(points: &[Point]) -> bool {
    let speeds: Vec<f64> = points
        .windows(2)
        .filter(|w| w[1][2] > w[0][2])
        .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]) / (w[1][2] - w[0][2]))
        .collect();
    if speeds.len() < 8 {
        return false;
    }
    let mean = speeds.iter().sum::<f64>() / speeds.len() as f64;
    let var = speeds.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / speeds.len() as f64;
    mean > 0.0 && var.sqrt() / mean < 0.08
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const NO_KEYS: (f64, &[f64]) = (300.0, &[]);

    #[test]
    fn an_answer_cannot_arrive_before_its_input_ended() {
        // Input that ended 2.4 s after render: fine 2.4 s or more after init, and within
        // the slack a little before; not 1 s after init.
        assert_eq!(timing_finding(2_400.0, 2_400), None);
        assert_eq!(timing_finding(2_400.0, 60_000), None);
        assert_eq!(timing_finding(2_400.0, 2_200), None, "within the slack");
        assert_eq!(
            timing_finding(2_400.0, 1_000),
            Some(Finding::ImpossibleTiming)
        );
        assert_eq!(timing_finding(2_400.0, -5), Some(Finding::ImpossibleTiming));
        assert_eq!(
            timing_finding(f64::NAN, 0),
            None,
            "malformed input is judged elsewhere"
        );
    }

    /// A seeded human-like drag over `width` px ending at `reach` of it: minimum-jerk
    /// progress, uneven sampling, vertical wobble.
    pub(crate) fn human_drag(seed: u64, width: f64, reach: f64) -> Vec<Point> {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = rng.random_range(30..70);
        let total = rng.random_range(500.0..1400.0);
        let start: f64 = rng.random_range(300.0..900.0);
        let mut t = start;
        let mut pts = Vec::new();
        for i in 0..=n {
            let s = i as f64 / n as f64;
            let p = 10.0 * s.powi(3) - 15.0 * s.powi(4) + 6.0 * s.powi(5);
            let y = 20.0 + 3.0 * (s * 5.0).sin() + rng.random_range(-0.8..0.8);
            pts.push([width * reach * p, y, t.round()]);
            t += total / n as f64 * rng.random_range(0.6..1.4);
        }
        pts
    }

    #[test]
    fn well_formed_catches_each_defect() {
        assert_eq!(well_formed(&[], 300.0), Err(Finding::Malformed));
        assert_eq!(
            well_formed(&[[0.0, 0.0, 5.0], [1.0, 0.0, 4.0]], 300.0),
            Err(Finding::TimeReversed)
        );
        assert_eq!(
            well_formed(&[[400.0, 0.0, 5.0]], 300.0),
            Err(Finding::OutOfBounds)
        );
        assert_eq!(
            well_formed(&[[f64::INFINITY, 0.0, 5.0]], 300.0),
            Err(Finding::Malformed)
        );
        assert!(well_formed(&human_drag(3, 300.0, 1.0), 300.0).is_ok());
    }

    #[test]
    fn findings_for_scripted_drags() {
        let env = Environment::default();
        let line: Vec<Point> = (0..20)
            .map(|i| [i as f64 * 15.0, 10.0, i as f64 * 20.0])
            .collect();
        let f = trajectory_findings(&line, Pointer::Mouse, &env, NO_KEYS);
        assert!(
            f.contains(&Finding::RuledLine) && f.contains(&Finding::ConstantSpeed),
            "{f:?}"
        );
        let quick: Vec<Point> = (0..6)
            .map(|i| [i as f64 * 50.0, i as f64, i as f64 * 10.0])
            .collect();
        assert!(
            trajectory_findings(&quick, Pointer::Mouse, &env, NO_KEYS).contains(&Finding::TooFast)
        );
        let bot = Environment {
            webdriver: true,
            ..Default::default()
        };
        assert!(
            trajectory_findings(&human_drag(1, 300.0, 1.0), Pointer::Mouse, &bot, NO_KEYS)
                .contains(&Finding::Webdriver)
        );
        assert!(
            trajectory_findings(&human_drag(1, 300.0, 1.0), Pointer::Mouse, &env, NO_KEYS)
                .is_empty()
        );
    }

    /// What the widget sends for key presses over a `width` track with step `step`.
    #[test]
    fn a_drag_scaled_along_the_track_keeps_its_fingerprint_and_people_differ() {
        let a = human_drag(1, 300.0, 1.0);
        let scaled: Vec<Point> = a.iter().map(|p| [p[0] * 0.6, p[1], p[2] + 500.0]).collect();
        assert_eq!(trajectory_fingerprint(&a), trajectory_fingerprint(&scaled));
        assert_ne!(
            trajectory_fingerprint(&a),
            trajectory_fingerprint(&human_drag(2, 300.0, 1.0))
        );
        assert_eq!(trajectory_fingerprint(&a[..11]), None);
    }

    #[test]
    fn environments_give_away_automation_emulators_and_posing() {
        let desktop = Environment {
            ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36".into(),
            platform: "Win32".into(),
            outer: vec![1280.0, 800.0],
            gl: "ANGLE (NVIDIA GeForce RTX 3060)".into(),
            ..Default::default()
        };
        assert!(
            environment_findings(&desktop).is_empty(),
            "{:?}",
            environment_findings(&desktop)
        );
        let f = |e: Environment| environment_findings(&e);
        assert!(
            f(Environment {
                untrusted: 3.0,
                ..desktop.clone()
            })
            .contains(&Finding::UntrustedEvents)
        );
        assert!(
            f(Environment {
                ua: desktop.ua.replace("Chrome", "HeadlessChrome"),
                ..desktop.clone()
            })
            .contains(&Finding::Headless)
        );
        assert!(
            f(Environment {
                outer: vec![0.0, 0.0],
                ..desktop.clone()
            })
            .contains(&Finding::Headless)
        );
        assert!(
            f(Environment {
                gl: "VMware SVGA 3D".into(),
                ..desktop.clone()
            })
            .contains(&Finding::VirtualMachine)
        );
        assert!(
            f(Environment {
                platform: "Linux x86_64".into(),
                ..desktop.clone()
            })
            .contains(&Finding::PlatformMismatch)
        );
        let phone_ua = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/156.0 Mobile Safari/537.36";
        let posing = Environment {
            ua: phone_ua.into(),
            platform: "Linux armv81".into(),
            touch: 0.0,
            ..desktop.clone()
        };
        assert_eq!(f(posing.clone()), vec![Finding::MobilePosing]);
        assert!(
            f(Environment {
                touch: 5.0,
                ..posing
            })
            .is_empty(),
            "a real phone"
        );
        // An older widget that reports none of this says nothing.
        assert!(f(Environment::default()).is_empty());
        // Only the outright ones stop a drag at the challenge; the rest are weighed.
        let mixed = Environment {
            untrusted: 1.0,
            gl: "VirtualBox".into(),
            ..desktop
        };
        assert_eq!(scripted_environment(&mixed), vec![Finding::UntrustedEvents]);
        assert_eq!(weighed_environment(&mixed), vec![Finding::VirtualMachine]);
    }

    fn key_presses(width: f64, step: f64, presses: usize, gap_ms: f64) -> Vec<Point> {
        let mut pts = vec![[0.0, 20.0, 900.0]];
        let mut x: f64 = 0.0;
        for i in 0..presses {
            x = (x + step).min(width);
            let t = 900.0 + i as f64 * gap_ms;
            pts.push([(x * 10.0).round() / 10.0, 20.0, t]);
        }
        pts
    }

    #[test]
    fn keyboard_answers_must_move_like_keys() {
        let env = Environment::default();
        let keys: (f64, &[f64]) = (300.0, &[15.0, 60.0]);
        let human = key_presses(300.0, 15.0, 20, 90.0);
        assert!(trajectory_findings(&human, Pointer::Keyboard, &env, keys).is_empty());
        // Held key: auto-repeat at 33 ms is still a person.
        let held = key_presses(300.0, 15.0, 20, 33.0);
        assert!(trajectory_findings(&held, Pointer::Keyboard, &env, keys).is_empty());
        // A mouse-like path labelled "keyboard" to skip the trajectory checks.
        let fake = human_drag(4, 300.0, 1.0);
        assert!(
            trajectory_findings(&fake, Pointer::Keyboard, &env, keys)
                .contains(&Finding::NotKeyboard)
        );
        // Steps the widget never makes, or presses faster than any keyboard.
        let odd = key_presses(300.0, 11.0, 28, 90.0);
        assert!(
            trajectory_findings(&odd, Pointer::Keyboard, &env, keys)
                .contains(&Finding::NotKeyboard)
        );
        let burst = key_presses(300.0, 15.0, 20, 5.0);
        let f = trajectory_findings(&burst, Pointer::Keyboard, &env, keys);
        assert!(
            f.contains(&Finding::NotKeyboard) && f.contains(&Finding::TooFast),
            "{f:?}"
        );
        // Wandering off the line the widget reports.
        let mut wobble = key_presses(300.0, 15.0, 20, 90.0);
        wobble[5][1] += 3.0;
        assert!(
            trajectory_findings(&wobble, Pointer::Keyboard, &env, keys)
                .contains(&Finding::NotKeyboard)
        );
    }
}
