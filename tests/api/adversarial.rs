//! The adversarial suite: attackers against a running Stile over HTTP, with the pass rate
//! of each per verification type and defence mode and its 95% confidence interval.
//!
//! A "pass" is what the attacker wants: a token that the server verification accepts.
//! Attackers play with what a capable one has: the protocol (they read our JavaScript), a
//! person's recorded drags, movement generators, and — for picture types — a perfect image
//! solver (the answer read from the server's own secret, an upper bound on any trained
//! solver), so that the figures measure the behaviour and environment layers alone.
//!
//! - smoke (in CI, small N): `cargo test --test api adversarial::smoke`
//! - full: `cargo test --release --test api adversarial::full -- --ignored --nocapture`
//!   (its latest table is in docs/ADVERSARIAL.md)

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stile::challenge::{Point, Pointer};
use stile::risk::behaviour::pointing::{self, Approach};
use stile::risk::behaviour::synth::{self, Family};

use crate::helpers::{TestApp, spawn};

/// Who attacks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Attacker {
    /// A person's correct answer, captured and sent again as it was; the token verified
    /// twice.
    RawReplay,
    /// A person's captured answer sent in a new cycle, with that cycle's id and nonce.
    Transplant,
    /// A forged token handed to the backend (random, or a real one altered).
    ForgedToken,
    /// Scripted straight-line drags at constant speed (naive automation).
    StraightLine,
    /// A movement generator feeding correct answers.
    Generator(Family),
    /// A person's recorded drags replayed, jittered, into new cycles.
    RecordedReplay,
    /// A person's drag, sent the moment it is made up rather than after the time it
    /// claims to have taken (a script that does not wait).
    Impatient,
    /// Our own image solver (the best of `tests/common/vision.rs`'s detectors for the
    /// type) reading the picture from init, and a person's drag to where it points; after a
    /// miss, the same on the new picture, up to the scene's 5 attempts: picture types only.
    Solver,
    /// A trained solver better than ours: right this percentage of the time, otherwise a
    /// decoy (40 px or more from the place); a person's drag; retrying like [`Solver`].
    ///
    /// [`Solver`]: Attacker::Solver
    Guesser(u8),
    /// A perfect solver (a person's movement to the right place) behind a steady pipeline:
    /// every answer arrives 3 s ± 3% after its challenge was issued.
    SolverService,
    /// Challenges relayed to a farm of solvers elsewhere: a person's movement, sent back
    /// as measured there, 8-30 s after the challenge was issued.
    RelayFarm,
    /// Synthetic people (the false-positive side).
    Person,
}

impl Attacker {
    fn name(self) -> String {
        match self {
            Attacker::RawReplay => "raw replay of a captured answer or token".into(),
            Attacker::Transplant => "captured answer in a new cycle".into(),
            Attacker::ForgedToken => "forged / altered token".into(),
            Attacker::StraightLine => "straight-line drag (naive automation)".into(),
            Attacker::Generator(f) => format!("generator: {}", f.name()),
            Attacker::RecordedReplay => "recorded human movements, jittered".into(),
            Attacker::Impatient => "a person's drag sent without waiting for it".into(),
            Attacker::Solver => "own image solver + a person's drag (retrying)".into(),
            Attacker::Guesser(p) => format!("a solver right {p}% of the time (retrying)"),
            Attacker::SolverService => "solver service, steady pipeline (3 s ± 3%)".into(),
            Attacker::RelayFarm => "relay to a solver farm (8-30 s)".into(),
            Attacker::Person => "synthetic people".into(),
        }
    }
}

/// Wilson score interval for `k` of `n` at 95%.
fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p, z) = (n as f64, k as f64 / n as f64, 1.96f64);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

/// A scene of `kind` in `mode` with limits high enough that only the layers under test act.
async fn scene(app: &TestApp, kind: &str, mode: &str) -> String {
    scene_recording(app, kind, mode, false).await
}

