//! Security headers on every response (SECURITY.md, "Browser pages").
//!
//! - `Content-Security-Policy`: scripts, styles, sockets and fetches only from Baton's own
//!   origin; no plugins; no `<base>`. `frame-ancestors` is `'none'` everywhere except under
//!   `/widget/`, which the CRM pages of the tenants' integrations embed: there it is `'self'`
//!   plus every origin an integration lists, so a page on any other site cannot frame the
//!   widget (and so cannot reach the agent's saved session through it).
//! - `X-Frame-Options: DENY` beside `'none'`, for browsers without `frame-ancestors`.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (a chat link's query
//!   string never leaves in a `Referer`), and `Strict-Transport-Security` when serving TLS.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;
use crate::query::Query;

/// Everything but `frame-ancestors`, which depends on the page.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'";

/// One year, the value browsers' preload lists expect.
const HSTS: &str = "max-age=31536000";

/// Wraps `router` with the headers above.
pub fn layer(router: Router, state: AppState) -> Router {
    let tls = state.settings.tls.is_some();
    let router = router
        .layer(axum::middleware::from_fn_with_state(state, content_policy))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if tls {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        router
    }
}

/// Whether `path` is the embeddable widget (its page and its files).
fn is_widget(path: &str) -> bool {
    path == "/widget" || path.starts_with("/widget/")
}

async fn content_policy(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let widget = is_widget(req.uri().path());
    let mut response = next.run(req).await;
    let ancestors = if widget {
        let origins = state
            .engine
            .query::<Vec<String>>(Query::FrameOrigins)
            .await
            // No engine answering: only Baton's own pages may frame the widget.
            .unwrap_or_default();
        frame_ancestors(&origins)
    } else {
        "'none'".to_owned()
    };
    let policy = format!("{POLICY}; frame-ancestors {ancestors}");
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if !widget {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// `'self'` and every listed origin that is a well-formed `scheme://host[:port]`; anything
/// else (a path, a wildcard, a `;`) would change the policy's meaning and is left out.
pub fn frame_ancestors(origins: &[String]) -> String {
    let mut out = String::from("'self'");
    for origin in origins.iter().filter(|o| is_plain_origin(o)) {
        out.push(' ');
        out.push_str(origin);
    }
    out
}

fn is_plain_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_origins_reach_the_policy() {
        let origins = [
            "https://crm.example.com",
            "http://127.0.0.1:8080",
            "http://[::1]:80",
            "https://evil.example; script-src *",
            "*",
            "https://crm.example.com/path",
            "javascript:alert(1)",
            "https://",
        ]
        .map(String::from);
        assert_eq!(
            frame_ancestors(&origins),
            "'self' https://crm.example.com http://127.0.0.1:8080 http://[::1]:80"
        );
    }

    #[test]
    fn widget_paths() {
        assert!(is_widget("/widget/"));
        assert!(is_widget("/widget/widget.js"));
        assert!(!is_widget("/widgets/"));
        assert!(!is_widget("/chat/"));
    }
}
