//! The widget API (`/api/v1/init`, `/api/v1/answer`) and the widget script itself: served
//! to pages with the hour's codebook written in, obfuscated (`http::obfuscate`) and
//! minified, new every hour; readable, with the same codebook, to operators at
//! `/admin/v1/widget/source.js`. The widget endpoints are called cross-origin from
//! integrators' pages.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;

use super::admin::Viewer;
use super::error::{ApiError, ApiJson};
use super::{AppState, Peer, obfuscate};
use crate::codes::VerifyCode;
use crate::cycle::{AnswerInput, AnswerOutput, InitInput, InitOutput};
use crate::risk::dynamic::Codebook;

/// The widget source, embedded at build time; `__STILE_TEXT__` marks where the text table goes.
const WIDGET_SRC: &str = include_str!("../../widget/AliyunCaptcha.js");

/// The built-in texts: 17 languages × 13 keys (strict JSON, also a JS expression).
pub const LANG_JSON: &str = include_str!("../../widget/lang.json");

/// The readable script: the source with its text table filled in
/// (`/admin/v1/widget/source.js`, for operators reading what their pages run).
pub static WIDGET_SOURCE_JS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| WIDGET_SRC.replacen("__STILE_TEXT__", LANG_JSON.trim(), 1));

/// The served scripts made so far, newest last, each with the codebook it carries: one an
/// hour (a few more in a test process that runs several installations).
static SERVED: std::sync::Mutex<Vec<(Codebook, Bytes)>> = std::sync::Mutex::new(Vec::new());
const SERVED_KEPT: usize = 8;

/// The script as served to pages while `book` is current: the readable one with the
/// codebook written in, obfuscated with a seed of that hour, then minified. Made at the
/// first request of each hour (tens of milliseconds, off the async threads). Should either
/// pass fail on it, the step before is served instead and the failure logged.
async fn served(book: Codebook) -> Bytes {
    let cached = |served: &Vec<(Codebook, Bytes)>| {
        served
            .iter()
            .find(|(b, _)| *b == book)
            .map(|(_, s)| s.clone())
    };
    if let Some(s) = cached(&SERVED.lock().unwrap_or_else(|p| p.into_inner())) {
        return s;
    }
    let made = tokio::task::spawn_blocking(move || Bytes::from(make_served(book)))
        .await
        .unwrap_or_else(|_| Bytes::from(with_book(&WIDGET_SOURCE_JS, book)));
    let mut all = SERVED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = cached(&all) {
        return s;
    }
    if all.len() >= SERVED_KEPT {
        all.remove(0);
    }
    all.push((book, made.clone()));
    made
}

/// What [`served`] serves for `book`.
pub fn make_served(book: Codebook) -> String {
    let readable = with_book(&WIDGET_SOURCE_JS, book);
    let obfuscated = obfuscate::obfuscate(&readable, seed_of(book)).unwrap_or_else(|e| {
        tracing::warn!("the widget could not be obfuscated ({e}); serving it minified only");
        readable.clone()
    });
    minify(&obfuscated).unwrap_or_else(|e| {
        tracing::warn!("the widget could not be minified ({e}); serving it as written");
        obfuscated
    })
}

/// The obfuscation's seed for the hour of `book`: from the codebook, so that every node of
/// a cluster serves the same script in the same hour.
fn seed_of(book: Codebook) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"stile-widget-obfuscation")
        .chain_update(book.epoch.to_le_bytes())
        .chain_update(book.mask.to_le_bytes())
        .chain_update(book.codes)
        .finalize();
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
}

/// `source` minified: compressed, local names mangled, whitespace and comments gone.
fn minify(source: &str) -> Result<String, String> {
    use oxc_allocator::Allocator;
    use oxc_codegen::{Codegen, CodegenOptions};
    use oxc_minifier::{Minifier, MinifierOptions};
    use oxc_parser::Parser;
    use oxc_span::SourceType;
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::script()).parse();
    if parsed.panicked || parsed.diagnostics.has_errors() {
        let first = parsed.diagnostics.errors().next().map(ToString::to_string);
        return Err(format!("parse error: {}", first.unwrap_or_default()));
    }
    let mut program = parsed.program;
    let minified = Minifier::new(MinifierOptions::default()).minify(&allocator, &mut program);
    let code = Codegen::new()
        .with_options(CodegenOptions::minify())
        .with_scoping(minified.scoping)
        .build(&program)
        .code;
    Ok(code)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/init", post(init))
        .route("/api/v1/answer", post(answer))
        .route("/widget/AliyunCaptcha.js", get(script))
        .route("/admin/v1/widget/source.js", get(readable_script))
}