/// A scene as [`scene`] makes it, in recording mode when `record`.
async fn scene_recording(app: &TestApp, kind: &str, mode: &str, record: bool) -> String {
    let limits = json!({"ipPerHour": 0, "ipPerDay": 0, "devicePerHour": 0, "devicePerDay": 0,
                        "initsPerMinute": 0});
    let (s, body) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"name": "attacked", "type": kind, "mode": mode,
                        "policy": {"maxAttempts": 5, "shadow": false, "record": record,
                                   "limits": limits}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Init as a browser that kept its device token.
async fn init(app: &TestApp, scene: &str, device: &mut Option<String>) -> Value {
    let mut body = json!({"sceneId": scene, "pageUrl": "http://shop.test/p"});
    if let Some(d) = device.as_deref() {
        body["deviceToken"] = json!(d);
    }
    let (s, out) = app.post_json("/api/v1/init", &body).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    *device = out["deviceToken"].as_str().map(str::to_owned);
    out
}

/// A person's environment as a stealthy bot reports it too.
fn env() -> Value {
    json!({"webdriver": false, "lang": "en-US", "screen": [1920, 1080], "touch": 0,
           "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
           "platform": "Linux x86_64", "cores": 8, "outer": [1920, 1040], "gl": "ANGLE (Intel)",
           "untrusted": 0})
}

/// What an attacker's hand (or script) does: a drag, or a one-click approach and click.
#[derive(Clone)]
enum Motion {
    Drag(Vec<Point>),
    Click(Approach),
}

/// The answer body for `motion` on the cycle's challenge.
async fn answer_body(app: &TestApp, init: &Value, motion: Motion) -> Value {
    answer_body_at(app, init, 1, motion).await
}

/// [`answer_body`] for the cycle's `attempt`-th answer (`init` holding the challenge it
/// answers).
async fn answer_body_at(app: &TestApp, init: &Value, attempt: u32, motion: Motion) -> Value {
    let kind = init["challenge"]["kind"].as_str().unwrap_or("slider");
    let answer = match motion {
        Motion::Click(a) => {
            json!({"kind": "one-click", "pointer": "mouse", "points": a.points,
                   "click": a.click, "env": env()})
        }
        Motion::Drag(points) if kind == "slider" => {
            json!({"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": points, "env": env()})
        }
        Motion::Drag(points) => {
            let (_, part_w) = app
                .picture_target(init["certifyId"].as_str().unwrap())
                .await;
            let span = 300.0 - part_w;
            // The drag's end decides where the part lands: the solver aimed it at the target.
            let last = points.last().map_or(0.0, |p| p[0]);
            json!({"kind": kind, "x": last / 300.0 * span, "trackWidth": 300, "pointer": "mouse",
                   "points": points, "env": env()})
        }
    };
    // The attacker does the proof-of-work, as it must.
    crate::helpers::answer_body(init, attempt, answer)
}

/// Time kept running forward after jittering each sample by ±2 ms, positions by ±0.5 px
/// (the attacker reads the rules too).
fn jitter(rng: &mut StdRng, src: &[Point]) -> Vec<Point> {
    let mut last_t = f64::MIN;
    src.iter()
        .map(|p| {
            last_t = (p[2] + rng.random_range(-2.0..2.0f64).round()).max(last_t);
            [
                p[0] + rng.random_range(-0.5..0.5),
                p[1] + rng.random_range(-0.5..0.5),
                last_t,
            ]
        })
        .collect()
}

/// How far to drag on this cycle's challenge for a correct answer (track px).
async fn distance(app: &TestApp, init: &Value) -> f64 {
    match init["challenge"]["kind"].as_str() {
        Some("slider") => return 300.0,
        // Not used: an approach comes from anywhere on the page (`pointing`).
        Some("one-click") => return 0.0,
        _ => {}
    }
    let (target, part_w) = app
        .picture_target(init["certifyId"].as_str().unwrap())
        .await;
    target / (300.0 - part_w) * 300.0
}

/// Scales a drag so that it ends exactly at `d` (an attacker with a perfect solver aims),
/// and keeps it on the 300 px track as the widget's handle does.
fn aim(mut points: Vec<Point>, d: f64) -> Vec<Point> {
    let last = points.last().map_or(1.0, |p| p[0]).max(1.0);
    for p in &mut points {
        p[0] = ((p[0] * d / last).clamp(0.0, 300.0) * 10.0).round() / 10.0;
    }
    points
}

/// Where our own eyes put the part on this cycle's picture (picture px): the picture and
/// part decoded from init, the strongest detector measured in `tests/gap_finder.rs` for the
/// type (shading contrast on a jigsaw, the inpainting seam on image restoration).
fn solve_picture(init: &Value) -> f64 {
    use base64::Engine;
    let c = &init["challenge"];
    let bytes = |key: &str| {
        let uri = c[key].as_str().unwrap_or_default();
        let b64 = uri.split_once(',').map_or("", |(_, b)| b);
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("a data URI")
    };
    let case = crate::vision::Case::new(
        &crate::vision::rgb(&bytes("image")),
        &crate::vision::rgba(&bytes("part")),
        c["partY"].as_u64().unwrap_or(0) as u32,
    );
    f64::from(if c["kind"] == "jigsaw" {
        case.shading()
    } else {
        case.seam()
    })
}

/// Sends an answer; the token if the server verification accepts it.
async fn submit(app: &TestApp, body: &Value) -> Option<String> {
    let (s, out) = app.post_answer(body).await;
    if s != StatusCode::OK || out["passed"] != true {
        return None;
    }
    out["captchaVerifyParam"].as_str().map(str::to_owned)
}

async fn verifies(app: &TestApp, token: &str) -> bool {
    let v = app.server_verify(token, None).await;
    v["VerifyResult"] == true
}

/// One attempt by `who` on `scene`; whether it got a token the backend accepts.
async fn attempt(
    app: &TestApp,
    scene: &str,
    who: Attacker,
    rng: &mut StdRng,
    device: &mut Option<String>,
    recorded: &Recorded,
) -> bool {
    let init = init(app, scene, device).await;
    let d = distance(app, &init).await;
    let one_click = init["challenge"]["kind"] == "one-click";
    // A movement of `family` (or a person's, with `None`) aimed at this challenge.
    let made = |rng: &mut StdRng, family: Option<Family>| match (one_click, family) {
        (true, None) => Motion::Click(pointing::person(rng)),
        (true, Some(f)) => Motion::Click(pointing::bot(rng, f)),
        (false, None) => Motion::Drag(aim(synth::human(rng, d, Pointer::Mouse), d)),
        (false, Some(f)) => Motion::Drag(aim(synth::bot(rng, f, d), d)),
    };
    let motion = match who {
        Attacker::Person => made(rng, None),
        Attacker::SolverService | Attacker::RelayFarm => {
            let body = answer_body(app, &init, made(rng, None)).await;
            let ended = body["answer"]["click"][2]
                .as_f64()
                .or_else(|| body["answer"]["points"].as_array()?.last()?[2].as_f64())
                .unwrap_or(0.0) as i64;
            let after = if who == Attacker::SolverService {
                // The pipeline cannot answer before the movement it plays has ended.
                ((3_000.0 * (1.0 + 0.03 * crate::helpers::normal(rng))) as i64).max(ended + 50)
            } else {
                ended + rng.random_range(8_000..30_000)
            };
            app.clock.advance_ms(after);
            let (s, out) = app.post_json("/api/v1/answer", &body).await;
            return match out["captchaVerifyParam"].as_str() {
                Some(t) if s == StatusCode::OK && out["passed"] == true => verifies(app, t).await,
                _ => false,
            };
        }
        Attacker::Solver | Attacker::Guesser(_) => {
            // As an attacker would: after a miss, the new picture the cycle offers, up to
            // the scene's attempts.
            let mut seen = init.clone();
            for attempt in 1..=5 {
                let part_w = seen["challenge"]["partW"].as_f64().unwrap_or(60.0);
                let guess = match who {
                    Attacker::Guesser(p) => {
                        let id = seen["certifyId"].as_str().unwrap_or_default();
                        let (target, _) = app.picture_target(id).await;
                        let span = 300.0 - part_w;
                        if rng.random_range(0..100) < p {
                            target
                        } else {
                            std::iter::repeat_with(|| rng.random_range(0.0..span))
                                .find(|x| (x - target).abs() >= 40.0)
                                .unwrap_or(0.0)
                        }
                    }
                    _ => solve_picture(&seen),
                };
                let d = guess / (300.0 - part_w) * 300.0;
                let motion = Motion::Drag(aim(synth::human(rng, d, Pointer::Mouse), d));
                let body = answer_body_at(app, &seen, attempt, motion).await;
                let (_, out) = app.post_answer(&body).await;
                if out["passed"] == true {
                    let token = out["captchaVerifyParam"].as_str().unwrap_or_default();
                    return verifies(app, token).await;
                }
                if out["retry"] != true || !out["challenge"].is_object() {
                    return false;
                }
                seen["challenge"] = out["challenge"].clone();
            }
            return false;
        }
        Attacker::StraightLine => made(rng, Some(Family::Linear)),
        Attacker::Generator(f) => made(rng, Some(f)),
        Attacker::RecordedReplay => {
            // Jittered in space and time; a drag aimed at this challenge, an approach as it
            // was (the box is where it was).
            let i = rng.random_range(0..recorded.drags.len());
            if one_click {
                let src = &recorded.approaches[i];
                let mut points = src.points.clone();
                points.push(src.click);
                let mut points = jitter(rng, &points);
                let click = points.pop().unwrap();
                Motion::Click(Approach { points, click })
            } else {
                Motion::Drag(aim(jitter(rng, &recorded.drags[i]), d))
            }
        }
        Attacker::Impatient => {
            let body = answer_body(app, &init, made(rng, None)).await;
            let (s, out) = app.post_json("/api/v1/answer", &body).await;
            return match out["captchaVerifyParam"].as_str() {
                Some(t) if s == StatusCode::OK => verifies(app, t).await,
                _ => false,
            };
        }
        Attacker::RawReplay => {
            // Capture a person's passing answer, then send it again, verbatim.
            let body = answer_body(app, &init, made(rng, None)).await;
            let first = submit(app, &body).await;
            let again = submit(app, &body).await;
            // The token itself, verified twice: only the first may count.
            let twice = match &first {
                Some(t) => verifies(app, t).await && verifies(app, t).await,
                None => false,
            };
            return again.is_some() || twice;
        }
        Attacker::Transplant => {
            // A person's movement, captured once and reused in every cycle.
            if one_click {
                Motion::Click(recorded.approaches[0].clone())
            } else {
                Motion::Drag(aim(recorded.drags[0].clone(), d))
            }
        }
        Attacker::ForgedToken => {
            // A genuine token, used once; then copies with one character of the sealed part
            // changed, and a random one of the same length.
            let body = answer_body(app, &init, made(rng, None)).await;
            let Some(real) = submit(app, &body).await else {
                return false;
            };
            verifies(app, &real).await;
            let mut forged = Vec::new();
            for _ in 0..3 {
                let mut bytes = real.clone().into_bytes();
                let i = rng.random_range(bytes.len() / 2..bytes.len() - 4);
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                forged.push(String::from_utf8(bytes).unwrap());
            }
            forged.push(
                (0..real.len())
                    .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
                    .collect(),
            );
            for f in &forged {
                if verifies(app, f).await {
                    return true;
                }
            }
            return false;
        }
    };
    let body = answer_body(app, &init, motion).await;
    match submit(app, &body).await {
        Some(t) => verifies(app, &t).await,
        None => false,
    }
}

/// What the attacker recorded of real people (here: synthetic ones) to replay: full slides,
/// and approaches to a one-click box.
struct Recorded {
    drags: Vec<Vec<Point>>,
    approaches: Vec<Approach>,
}

/// Where the transplanting attacker got its movements: a person's genuine answers (the
/// first drag and the first reach recorded), which passed once before the attacker
/// captured them. Without this the table would count that person's own first answer as
/// the attacker's pass.
async fn capture(app: &TestApp, recorded: &Recorded) {
    for (kind, motion) in [
        (
            "slider",
            Motion::Drag(aim(recorded.drags[0].clone(), 300.0)),
        ),
        ("one-click", Motion::Click(recorded.approaches[0].clone())),
    ] {
        let id = scene(app, kind, "basic").await;
        let init = init(app, &id, &mut None).await;
        let body = answer_body(app, &init, motion).await;
        let token = submit(app, &body).await;
        assert!(token.is_some(), "the person's own {kind} answer passes");
    }
}

/// Runs every attacker `n` times per type and mode; prints the table; returns
/// (attacker, type, mode, passes, n) rows.
async fn run(
    n: usize,
    kinds: &[&'static str],
) -> Vec<(Attacker, &'static str, &'static str, usize, usize)> {
    let app = spawn().await;
    let mut rng = StdRng::seed_from_u64(0xA77AC);
    // What the attacker recorded of real people (here: synthetic ones) to replay.
    let recorded = Recorded {
        drags: (0..50)
            .map(|_| synth::human(&mut rng, 300.0, Pointer::Mouse))
            .collect(),
        approaches: (0..50).map(|_| pointing::person(&mut rng)).collect(),
    };
    let attackers = [
        Attacker::RawReplay,
        Attacker::Transplant,
        Attacker::ForgedToken,
        Attacker::StraightLine,
        Attacker::Generator(Family::Eased),
        Attacker::Generator(Family::Bezier),
        Attacker::Generator(Family::Physics),
        Attacker::Generator(Family::MinimumJerk),
        Attacker::RecordedReplay,
        Attacker::Impatient,
        Attacker::Solver,
        Attacker::SolverService,
        Attacker::RelayFarm,
        Attacker::Person,
    ];
    capture(&app, &recorded).await;
    let mut rows = Vec::new();
    println!("| attacker | type | mode | passed | rate | 95% CI |");
    println!("|---|---|---|---:|---:|---|");
    for &kind in kinds {
        for mode in ["basic", "advanced"] {
            for who in attackers {
                if who == Attacker::Solver && !["jigsaw", "image-restoration"].contains(&kind) {
                    continue;
                }
                // Each row answers a scene of its own (this type and mode): the patterns
                // judged over a source's answers (`risk::cadence`, `risk::accuracy`) are
                // counted per scene, and every row comes from this one IP, so otherwise one
                // attacker's record would judge the next (and the people). Movements are
                // remembered across the tenant's scenes, as in production.
                let id = scene(&app, kind, mode).await;
                // A bot that keeps its device token, like a browser would.
                let mut device = None;
                let mut k = 0;
                for _ in 0..n {
                    k += usize::from(
                        attempt(&app, &id, who, &mut rng, &mut device, &recorded).await,
                    );
                }
                let (lo, hi) = wilson(k, n);
                println!(
                    "| {} | {kind} | {mode} | {k}/{n} | {:.1}% | {:.1}–{:.1}% |",
                    who.name(),
                    100.0 * k as f64 / n as f64,
                    lo * 100.0,
                    hi * 100.0
                );
                rows.push((who, kind, mode, k, n));
            }
        }
    }
    rows
}

/// How a volume attacker shows itself on each attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Disguise {
    /// One IP, one device token kept like a browser keeps it.
    OneDevice,
    /// One IP, no device token (a new identity every time).
    NewIdentities,
    /// One IP, a random `X-Forwarded-For` on every request (no proxy is trusted).
    SpoofedForwardedFor,
    /// A different IP every time, behind a proxy the server trusts (a botnet or residential
    /// proxies), no device token.
    Botnet,
}

impl Disguise {
    fn name(self) -> &'static str {
        match self {
            Disguise::OneDevice => "one IP, one device",
            Disguise::NewIdentities => "one IP, a new device identity each time",
            Disguise::SpoofedForwardedFor => "one IP, a spoofed X-Forwarded-For each time",
            Disguise::Botnet => "a new IP each time (botnet)",
        }
    }
}

