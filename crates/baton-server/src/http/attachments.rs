//! Chat attachments (decision 0014), over REST rather than the socket so a file never sits
//! in a frame or in the engine:
//! - `POST /api/v1/interactions/{id}/attachments?filename=…`: raw body, customer token of
//!   that interaction or the session token of a connected agent party;
//! - `GET /api/v1/interactions/{id}/attachments/{attachmentId}`: the same customer, or an
//!   agent who is or was a party; anyone else gets 404.
//!
//! The type is found by sniffing the first bytes against the allow-list, never taken from
//! the declared `Content-Type` or the name. The content is stored (sealed with the data
//! cipher when one is set) before the engine posts the chat message that names it.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use baton_core::{AgentId, Command, InteractionId};
use baton_protocol::{AttachmentRef, ErrorCode};
use baton_store::AttachmentRecord;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth;
use crate::engine::Extra;
use crate::error::{HttpError, HttpResult};

/// `[attachments]` in `baton.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentLimits {
    /// Largest file, in bytes; larger → `payload_too_large` (HTTP 413). 0 turns uploads off.
    pub max_bytes: usize,
    /// Longest file name, in characters; longer → `invalid_args`.
    pub max_name_chars: usize,
    /// Uploads one interaction may receive per minute, customer and agents together; more →
    /// `rate_limited` (HTTP 429). 0 = no limit.
    pub uploads_per_minute: u32,
    /// Types accepted, as found by sniffing (see [`KNOWN_TYPES`]); others → `invalid_args`.
    pub types: Vec<String>,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            max_name_chars: 200,
            uploads_per_minute: 20,
            types: KNOWN_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        }
    }
}

impl AttachmentLimits {
    /// A type in `types` that the sniffer cannot recognise, for a config error.
    pub fn unknown_type(&self) -> Option<&str> {
        self.types
            .iter()
            .map(String::as_str)
            .find(|t| !KNOWN_TYPES.contains(t))
    }
}

/// Every type the server can recognise by content.
pub const KNOWN_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// The type of `content` by its magic bytes; `text/plain` is UTF-8 without control
/// characters other than tab, newline, carriage return and form feed.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if content.starts_with(b"GIF87a") || content.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if content.len() >= 12 && &content[..4] == b"RIFF" && &content[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if content.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    let text = std::str::from_utf8(content).ok()?;
    if !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
    {
        return Some("text/plain");
    }
    None
}

pub fn router(limits: &AttachmentLimits) -> Router<AppState> {
    // The route reads its body itself, against `max_bytes`, not the JSON body limit.
    let _ = limits;
    Router::new()
        .route(
            "/api/v1/interactions/{id}/attachments",
            post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/interactions/{id}/attachments/{attachment}",
            get(download),
        )
}

/// Who is asking: the customer of an interaction or an agent session.
enum Caller {
    Customer(InteractionId),
    Agent(AgentId),
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, HttpError> {
    let token = super::bearer_of(headers).ok_or_else(super::missing_token)?;
    let hash = auth::token_hash(token);
    let store = state.store.clone();
    let now = state.clock.now();
    let (customer, session) = tokio::task::spawn_blocking(move || {
        Ok::<_, baton_store::StoreError>((
            store.interaction_by_customer_token(&hash)?,
            store.session(&hash)?,
        ))
    })
    .await
    .map_err(|e| HttpError::internal("token lookup", e))?
    .map_err(|e| HttpError::internal("token lookup", e))?;
    if let Some(id) = customer {
        return Ok(Caller::Customer(id));
    }
    let agent_session = |s: &baton_store::SessionRecord| {
        s.expires_at > now && s.scope == baton_store::SessionScope::Agent
    };
    match session.filter(agent_session) {
        Some(s) => Ok(Caller::Agent(s.agent)),
        None => Err(HttpError::new(
            ErrorCode::InvalidToken,
            "invalid or expired token",
        )),
    }
}

fn not_found() -> HttpError {
    HttpError::new(ErrorCode::ObjectNotFound, "no such attachment")
}

#[derive(Deserialize)]
pub struct UploadQuery {
    filename: Option<String>,
}

/// The uploaded file, as announced in the chat.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uploaded {
    attachment: AttachmentRef,
}

