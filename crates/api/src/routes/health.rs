//! Liveness, readiness and metrics.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::resource;
use crate::app::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(healthz)))
        .service(resource("/readyz").route(web::get().to(readyz)))
        .service(resource("/metrics").route(web::get().to(metrics)));
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve: the database answers.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let backend = store.backend().as_str();
    match web::block(move || store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ready", "database": backend})),
        _ => HttpResponse::ServiceUnavailable()
            .content_type("application/problem+json")
            .body(
                json!({
                    "type": "urn:helpline:problem:unavailable",
                    "title": "Service unavailable",
                    "status": 503,
                    "detail": "the database does not answer",
                })
                .to_string(),
            ),
    }
}

/// Prometheus text exposition.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
