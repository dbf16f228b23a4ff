//! Test-only fault injection, mounted only when `BATON_TEST_FAULTS=1` (see
//! `docs/testing.md`): `POST /api/v1/admin/debug/engine-panic` (admin token) makes the
//! engine panic, so a test can watch the process end and a supervisor notice;
//! `POST /api/v1/admin/debug/media-loss` `{percent}` makes the media plane drop that share
//! of the datagrams it sends, so a browser test degrades a call for real.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use baton_protocol::ErrorCode;

use super::AdminAuth;
use crate::app::AppState;
use crate::engine::{EngineHandle, Job};
use crate::error::{HttpError, HttpResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/debug/engine-panic", post(engine_panic))
        .route("/api/v1/admin/debug/media-loss", post(media_loss))
}

#[derive(serde::Deserialize)]
struct MediaLoss {
    percent: u32,
}

async fn media_loss(
    State(state): State<AppState>,
    _: AdminAuth,
    axum::Json(body): axum::Json<MediaLoss>,
) -> HttpResult<StatusCode> {
    let media = state.media.as_ref().ok_or_else(|| {
        HttpError::new(
            ErrorCode::ApiMethodNotImplemented,
            "this server carries no call audio",
        )
    })?;
    tracing::warn!(
        percent = body.percent,
        "dropping outgoing media (BATON_TEST_FAULTS)"
    );
    media.set_test_loss(body.percent);
    Ok(StatusCode::NO_CONTENT)
}

async fn engine_panic(State(state): State<AppState>, _: AdminAuth) -> HttpResult<StatusCode> {
    match &state.engine {
        EngineHandle::Local(tx) => {
            tracing::warn!("injecting a panic into the engine (BATON_TEST_FAULTS)");
            tx.send(Job::InjectPanic)
                .await
                .map_err(|_| HttpError::from(crate::engine::stopped()))?;
            Ok(StatusCode::ACCEPTED)
        }
        EngineHandle::Remote(_) => Err(HttpError::new(
            ErrorCode::ApiMethodNotImplemented,
            "fault injection works on a single node only",
        )),
    }
}