/// Cleans a file name for storage and display: its last path segment, no control characters.
fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    last.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Stores a file and posts the chat message that names it (customer token or agent session).
#[utoipa::path(post, path = "/api/v1/interactions/{id}/attachments", security(("customer" = []), ("session" = [])),
    params(("id" = String, Path), ("filename" = String, Query, description = "the file's name")),
    request_body(content = Vec<u8>, description = "the file's bytes; the type is sniffed from them", content_type = "application/octet-stream"),
    responses((status = 201, body = Object), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 413, body = super::admin::ErrorBody), (status = 429, body = super::admin::ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    UrlQuery(query): UrlQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> HttpResult<(StatusCode, Json<Uploaded>)> {
    let limits = state.settings.attachments.clone();
    let interaction = InteractionId(id);
    let caller = caller(&state, &headers).await?;
    let agent = match caller {
        Caller::Customer(own) if own == interaction => None,
        Caller::Customer(_) => {
            return Err(HttpError::new(
                ErrorCode::NotEnoughPrivileges,
                "this token is for another interaction",
            ));
        }
        Caller::Agent(a) => Some(a),
    };
    if limits.max_bytes == 0 || limits.types.is_empty() {
        return Err(HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            "attachments are turned off on this server",
        ));
    }
    if limits.uploads_per_minute > 0 && !state.attachment_uploads.allow(interaction.as_str()) {
        return Err(HttpError::new(
            ErrorCode::RateLimited,
            format!(
                "at most {} files a minute may be sent in one chat",
                limits.uploads_per_minute
            ),
        ));
    }
    let raw_name = query
        .filename
        .or_else(|| {
            headers
                .get("x-filename")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let name = clean_name(&raw_name);
    if name.is_empty() {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            "a file name is required (the filename query parameter)",
        ));
    }
    if name.chars().count() > limits.max_name_chars {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!(
                "the file name is longer than {} characters",
                limits.max_name_chars
            ),
        ));
    }
    let too_large = || {
        HttpError::new(
            ErrorCode::PayloadTooLarge,
            format!("the file is larger than {} bytes", limits.max_bytes),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes) {
        return Err(too_large());
    }
    let content: Bytes = axum::body::to_bytes(body, limits.max_bytes)
        .await
        .map_err(|_| too_large())?;
    if content.is_empty() {
        return Err(HttpError::new(ErrorCode::InvalidArgs, "the file is empty"));
    }
    let content_type = match sniff(&content) {
        Some(t) if limits.types.iter().any(|a| a == t) => t,
        _ => {
            return Err(HttpError::new(
                ErrorCode::InvalidArgs,
                format!(
                    "this type of file is not accepted; allowed: {}",
                    limits.types.join(", ")
                ),
            ));
        }
    };
    // The interaction must exist and be this tenant's; the engine checks it is live.
    let store = state.store.clone();
    let lookup = interaction.clone();
    let stored = tokio::task::spawn_blocking(move || store.interaction(&lookup))
        .await
        .map_err(|e| HttpError::internal("interaction lookup", e))?
        .map_err(|e| HttpError::internal("interaction lookup", e))?
        .ok_or_else(|| HttpError::new(ErrorCode::NoInteraction, "no such interaction"))?;
    let record = AttachmentRecord {
        id: auth::new_id("att"),
        interaction: interaction.clone(),
        tenant: stored.tenant.clone(),
        name,
        content_type: content_type.to_owned(),
        size: content.len() as u64,
        uploader: agent
            .as_ref()
            .map_or_else(|| "customer".to_owned(), |a| a.0.clone()),
        created_at: state.clock.now(),
    };
    let store = state.store.clone();
    let (rec, bytes) = (record.clone(), content.clone());
    tokio::task::spawn_blocking(move || store.put_attachment(&rec, &bytes))
        .await
        .map_err(|e| HttpError::internal("attachment store", e))?
        .map_err(|e| HttpError::internal("attachment store", e))?;
    let attachment = AttachmentRef {
        id: record.id.clone(),
        name: record.name.clone(),
        content_type: record.content_type.clone(),
        size: record.size,
    };
    let command = Command::PostAttachment {
        interaction,
        agent,
        attachment: attachment.clone(),
    };
    if let Err(e) = state.engine.call(command, Extra::default()).await {
        // Nothing half-sent: a file nobody was told about does not stay.
        let store = state.store.clone();
        let id = record.id.clone();
        let _ = tokio::task::spawn_blocking(move || store.delete_attachment(&id)).await;
        return Err(e.into());
    }
    tracing::info!(
        interaction = %record.interaction.as_str(),
        attachment = %record.id,
        content_type = %record.content_type,
        size = record.size,
        "attachment stored"
    );
    Ok((StatusCode::CREATED, Json(Uploaded { attachment })))
}

/// Sends a stored file as a download, with its sniffed type (the interaction's customer,
/// or an agent who is or was a party; anyone else 404).
#[utoipa::path(get, path = "/api/v1/interactions/{id}/attachments/{attachment}", security(("customer" = []), ("session" = [])),
    params(("id" = String, Path), ("attachment" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 401, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody)))]
pub(crate) async fn download(
    State(state): State<AppState>,
    Path((id, attachment)): Path<(String, String)>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let interaction = InteractionId(id);
    let caller = caller(&state, &headers).await?;
    let store = state.store.clone();
    let lookup = interaction.clone();
    let (found, stored, legs) = tokio::task::spawn_blocking(move || {
        Ok::<_, baton_store::StoreError>((
            store.attachment(&lookup, &attachment)?,
            store.interaction(&lookup)?,
            store.legs(&lookup)?,
        ))
    })
    .await
    .map_err(|e| HttpError::internal("attachment lookup", e))?
    .map_err(|e| HttpError::internal("attachment lookup", e))?;
    let allowed = match &caller {
        Caller::Customer(own) => own == &interaction,
        Caller::Agent(agent) => stored
            .as_ref()
            .is_some_and(|i| baton_core::Core::was_party(i, &legs, agent)),
    };
    let Some((record, content)) = found.filter(|_| allowed) else {
        return Err(not_found());
    };
    let mut response = Body::from(content).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&record.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// `attachment; filename="…"; filename*=UTF-8''…`, with an ASCII fallback name.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"hello\nworld"), Some("text/plain"));
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/pass\nwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\y.png"), "y.png");
        assert_eq!(
            content_disposition("a\"b é.png"),
            "attachment; filename=\"a_b _.png\"; filename*=UTF-8''a%22b%20%C3%A9.png"
        );
    }
}
