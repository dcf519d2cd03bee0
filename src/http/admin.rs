//! The admin API under `/admin/v1`: tenants, access keys, scenes, admin tokens, token-key
//! rotation, and the OpenAPI document. Bearer-token auth; `admin` may write, `viewer` may
//! only read. No CORS: the admin API is not for other origins.

use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson};
use crate::codes::VerifyCode;
use crate::crypto::token_hash;
use crate::ids;
use crate::imaging::{Background, UploadError};
use crate::model::{
    AccessKey, AdminToken, POOL_MAXIMUM, POOL_MINIMUM, POOL_RECOMMENDED, Role, Scene, SceneImage,
    ScenePatch, SceneSpec, Tenant, ValidationError,
};

/// The OpenAPI document of every HTTP API the binary serves.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/openapi.json", get(openapi))
        .route("/admin/v1/codes", get(codes))
        .route("/admin/v1/tenants", get(list_tenants).post(create_tenant))
        .route(
            "/admin/v1/tenants/{id}",
            get(get_tenant).patch(patch_tenant).delete(delete_tenant),
        )
        .route(
            "/admin/v1/tenants/{id}/ekey",
            get(get_ekey).post(rotate_ekey),
        )
        .route(
            "/admin/v1/tenants/{id}/access-keys",
            get(list_keys).post(create_key),
        )
        .route(
            "/admin/v1/access-keys/{id}",
            get(get_key).patch(patch_key).delete(delete_key),
        )
        .route("/admin/v1/scenes", get(list_scenes).post(create_scene))
        .route(
            "/admin/v1/scenes/{id}",
            get(get_scene).patch(patch_scene).delete(delete_scene),
        )
        .route(
            "/admin/v1/scenes/{id}/images",
            get(list_images).post(upload_image),
        )
        .route(
            "/admin/v1/scenes/{id}/traces",
            get(export_traces).delete(delete_traces),
        )
        .route(
            "/admin/v1/scenes/{id}/images/{image_id}",
            axum::routing::delete(delete_image),
        )
        .route("/admin/v1/admin-tokens", post(create_admin_token))
        .route("/admin/v1/token-keys/rotate", post(rotate_token_key))
}

/// A caller holding any valid admin token.
pub struct Viewer(pub Role);

/// A caller holding an admin token with the `admin` role.
pub struct Admin;

impl<S> FromRequestParts<S> for Viewer
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(unauthorized)?;
        let found = state.stores.config.admin_token(&token_hash(token)).await?;
        found.map(|t| Viewer(t.role)).ok_or_else(unauthorized)
    }
}

impl<S> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Viewer::from_request_parts(parts, state).await?.0 {
            Role::Admin => Ok(Admin),
            Role::Viewer => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "this token may only read",
            )),
        }
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "a valid admin bearer token is required",
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn codes(_: Viewer) -> Json<Value> {
    let list: Vec<Value> = VerifyCode::ALL
        .iter()
        .map(|c| json!({"code": c.as_str(), "passed": c.passed(), "meaning": c.meaning()}))
        .collect();
    Json(json!({ "codes": list }))
}

// ---- tenants ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantBody {
    name: Option<String>,
    prefix: Option<String>,
    qps_quota: Option<u32>,
    critical_share: Option<u8>,
}

fn check_prefix(p: &str) -> Result<(), ValidationError> {
    if !(3..=32).contains(&p.len())
        || !p
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(ValidationError::new(
            "prefix",
            "must be 3 to 32 lowercase letters or digits",
        ));
    }
    Ok(())
}

async fn list_tenants(State(st): State<AppState>, _: Viewer) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "tenants": st.stores.config.tenants().await? }),
    ))
}

