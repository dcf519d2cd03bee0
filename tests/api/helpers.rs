//! Typed helpers for the black-box tests: start an app, call its APIs, make human-like drags.

use reqwest::StatusCode;
use serde_json::{Value, json};
use stile::clock::Clock;
use stile::model::VerificationType;
use stile::{Application, Settings, acs3};
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub admin_token: String,
    pub ak_id: String,
    pub ak_secret: String,
    pub tenant_id: String,
    pub prefix: String,
    pub demo: Vec<(VerificationType, String)>,
    pub clock: Clock,
    /// The app's stores, for tests that play a person who can *see* a picture's answer.
    pub stores: stile::store::Stores,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// Codebooks read from the served script, by epoch.
    books: tokio::sync::Mutex<Vec<stile::risk::dynamic::Codebook>>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Start an app on a fresh data directory.
pub async fn spawn() -> TestApp {
    spawn_in(tempfile::tempdir().unwrap(), |_| {}).await
}

/// Start an app on `dir`, after `tweak` adjusts the settings.
pub async fn spawn_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::for_tests(dir.path().to_path_buf());
    tweak(&mut settings);
    let operator_token = settings.bootstrap.admin_token.clone();
    let app = Application::build(settings).await.expect("app builds");
    // On a restart nothing is created; credentials are then the caller's to fill in.
    let first = app
        .first_start()
        .cloned()
        .unwrap_or_else(|| stile::app::FirstStart {
            tenant_id: String::new(),
            prefix: String::new(),
            admin_token: None,
            access_key_id: String::new(),
            access_key_secret: None,
            demo_scenes: Vec::new(),
        });
    let base = app.base_url();
    let clock = app.state().clock.clone();
    let stores = app.state().stores.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base,
        // A token the operator set is not printed at first start: it is theirs already.
        admin_token: first
            .admin_token
            .clone()
            .or(operator_token)
            .unwrap_or_default(),
        ak_id: first.access_key_id.clone(),
        ak_secret: first.access_key_secret.clone().unwrap_or_default(),
        tenant_id: first.tenant_id.clone(),
        prefix: first.prefix.clone(),
        demo: first.demo_scenes.clone(),
        clock,
        stores,
        http: reqwest::Client::new(),
        dir,
        books: tokio::sync::Mutex::new(Vec::new()),
        stop: Some(tx),
        done: Some(done),
    }
}