/// Where the script holds the current codebook (`risk::dynamic::Codebook`).
const CODEBOOK_MARK: &str = "__STILE_DV__";

/// `script` with `book` written in.
fn with_book(script: &str, book: Codebook) -> String {
    script.replace(CODEBOOK_MARK, &book.to_js())
}

/// The served script's headers: revalidated on every load (`no-cache`, with its `etag`),
/// readable from any origin.
fn script_headers(etag: String) -> [(header::HeaderName, String); 4] {
    [
        (
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8".to_owned(),
        ),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
        (header::ETAG, etag),
    ]
}

/// The served script's entity tag: the hour's codebook and this build's widget, so a page
/// revalidating (`no-cache`) within the hour gets `304 Not Modified` and no body.
fn etag_of(book: Codebook) -> String {
    use sha2::{Digest, Sha256};
    static SOURCE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let d = Sha256::digest(WIDGET_SOURCE_JS.as_bytes());
        d[..6].iter().map(|b| format!("{b:02x}")).collect()
    });
    format!("\"{}-{}-{:016x}\"", book.epoch, *SOURCE, seed_of(book))
}

async fn script(State(state): State<AppState>, headers: HeaderMap) -> axum::response::Response {
    let book = state.cycles.current_codebook();
    let etag = etag_of(book);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (axum::http::StatusCode::NOT_MODIFIED, script_headers(etag)).into_response();
    }
    // The hour's bytes, shared: no copy of the script per request.
    (script_headers(etag), served(book).await).into_response()
}