/// What a volume run got: tokens, refusals by code, the proof-of-work asked and paid.
#[derive(Default)]
struct Volume {
    tokens: usize,
    refused: std::collections::BTreeMap<String, usize>,
    bits: Vec<u8>,
    hashes: u64,
}

/// `n` attempts within one minute (of the service's clock, whatever the attacker's hashing
/// takes) against a slider scene with the default limits but `per_minute` inits per IP,
/// each a synthetic person's perfect drag (so that only the volume layers act); the
/// attacker does the proof-of-work.
async fn volume(
    app: &TestApp,
    mode: &str,
    who: Disguise,
    (n, per_minute): (usize, u32),
    rng: &mut StdRng,
) -> Volume {
    let (s, body) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"name": "flooded", "type": "slider", "mode": mode,
                        "policy": {"maxAttempts": 5, "shadow": false,
                                   "limits": {"initsPerMinute": per_minute}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let scene = body["id"].as_str().unwrap().to_owned();
    let mut out = Volume::default();
    let mut device: Option<String> = None;
    // The run's minute: the next one on the service's clock, held there attempt by attempt.
    let minute = (app.clock.now_ms() / 60_000 + 1) * 60_000;
    let at = |ms: i64| app.clock.advance_ms(ms - app.clock.now_ms());
    for i in 0..n {
        let start = minute + 1_000 + (i as i64 * 50_000 / n as i64);
        at(start);
        let forwarded = match who {
            Disguise::SpoofedForwardedFor => {
                Some(format!("198.51.100.{}", rng.random_range(1..255)))
            }
            Disguise::Botnet => Some(format!(
                "10.{}.{}.{}",
                i / 65_536 % 256,
                i / 256 % 256,
                i % 256
            )),
            _ => None,
        };
        let post = |path: &str, body: &Value| {
            let mut req = app.http.post(format!("{}{path}", app.base)).json(body);
            if let Some(ip) = &forwarded {
                req = req.header("x-forwarded-for", ip);
            }
            req.send()
        };
        let mut init_body = json!({"sceneId": scene, "pageUrl": "http://shop.test/p"});
        if who == Disguise::OneDevice
            && let Some(d) = &device
        {
            init_body["deviceToken"] = json!(d);
        }
        let resp = post("/api/v1/init", &init_body).await.unwrap();
        let mut init: Value = resp.json().await.unwrap();
        if let Some(epoch) = init["dvEpoch"].as_i64() {
            // The codebook, read from the served script as the widget's readers do.
            init["_dvBook"] = json!(app.codebook(epoch).await.to_js());
        }
        let Some(certify) = init["certifyId"].as_str() else {
            *out.refused
                .entry(init["code"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
            continue;
        };
        device = init["deviceToken"].as_str().map(str::to_owned);
        let bits = init["pow"].as_u64().unwrap_or(0) as u8;
        out.bits.push(bits);
        let d = distance(app, &init).await;
        let body = answer_body(
            app,
            &init,
            Motion::Drag(aim(synth::human(rng, d, Pointer::Mouse), d)),
        )
        .await;
        if bits > 0 {
            let counter: u64 = body["pow"].as_str().unwrap().parse().unwrap();
            out.hashes += counter + 1;
        }
        let _ = certify;
        app.live_through(&body);
        let answered: Value = post("/api/v1/answer", &body)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match answered["captchaVerifyParam"].as_str() {
            Some(t) if verifies(app, t).await => out.tokens += 1,
            _ => {
                let code = answered["code"].as_str().unwrap_or("?").to_owned();
                *out.refused.entry(code).or_default() += 1;
            }
        }
    }
    out
}

/// Every volume attacker in both modes, `n` attempts each; prints the table.
async fn run_volume(n: usize, per_minute: u32) -> Vec<(Disguise, &'static str, Volume)> {
    let direct = spawn().await;
    let proxied = crate::helpers::spawn_in(tempfile::tempdir().unwrap(), |s| {
        s.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let mut rng = StdRng::seed_from_u64(0xF100D);
    let mut rows = Vec::new();
    println!(
        "| attacker ({n} attempts in one minute; {per_minute} inits per IP per minute allowed) | mode | tokens | refused | proof-of-work bits | hashes per token |"
    );
    println!("|---|---|---:|---|---|---:|");
    for who in [
        Disguise::OneDevice,
        Disguise::NewIdentities,
        Disguise::SpoofedForwardedFor,
        Disguise::Botnet,
    ] {
        for mode in ["basic", "advanced"] {
            let app = if who == Disguise::Botnet {
                &proxied
            } else {
                &direct
            };
            let v = volume(app, mode, who, (n, per_minute), &mut rng).await;
            let refused = if v.refused.is_empty() {
                "—".to_owned()
            } else {
                v.refused
                    .iter()
                    .map(|(c, k)| format!("{c} ×{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (lo, hi) = (
                v.bits.iter().min().copied().unwrap_or(0),
                v.bits.iter().max().copied().unwrap_or(0),
            );
            println!(
                "| {} | {mode} | {}/{n} | {refused} | {lo}–{hi} | {} |",
                who.name(),
                v.tokens,
                v.hashes / v.tokens.max(1) as u64
            );
            rows.push((who, mode, v));
        }
    }
    rows
}

/// Headless Chromium driven by attack scripts (`tests/browser/attack.mjs`: as it comes, with
/// its automation flags patched away, and patched with an eased, jittered drag) against a
/// slider scene in each mode, `n` attempts each; (attacker, mode, passes, n) rows. Empty
/// when Chromium is not installed (said so; an error under `STILE_REQUIRE_EXTERNAL`).
async fn run_browser(n: usize) -> Vec<(String, &'static str, usize, usize)> {
    run_browser_of(n, &["basic", "advanced"], "").await
}

/// [`run_browser`] in `modes`, with only the attackers named in `only` (comma-separated;
/// empty: all).
async fn run_browser_of(
    n: usize,
    modes: &[&'static str],
    only: &str,
) -> Vec<(String, &'static str, usize, usize)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !crate::external::browser_ready(root) {
        return Vec::new();
    }
    let app = spawn().await;
    let shots = root.join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut rows = Vec::new();
    println!("| attacker | type | mode | passed | rate | 95% CI | what stopped it |");
    println!("|---|---|---|---:|---:|---|---|");
    for &mode in modes {
        // Recorded, so that how the model saw the drags can be looked at afterwards:
        // `train-behaviour -- --explain target/adversarial/browser-<who>-<mode>.jsonl`.
        let id = scene_recording(&app, "slider", mode, true).await;
        let out = tokio::process::Command::new("node")
            .env("STILE_ATTACKERS", only)
            .arg(root.join("tests/browser/attack.mjs"))
            .args([&app.base, &id, &n.to_string(), &shots.display().to_string()])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "attack.mjs: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in stdout.lines().filter(|l| l.starts_with('{')) {
            let v: Value = serde_json::from_str(line).unwrap();
            let (who, k) = (
                v["attacker"].as_str().unwrap().to_owned(),
                v["passed"].as_u64().unwrap() as usize,
            );
            let (lo, hi) = wilson(k, n);
            println!(
                "| headless Chromium: {who} | slider | {mode} | {k}/{n} | {:.1}% | {:.1}–{:.1}% | {} |",
                100.0 * k as f64 / n as f64,
                lo * 100.0,
                hi * 100.0,
                v["codes"]
            );
            rows.push((who, mode, k, n));
        }
        let dir = root.join("target/adversarial");
        std::fs::create_dir_all(&dir).unwrap();
        let who = if only.is_empty() { "all" } else { only };
        let file = dir.join(format!("browser-{who}-{mode}.jsonl"));
        std::fs::write(file, app.traces(&id).await).unwrap();
    }
    rows
}

#[tokio::test]
async fn browser_smoke() {
    // A real headless browser, as naive and as patched attack scripts drive it: straight
    // drags never pass; eased ones, through the browser's automation pipeline, pass
    // Advanced about one time in a hundred at most (the full figure is
    // `browser_eased_advanced`), so two of three would mean the model no longer knows
    // such drags.
    for (who, mode, k, n) in run_browser(3).await {
        if who != "stealth-eased" {
            assert_eq!(k, 0, "{who} on slider/{mode}: {k} of {n} passed");
        } else if mode == "advanced" {
            assert!(k <= 1, "{who} on slider/{mode}: {k} of {n} passed");
        }
    }
}

#[tokio::test]
async fn smoke() {
    // Image restoration is left to the full run: in a debug build its pictures are slow.
    let rows = run(12, &["slider", "jigsaw", "one-click"]).await;
    for (who, kind, mode, k, n) in rows {
        match who {
            Attacker::RawReplay
            | Attacker::ForgedToken
            | Attacker::StraightLine
            | Attacker::Impatient => {
                assert_eq!(k, 0, "{} on {kind}/{mode}: {k} of {n} passed", who.name())
            }
            Attacker::Person if mode == "basic" => {
                assert!(
                    k * 100 >= n * 80,
                    "people on {kind}/basic: only {k} of {n} passed"
                )
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn volume_smoke() {
    // 26 attempts in a minute against 20 allowed per IP: the limit holds whatever the
    // disguise, unless the addresses really differ; the proof-of-work rises as it nears.
    for (who, mode, v) in run_volume(26, 20).await {
        let (lo, hi) = (
            v.bits.iter().min().copied().unwrap_or(0),
            v.bits.iter().max().copied().unwrap_or(0),
        );
        if who == Disguise::Botnet {
            assert!(
                v.tokens >= 24,
                "{mode}: every address is new ({} tokens)",
                v.tokens
            );
            assert_eq!(hi, lo, "{mode}: nothing singles one address out");
        } else {
            assert!(v.tokens <= 20, "{} {mode}: {} tokens", who.name(), v.tokens);
            assert_eq!(v.refused.get("F010"), Some(&6), "{} {mode}", who.name());
            assert!(hi >= lo + 6, "{} {mode}: bits {lo}–{hi}", who.name());
        }
    }
}

#[tokio::test]
#[ignore = "the full run (minutes); its table goes in docs/ADVERSARIAL.md"]
async fn full() {
    run(200, &["slider", "jigsaw", "image-restoration", "one-click"]).await;
    println!();
    run_volume(1000, 120).await;
    println!();
    run_browser(25).await;
}

/// Our own image solver against jigsaw in Advanced, started at four phases of the hour:
/// what passes depends on where its luck falls against the hourly windows, so one run's
/// row is one draw (docs/ADVERSARIAL.md gives these beside the table).
#[tokio::test]
#[ignore = "minutes; its figures go in docs/ADVERSARIAL.md"]
async fn solver_phases() {
    println!(
        "| attacker | start (minutes past a window) | lasted (minutes) | passed | rate | 95% CI |"
    );
    println!("|---|---|---:|---:|---:|---|");
    for who in [
        Attacker::Solver,
        Attacker::Guesser(50),
        Attacker::Guesser(60),
        Attacker::Guesser(70),
    ] {
        for quarter in 0..4 {
            phase(who, quarter).await;
        }
    }
}

/// One row of [`solver_phases`]: `who`, 200 cycles from `quarter` quarters of an hour past
/// a window's start, on an installation of its own.
async fn phase(who: Attacker, quarter: i64) {
    let app = spawn().await;
    let now = app.clock.now_ms();
    let hour = 3_600_000;
    app.clock
        .advance_ms((now / hour + 1) * hour + quarter * 15 * 60_000 - now);
    let mut rng = StdRng::seed_from_u64(0x50_1BE5 + quarter as u64);
    let recorded = Recorded {
        drags: Vec::new(),
        approaches: Vec::new(),
    };
    let id = scene(&app, "jigsaw", "advanced").await;
    let started = app.clock.now_ms();
    let mut device = None;
    let n = 200;
    let mut k = 0;
    for _ in 0..n {
        k += usize::from(attempt(&app, &id, who, &mut rng, &mut device, &recorded).await);
    }
    let (lo, hi) = wilson(k, n);
    println!(
        "| {} | {} | {} | {k}/{n} | {:.1}% | {:.1}–{:.1}% |",
        who.name(),
        quarter * 15,
        (app.clock.now_ms() - started) / 60_000,
        100.0 * k as f64 / n as f64,
        lo * 100.0,
        hi * 100.0
    );
}

/// The one browser attacker near the goal, with enough attempts to say where it is: the
/// stealth browser with eased drags against Advanced.
#[tokio::test]
#[ignore = "minutes; its figure goes in docs/ADVERSARIAL.md"]
async fn browser_eased_advanced() {
    run_browser_of(100, &["advanced"], "stealth-eased").await;
}

#[test]
fn wilson_interval_matches_known_values() {
    let (lo, hi) = wilson(0, 100);
    assert!(lo == 0.0 && (hi - 0.037).abs() < 0.002, "{hi}");
    let (lo, hi) = wilson(50, 100);
    assert!((lo - 0.404).abs() < 0.002 && (hi - 0.596).abs() < 0.002);
}