async fn create_tenant(
    State(st): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let name = body
        .name
        .ok_or_else(|| ValidationError::new("name", "is required"))?;
    Tenant::check_name(&name)?;
    let prefix = body.prefix.unwrap_or_else(ids::prefix);
    check_prefix(&prefix)?;
    let qps_quota = body.qps_quota.unwrap_or(1000);
    Tenant::check_quota(qps_quota)?;
    let critical_share = body
        .critical_share
        .unwrap_or(crate::model::DEFAULT_CRITICAL_SHARE);
    Tenant::check_critical_share(critical_share)?;
    let tenant = Tenant {
        id: ids::tenant_id(),
        name,
        prefix,
        qps_quota,
        critical_share,
        created_at: st.clock.now_s(),
    };
    st.stores.config.insert_tenant(&tenant).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

async fn load_tenant(st: &AppState, id: &str) -> Result<Tenant, ApiError> {
    st.stores
        .config
        .tenant(id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

async fn get_tenant(
    State(st): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(load_tenant(&st, &id).await?))
}

async fn patch_tenant(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<Json<Tenant>, ApiError> {
    let mut tenant = load_tenant(&st, &id).await?;
    if let Some(name) = body.name {
        Tenant::check_name(&name)?;
        tenant.name = name;
    }
    if let Some(prefix) = body.prefix {
        check_prefix(&prefix)?;
        tenant.prefix = prefix;
    }
    if let Some(q) = body.qps_quota {
        Tenant::check_quota(q)?;
        tenant.qps_quota = q;
    }
    if let Some(share) = body.critical_share {
        Tenant::check_critical_share(share)?;
        tenant.critical_share = share;
    }
    if !st.stores.config.update_tenant(&tenant).await? {
        return Err(ApiError::not_found("tenant"));
    }
    Ok(Json(tenant))
}

async fn delete_tenant(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if st.stores.config.delete_tenant(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("tenant"))
    }
}

// ---- access keys ----

fn key_json(k: &AccessKey) -> Value {
    json!({
        "id": k.id,
        "tenantId": k.tenant_id,
        "enabled": k.enabled,
        "description": k.description,
        "createdAt": k.created_at,
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyBody {
    description: Option<String>,
    enabled: Option<bool>,
}

fn check_description(d: &str) -> Result<(), ValidationError> {
    if d.chars().count() > 128 {
        return Err(ValidationError::new(
            "description",
            "is at most 128 characters",
        ));
    }
    Ok(())
}

async fn list_keys(
    State(st): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    load_tenant(&st, &id).await?;
    let keys: Vec<Value> = st
        .stores
        .config
        .access_keys(&id)
        .await?
        .iter()
        .map(key_json)
        .collect();
    Ok(Json(json!({ "accessKeys": keys })))
}

async fn create_key(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    load_tenant(&st, &id).await?;
    let body: KeyBody = if raw.iter().all(u8::is_ascii_whitespace) {
        KeyBody::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| ApiError::invalid(e.to_string()))?
    };
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    let key_id = ids::access_key_id();
    let secret = ids::access_key_secret();
    let key = AccessKey {
        sealed_secret: st
            .master
            .seal(&format!("access-key:{key_id}"), secret.as_bytes()),
        id: key_id,
        tenant_id: id,
        enabled: body.enabled.unwrap_or(true),
        description,
        created_at: st.clock.now_s(),
    };
    st.stores.config.put_access_key(&key).await?;
    let mut out = key_json(&key);
    out["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(out)))
}

async fn load_key(st: &AppState, id: &str) -> Result<AccessKey, ApiError> {
    st.stores
        .config
        .access_key(id)
        .await?
        .ok_or_else(|| ApiError::not_found("access key"))
}

async fn get_key(
    State(st): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(key_json(&load_key(&st, &id).await?)))
}

async fn patch_key(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KeyBody>,
) -> Result<Json<Value>, ApiError> {
    let mut key = load_key(&st, &id).await?;
    if let Some(d) = body.description {
        check_description(&d)?;
        key.description = d;
    }
    if let Some(e) = body.enabled {
        key.enabled = e;
    }
    st.stores.config.put_access_key(&key).await?;
    Ok(Json(key_json(&key)))
}

async fn delete_key(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if st.stores.config.delete_access_key(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("access key"))
    }
}

// ---- scenes ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SceneQuery {
    tenant_id: Option<String>,
}

/// The tenant a request means: the one named, or the only/first (bootstrap) tenant.
async fn resolve_tenant(st: &AppState, named: Option<String>) -> Result<String, ApiError> {
    match named {
        Some(id) => Ok(load_tenant(st, &id).await?.id),
        None => st
            .stores
            .config
            .tenants()
            .await?
            .into_iter()
            .next()
            .map(|t| t.id)
            .ok_or_else(|| {
                ApiError::from(ValidationError::new(
                    "tenantId",
                    "is required: no tenant exists",
                ))
            }),
    }
}

async fn list_scenes(
    State(st): State<AppState>,
    _: Viewer,
    Query(q): Query<SceneQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "scenes": st.stores.config.scenes(q.tenant_id.as_deref()).await? }),
    ))
}

