//! Call recordings over HTTP (docs/voice.md, "Recording"): the list on an interaction and
//! each file, for the admin token or an agent who is or was a party of the call.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use baton_core::InteractionId;
use baton_protocol::ErrorCode;
use serde::Serialize;

use crate::app::AppState;
use crate::auth;
use crate::error::{HttpError, HttpResult};
use crate::recordings::RecordingInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/interactions/{id}/recordings", get(list))
        .route(
            "/api/v1/interactions/{id}/recordings/{recording}",
            get(download),
        )
}

/// One recording as listed: its record and where to fetch it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    id: String,
    /// `customer` or `agent`.
    party: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    duration_ms: u64,
    bytes: u64,
    created_at: i64,
    /// The file (`audio/ogg`), with the same bearer token.
    recording_url: String,
}

/// The admin token, or an agent session of a present or past party; else 401/403.
async fn authorise(state: &AppState, headers: &HeaderMap, call: &InteractionId) -> HttpResult<()> {
    let token = super::bearer_of(headers).ok_or_else(super::missing_token)?;
    if let Some(admin) = &state.settings.admin_token
        && !admin.is_empty()
        && auth::constant_time_eq(admin.expose(), token)
    {
        return Ok(());
    }
    let hash = auth::token_hash(token);
    let store = state.store.clone();
    let now = state.clock.now();
    let id = call.clone();
    let (session, interaction, legs) = tokio::task::spawn_blocking(move || {
        let session = store.session(&hash)?;
        Ok::<_, baton_store::StoreError>((session, store.interaction(&id)?, store.legs(&id)?))
    })
    .await
    .map_err(|e| HttpError::internal("recording lookup", e))?
    .map_err(|e| HttpError::internal("recording lookup", e))?;
    let agent = session
        .filter(|s| s.expires_at > now && s.scope == baton_store::SessionScope::Agent)
        .map(|s| s.agent)
        .ok_or_else(|| HttpError::new(ErrorCode::InvalidToken, "invalid or expired token"))?;
    match interaction {
        Some(i) if baton_core::Core::was_party(&i, &legs, &agent) => Ok(()),
        _ => Err(HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            "only the call's agents and the admin may hear its recordings",
        )),
    }
}

/// The interaction's call recordings, one per party and recording, oldest first.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/recordings", security(("admin" = []), ("session" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Listed>), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> HttpResult<Json<Vec<Listed>>> {
    let call = InteractionId(id);
    authorise(&state, &headers, &call).await?;
    let store = state.recordings.clone();
    let key = call.to_string();
    let found: Vec<RecordingInfo> = tokio::task::spawn_blocking(move || store.list(&key))
        .await
        .map_err(|e| HttpError::internal("recording list", e))?;
    Ok(Json(
        found
            .into_iter()
            .map(|r| Listed {
                recording_url: format!("/api/v1/interactions/{call}/recordings/{}", r.id),
                id: r.id,
                party: r.party,
                agent: r.agent,
                duration_ms: r.duration_ms,
                bytes: r.bytes,
                created_at: r.created_at,
            })
            .collect(),
    ))
}

/// One recording: an Ogg Opus file (opened if it was sealed at rest).
#[utoipa::path(get, path = "/api/v1/interactions/{id}/recordings/{recording}", security(("admin" = []), ("session" = [])),
    params(("id" = String, Path), ("recording" = String, Path)),
    responses((status = 200, content_type = "audio/ogg", body = Vec<u8>), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody)))]
pub(crate) async fn download(
    State(state): State<AppState>,
    Path((id, recording)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let call = InteractionId(id);
    authorise(&state, &headers, &call).await?;
    let store = state.recordings.clone();
    let key = call.to_string();
    let found = tokio::task::spawn_blocking(move || store.read(&key, &recording))
        .await
        .map_err(|e| HttpError::internal("recording read", e))?;
    let bytes = match found {
        None => {
            return Err(HttpError::new(
                ErrorCode::ObjectNotFound,
                "no such recording",
            ));
        }
        Some(Err(e)) => return Err(HttpError::internal("recording open", e)),
        Some(Ok(b)) => b,
    };
    let mut response = Body::from(bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/ogg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