/// The readable script with the current codebook, for operators (and for clients of their
/// own that sign answers without a browser: the tests, the benchmark).
async fn readable_script(_: Viewer, State(state): State<AppState>) -> impl IntoResponse {
    let book = state.cycles.current_codebook();
    (
        [(
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        )],
        with_book(&WIDGET_SOURCE_JS, book),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitBody {
    scene_id: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    page_url: Option<String>,
    #[serde(default)]
    device_token: Option<String>,
    /// Encryption mode: the backend's `EncryptedSceneId` (F022 when missing or invalid).
    #[serde(default)]
    encrypted_scene_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
    /// The epoch of the codebook the widget was served with.
    #[serde(default)]
    dv_epoch: Option<i64>,
}

async fn init(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<InitBody>,
) -> Result<Json<InitOutput>, ApiError> {
    let page_url = body
        .page_url
        .filter(|u| !u.is_empty())
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if page_url.len() > 4096 || body.prefix.as_ref().is_some_and(|p| p.len() > 64) {
        return Err(ApiError::verify(VerifyCode::F017, "parameter too long"));
    }
    let input = InitInput {
        scene_id: body.scene_id.clone(),
        prefix: body.prefix,
        page_url,
        client_ip: state.client_ip(&headers, peer.0),
        device_token: body.device_token,
        encrypted_scene_id: body.encrypted_scene_id,
        dv_epoch: body.dv_epoch,
    };
    match state.cycles.init(input).await {
        Ok(out) => {
            state
                .metrics
                .verification("init", &out.scene_id, out.kind.as_str(), "ok");
            Ok(Json(out))
        }
        Err(e) => {
            let err = ApiError::from(e);
            if err.status.is_client_error() {
                state.metrics.verification("init", "-", "-", &err.code);
            }
            Err(err)
        }
    }
}

async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<AnswerInput>,
) -> Result<Json<AnswerOutput>, ApiError> {
    body.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(400).collect());
    let out = state.cycles.answer(body).await?;
    let code = match (out.passed, out.code) {
        (true, _) => "pass",
        (false, Some(c)) => c.as_str(),
        (false, None) => "escalated",
    };
    state.metrics.verification("answer", "-", "-", code);
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TEXT_KEYS;

    const LANGUAGES: [&str; 17] = [
        "cn", "tw", "en", "ar", "de", "es", "fr", "in", "it", "ja", "ko", "pt", "ru", "ms", "th",
        "tr", "vi",
    ];

    #[test]
    fn every_built_in_language_has_every_key_translated() {
        let table: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(LANG_JSON).expect("widget/lang.json is strict JSON");
        let mut codes: Vec<&str> = table.keys().map(String::as_str).collect();
        codes.sort_unstable();
        let mut want = LANGUAGES.to_vec();
        want.sort_unstable();
        assert_eq!(codes, want);
        for (code, texts) in &table {
            let texts = texts.as_object().unwrap();
            assert_eq!(
                texts.len(),
                TEXT_KEYS.len(),
                "{code}: extra or missing keys"
            );
            for key in TEXT_KEYS {
                let text = texts.get(key).and_then(|v| v.as_str()).unwrap_or("");
                assert!(!text.trim().is_empty(), "{code}.{key} is empty");
                if code != "en" {
                    assert_ne!(
                        text, table["en"][key],
                        "{code}.{key} is untranslated English"
                    );
                }
            }
        }
    }

    #[test]
    fn the_served_script_carries_the_table() {
        assert!(!WIDGET_SOURCE_JS.contains("__STILE_TEXT__"));
        assert!(WIDGET_SOURCE_JS.contains("\"INPAINTING_TIP\""));
        assert!(WIDGET_SOURCE_JS.contains("اسحب"));
    }

    fn book(epoch: i64) -> Codebook {
        Codebook::derive(&[7; 32], epoch)
    }

    #[test]
    fn the_served_script_is_minified_obfuscated_and_carries_no_protocol_in_clear() {
        let readable = with_book(&WIDGET_SOURCE_JS, book(1_000));
        let served = make_served(book(1_000));
        assert_eq!(WIDGET_SOURCE_JS.matches(CODEBOOK_MARK).count(), 2);
        assert!(!served.contains(CODEBOOK_MARK));
        assert!(
            served.len() < readable.len(),
            "{} of {} bytes",
            served.len(),
            readable.len()
        );
        // Comments, local names, strings and property names are gone: the protocol's
        // words, the public API's name, the texts, the paths.
        assert!(!served.contains("Proof-of-work (server: risk::pow)"));
        for clear in [
            "canonicalWords",
            "dvSign",
            "dvCodes",
            "dvMask",
            "dvEpoch",
            "certifyId",
            "captchaVerifyParam",
            "/api/v1/answer",
            "/api/v1/init",
            "initAliyunCaptcha",
            "INPAINTING_TIP",
            "deviceToken",
            "trackWidth",
            "aliyunCaptcha-window-popup",
            "اسحب",
        ] {
            assert!(!served.contains(clear), "{clear} in clear");
        }
        // The codebook cannot be lifted from the text.
        assert_eq!(Codebook::from_js(&served), None);
        assert!(Codebook::from_js(&readable).is_some());
        // The hashing loop stays as written (one call per property read would slow it).
        assert!(served.contains("charCodeAt"));
    }

    #[test]
    fn the_served_script_changes_every_hour_and_is_the_same_on_every_node() {
        let a = make_served(book(1_000));
        let b = make_served(book(1_001));
        assert_eq!(
            a,
            make_served(book(1_000)),
            "the same hour, the same script"
        );
        // Another hour shares no long stretch of text with this one, beyond the hashing
        // loop left as written.
        let longest_shared = |x: &str, y: &str| {
            let y: std::collections::HashSet<&[u8]> = y.as_bytes().windows(64).collect();
            x.as_bytes().windows(64).filter(|w| y.contains(w)).count()
        };
        let shared = longest_shared(&a, &b);
        assert!(
            shared * 10 < a.len(),
            "{shared} of {} 64-byte windows shared",
            a.len()
        );
    }
}