async fn create_scene(
    State(st): State<AppState>,
    _: Admin,
    ApiJson(mut spec): ApiJson<SceneSpec>,
) -> Result<(StatusCode, Json<Scene>), ApiError> {
    let tenant = resolve_tenant(&st, spec.tenant_id.take()).await?;
    let scene = Scene::create(&tenant, spec, st.clock.now_s())?;
    st.stores.config.put_scene(&scene).await?;
    Ok((StatusCode::CREATED, Json(scene)))
}

async fn load_scene(st: &AppState, id: &str) -> Result<Scene, ApiError> {
    st.stores
        .config
        .scene(id)
        .await?
        .ok_or_else(|| ApiError::not_found("scene"))
}

async fn get_scene(
    State(st): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Scene>, ApiError> {
    Ok(Json(load_scene(&st, &id).await?))
}

async fn patch_scene(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ScenePatch>,
) -> Result<Json<Scene>, ApiError> {
    let scene = load_scene(&st, &id).await?;
    let next = scene.apply(patch, st.clock.now_s())?;
    st.stores.config.put_scene(&next).await?;
    Ok(Json(next))
}

async fn delete_scene(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if st.stores.config.delete_scene(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("scene"))
    }
}

// ---- custom jigsaw backgrounds ----

/// The format of an upload from its first bytes; the declared content type is not trusted.
fn sniff_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        None
    }
}

fn upload_error(e: UploadError) -> ApiError {
    let code = match e {
        UploadError::TooLarge { .. } => "ImageTooLarge",
        UploadError::UnsupportedFormat => "ImageFormatUnsupported",
        UploadError::Undecodable => "ImageUndecodable",
        UploadError::WrongSize { .. } => "ImageSizeInvalid",
    };
    let status = if matches!(e, UploadError::TooLarge { .. }) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    ApiError::new(status, code, e.to_string())
}

fn image_json(i: &SceneImage) -> Value {
    let judged = i.passed + i.failed;
    json!({
        "id": i.id, "sceneId": i.scene_id, "format": i.format, "size": i.size,
        "createdAt": i.created_at, "shown": i.shown, "passed": i.passed, "failed": i.failed,
        "passRate": if judged == 0 { Value::Null } else { json!(i.passed as f64 / judged as f64) },
    })
}

/// `POST /admin/v1/scenes/{id}/images` with the image file as the body.
async fn upload_image(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let scene = load_scene(&st, &id).await?;
    if body.len() > crate::imaging::MAX_UPLOAD_BYTES {
        return Err(upload_error(UploadError::TooLarge { bytes: body.len() }));
    }
    let format = sniff_format(&body).ok_or_else(|| upload_error(UploadError::UnsupportedFormat))?;
    Background::decode(&body).map_err(upload_error)?;
    if st.stores.config.scene_image_ids(&scene.id).await?.len() >= POOL_MAXIMUM {
        return Err(ApiError::conflict(format!(
            "a scene's pool holds at most {POOL_MAXIMUM} images"
        )));
    }
    let image = SceneImage {
        id: ids::image_id(),
        scene_id: scene.id.clone(),
        format: format.to_owned(),
        size: u32::try_from(body.len()).unwrap_or(u32::MAX),
        bytes: body.to_vec(),
        created_at: st.clock.now_s(),
        shown: 0,
        passed: 0,
        failed: 0,
    };
    st.stores.config.put_scene_image(&image).await?;
    Ok((StatusCode::CREATED, Json(image_json(&image))))
}