impl TestApp {
    /// Stop the server and wait for it; returns the data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            d.await.unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn scene(&self, kind: VerificationType) -> String {
        self.demo
            .iter()
            .find(|(k, _)| *k == kind)
            .unwrap()
            .1
            .clone()
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.admin_as(&self.admin_token.clone(), method, path, body)
            .await
    }

    /// A scene's recorded traces, as exported (NDJSON).
    pub async fn traces(&self, scene: &str) -> String {
        self.http
            .get(format!("{}/admin/v1/scenes/{scene}/traces", self.base))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn admin_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let mut out = resp.json().await.unwrap_or(Value::Null);
        if path == "/api/v1/init" && status == StatusCode::OK {
            // Decoding the signing program takes the codebook the served script carries:
            // read it from there, as any client must (see `answer_body`).
            let epoch = out["dvEpoch"].as_i64().unwrap_or(0);
            out["_dvBook"] = json!(self.codebook(epoch).await.to_js());
        }
        (status, out)
    }

    /// The codebook of `epoch`, read from the readable script (`risk::dynamic::Codebook`)
    /// when it is the current one; the scripts read are kept.
    pub async fn codebook(&self, epoch: i64) -> stile::risk::dynamic::Codebook {
        let mut books = self.books.lock().await;
        if let Some(b) = books.iter().find(|b| b.epoch == epoch) {
            return *b;
        }
        // Pages get it inside the obfuscated script; the operator's own clients read it
        // from the readable one (what an attacker who runs the script learns).
        let script = self
            .http
            .get(format!("{}/admin/v1/widget/source.js", self.base))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let book = stile::risk::dynamic::Codebook::from_js(&script).expect("a codebook");
        assert_eq!(book.epoch, epoch, "init used the current codebook");
        books.push(book);
        book
    }

    pub async fn init(&self, scene: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/api/v1/init",
                &json!({"sceneId": scene, "pageUrl": "http://shop.test/p"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "init: {body}");
        body
    }

    /// Let the service's clock pass the time the answer in `body` says its input took
    /// (the server refuses an answer that arrives before its drag could have ended), and a
    /// little more (0.2-2.5 s: the picture arriving, the page's own delays), as a person's
    /// answer would: people's solve times are never as alike as their drags' durations
    /// (`risk::cadence` counts them).
    pub fn live_through(&self, body: &Value) {
        let a = &body["answer"];
        // A one-click answer's input ends with the click, which may come after the last
        // pointer sample (a hover); a drag's with its last sample.
        let last_point = a["points"]
            .as_array()
            .and_then(|p| p.last())
            .and_then(|p| p[2].as_f64());
        let ended = last_point
            .into_iter()
            .chain(a["click"][2].as_f64())
            .fold(0.0, f64::max);
        let delay = rand::random_range(200..2_500);
        self.clock
            .advance_ms(ended.clamp(0.0, 600_000.0) as i64 + delay);
    }

    /// POST an answer body, after living through its input (see [`TestApp::live_through`]).
    pub async fn post_answer(&self, body: &Value) -> (StatusCode, Value) {
        self.live_through(body);
        self.post_json("/api/v1/answer", body).await
    }

    pub async fn answer(&self, init: &Value, attempt: u32, answer: Value) -> Value {
        let body = answer_body(init, attempt, answer);
        let (status, out) = self.post_answer(&body).await;
        assert_eq!(status, StatusCode::OK, "answer: {out}");
        out
    }

    /// Where a picture challenge's part belongs (what a person sees): (target x, part width).
    pub async fn picture_target(&self, certify_id: &str) -> (f64, f64) {
        use stile::challenge::Secret;
        let (cycle, _) = self
            .stores
            .hot
            .cycle(certify_id, self.clock.now_ms())
            .await
            .unwrap()
            .expect("cycle exists");
        match cycle.secret {
            Secret::Jigsaw(s) | Secret::ImageRestoration(s) => {
                (f64::from(s.target_x), f64::from(s.part_w))
            }
            other => panic!("not a picture challenge: {other:?}"),
        }
    }

    /// Init + a person's full drag (a new one each time: the same drag twice is a replay);
    /// the pass token.
    pub async fn pass_token(&self, scene: &str) -> String {
        let init = self.init(scene).await;
        let out = self
            .answer(&init, 1, slider_answer(fresh_seed(), 1.0))
            .await;
        assert_eq!(out["passed"], true, "{out}");
        out["captchaVerifyParam"].as_str().unwrap().to_owned()
    }

    /// Call VerifyIntelligentCaptcha with the bootstrap key; the `Result` object.
    pub async fn server_verify(&self, param: &str, scene: Option<&str>) -> Value {
        let (status, body) = self
            .signed_verify(&self.ak_id.clone(), &self.ak_secret.clone(), param, scene)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["Result"].clone()
    }

    pub async fn signed_verify(
        &self,
        ak: &str,
        secret: &str,
        param: &str,
        scene: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut form = vec![("CaptchaVerifyParam", param)];
        if let Some(s) = scene {
            form.push(("SceneId", s));
        }
        let body = serde_urlencoded::to_string(&form).unwrap();
        let host = self.base.trim_start_matches("http://");
        let date = acs_date(self.clock.now_s());
        let headers = acs3::sign_rpc_form(
            &acs3::RpcCall {
                host,
                action: "VerifyIntelligentCaptcha",
                version: "2023-03-05",
                body: &body,
                date: &date,
                nonce: &stile::ids::nonce(12),
            },
            ak,
            secret,
        );
        let mut req = self.http.post(format!("{}/", self.base)).body(body);
        for (n, v) in headers.iter().filter(|(n, _)| n != "host") {
            req = req.header(n.as_str(), v.as_str());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }
}

pub fn acs_date(unix_s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_s).unwrap();
    t.format(&time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap()
}

/// A person's drag over a 300 px track reaching `reach` of it: Stile's synthetic human
/// (lognormal submovements, corrections, tremor, sampled through a simulated input device), scaled so that it
/// ends exactly at `reach` (a person who lands where they meant to).
pub fn drag_points(seed: u64, reach: f64) -> Vec<[f64; 3]> {
    use rand::SeedableRng;
    use stile::challenge::Pointer;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let target = 300.0 * reach;
    let mut points =
        stile::risk::behaviour::synth::human(&mut rng, target.max(1.0), Pointer::Mouse);
    let last = points.last().map_or(1.0, |p| p[0]).max(1.0);
    for p in &mut points {
        p[0] = ((p[0] * target / last).min(300.0) * 10.0).round() / 10.0;
    }
    points
}

/// The body of an answer to `init`, signed with the cycle's program and with the
/// proof-of-work init asked for solved, as the widget does both.
pub fn answer_body(init: &Value, attempt: u32, answer: Value) -> Value {
    let mut body = json!({"certifyId": init["certifyId"], "nonce": init["nonce"], "attempt": attempt, "answer": answer});
    // Signed with the cycle's program, as the widget signs (an answer that does not parse
    // goes unsigned: the server refuses its body first).
    // The codebook is the one `TestApp::post_json` read from the served script.
    if let (Some(wire), Some(book), Ok(parsed)) = (
        init["dv"].as_array(),
        init["_dvBook"]
            .as_str()
            .and_then(stile::risk::dynamic::Codebook::from_js),
        serde_json::from_value::<stile::challenge::Answer>(body["answer"].clone()),
    ) {
        let wire: Vec<u32> = wire
            .iter()
            .map(|v| v.as_u64().unwrap_or(0) as u32)
            .collect();
        // Read with another hour's codebook it may not even be a program: left unsigned.
        if let Some(program) = stile::risk::dynamic::Program::from_wire(&wire, &book) {
            body["sig"] = json!(program.sign(
                init["certifyId"].as_str().unwrap_or(""),
                init["nonce"].as_str().unwrap_or(""),
                attempt,
                &parsed
            ));
        }
    }
    let bits = init["pow"].as_u64().unwrap_or(0) as u8;
    if bits > 0 {
        let (id, nonce) = (
            init["certifyId"].as_str().unwrap_or(""),
            init["nonce"].as_str().unwrap_or(""),
        );
        body["pow"] = json!(stile::risk::pow::solve(id, nonce, bits).to_string());
    }
    body
}

/// A seed no other call in this process has had (drags from it are new drags), whose full
/// slide passes as a person's ([`passes_as_person`]).
pub fn fresh_seed() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_000_000);
    loop {
        let seed = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if passes_as_person(&drag_points(seed, 1.0)) {
            return seed;
        }
    }
}

