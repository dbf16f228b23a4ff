//! The browser pages, embedded in the binary (`web/`): SDK, widget, demo CRM, customer chat.
//! Debug builds read the files from disk, so web changes need no rebuild.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::app::AppState;

#[derive(RustEmbed)]
#[folder = "../../web/"]
struct Web;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/widget/") }))
        // Bright Pattern's script paths, so an integration pointed at Baton loads the SDK.
        .route(
            "/agent/crmembedded/adapters/api.js",
            get(|| async { file("sdk/adapi.js") }),
        )
        .route(
            "/agent/communicator/adapters/api.js",
            get(|| async { file("sdk/adapi.js") }),
        )
        // Browsers ask for it whatever the page says.
        .route("/favicon.ico", get(|| async { file("favicon.svg") }))
        .route(
            "/{*path}",
            get(|Path(path): Path<String>| async move { file(&path) }),
        )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ts") => "text/plain; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(path: &str) -> Response {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    match Web::get(&path) {
        Some(f) => (
            [(header::CONTENT_TYPE, content_type(&path)), (header::CACHE_CONTROL, "no-cache")],
            f.data.into_owned(),
        )
            .into_response(),
        None if Web::get(&format!("{path}/index.html")).is_some() => Redirect::permanent(&format!("/{path}/")).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": baton_protocol::ApiError::new(baton_protocol::ErrorCode::ObjectNotFound, "no such page")}))).into_response(),
    }
}