/// `GET /admin/v1/scenes/{id}/images`: the pool, whether it is active, per-image figures.
async fn list_images(
    State(st): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scene = load_scene(&st, &id).await?;
    let images = st.stores.config.scene_images(&scene.id).await?;
    let count = images.len();
    Ok(Json(json!({
        "images": images.iter().map(image_json).collect::<Vec<_>>(),
        "count": count,
        "active": count >= POOL_MINIMUM,
        "minimum": POOL_MINIMUM,
        "recommended": POOL_RECOMMENDED,
        "advice": if count < POOL_MINIMUM {
            format!("the pool is used from {POOL_MINIMUM} images on; {} more needed", POOL_MINIMUM - count)
        } else if count <= POOL_RECOMMENDED {
            format!("active; more than {POOL_RECOMMENDED} images are recommended")
        } else {
            "active".to_owned()
        },
    })))
}

async fn delete_image(
    State(st): State<AppState>,
    _: Admin,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if st.stores.config.delete_scene_image(&id, &image_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("image"))
    }
}

// ---- admin tokens and keys ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdminTokenBody {
    role: Role,
    #[serde(default)]
    label: String,
}

async fn create_admin_token(
    State(st): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<AdminTokenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if body.label.chars().count() > 64 {
        return Err(ValidationError::new("label", "is at most 64 characters").into());
    }
    let token = ids::admin_token();
    let record = AdminToken {
        hash: token_hash(&token),
        role: body.role,
        label: body.label,
        created_at: st.clock.now_s(),
    };
    st.stores.config.put_admin_token(&record).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "role": record.role, "label": record.label })),
    ))
}

/// Recording mode's drags as NDJSON (one trace per line, oldest first), ready for
/// `train-behaviour --traces`. Admin only: traces are behavioural data about people.
async fn export_traces(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    load_scene_for_traces(&st, &id).await?;
    let traces = st
        .stores
        .config
        .traces(&id, crate::model::TRACES_KEPT)
        .await?;
    let mut body = String::new();
    for t in &traces {
        body.push_str(&serde_json::to_string(t).map_err(|e| ApiError::invalid(e.to_string()))?);
        body.push('\n');
    }
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        body,
    )
        .into_response())
}

async fn delete_traces(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    load_scene_for_traces(&st, &id).await?;
    let n = st.stores.config.delete_traces(&id).await?;
    Ok(Json(json!({ "deleted": n })))
}

async fn load_scene_for_traces(st: &AppState, id: &str) -> Result<(), ApiError> {
    if !crate::ids::looks_like_scene_id(id) || st.stores.config.scene(id).await?.is_none() {
        return Err(ApiError::not_found("scene"));
    }
    Ok(())
}

/// The tenant's encryption-mode key. Admin only: it lets its holder mint EncryptedSceneIds.
async fn get_ekey(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = st
        .cycles
        .ekey(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    Ok(Json(
        json!({ "ekey": base64::engine::general_purpose::STANDARD.encode(key) }),
    ))
}

async fn rotate_ekey(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    load_tenant(&st, &id).await?;
    let key = st.cycles.rotate_ekey(&id).await?;
    Ok(Json(
        json!({ "ekey": base64::engine::general_purpose::STANDARD.encode(key) }),
    ))
}

async fn rotate_token_key(State(st): State<AppState>, _: Admin) -> Result<Json<Value>, ApiError> {
    let id = st.cycles.rotate_token_key().await?;
    Ok(Json(json!({ "currentKeyId": id })))
}