/// Whether a synthetic person's mouse drag is taken for a person's by the behaviour model
/// and the path-shape rules. The model flags about 3% of synthetic people by design (its
/// threshold), and a short drag now and then keeps to one pixel row all the way
/// (`ruled-line`: about 0.3% at 70 px); tests that need a person to pass must not depend on
/// which seeds they happen to draw when they run in parallel. These error rates are
/// measured by the trainer and the adversarial suite, not here.
pub fn passes_as_person(points: &[[f64; 3]]) -> bool {
    stile::risk::behaviour::assess(points).is_empty()
        && stile::risk::path_shape_findings(points, stile::challenge::Pointer::Mouse).is_empty()
}

/// A synthetic person's approach to a one-click box and the click, from `seed`.
pub fn approach(seed: u64) -> stile::risk::behaviour::pointing::Approach {
    use rand::SeedableRng;
    stile::risk::behaviour::pointing::person(&mut rand::rngs::StdRng::seed_from_u64(seed))
}

/// A seed whose one-click approach the shipped approach model accepts (it flags about 3%
/// of synthetic people by design).
pub fn fresh_approach_seed() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(2_000_000);
    loop {
        let seed = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let a = approach(seed);
        if stile::risk::behaviour::assess_approach(&a.points, a.click).is_empty() {
            return seed;
        }
    }
}

/// A one-click answer: a person's mouse approach from `seed` and the click.
pub fn one_click_answer(seed: u64) -> Value {
    let a = approach(seed);
    json!({"kind": "one-click", "pointer": "mouse", "points": a.points, "click": a.click,
           "env": {"webdriver": false}})
}

pub fn slider_answer(seed: u64, reach: f64) -> Value {
    json!({"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": drag_points(seed, reach), "env": {"webdriver": false}})
}

/// A human-like drag on a picture challenge that releases the part at picture position `x`
/// (part `part_w` wide, on the 300 px picture, 300 px track).
pub fn picture_answer(kind: &str, seed: u64, x: f64, part_w: f64) -> Value {
    let span = 300.0 - part_w;
    let points = drag_points(seed, x / span);
    let last = points.last().unwrap()[0];
    json!({"kind": kind, "x": last / 300.0 * span, "trackWidth": 300, "pointer": "mouse",
           "points": points, "env": {"webdriver": false}})
}

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut impl rand::Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
