//! Test-only fault injection, mounted only when `BATON_TEST_FAULTS=1` (see
//! `docs/testing.md`): `POST /api/v1/admin/debug/engine-panic` (admin token) makes the
//! engine panic, so a test can watch the process end and a supervisor notice.

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
    Router::new().route("/api/v1/admin/debug/engine-panic", post(engine_panic))
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
