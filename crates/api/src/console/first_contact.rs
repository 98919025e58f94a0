//! A first contact: the form, and opening the case.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;
use helpline_domain::case::{Impact, Priority, Urgency};
use serde::Deserialize;

use super::pages::{render, staff_names, Chrome};
use super::{failure, form, see_other, signed_in};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::service::cases::FirstContact;

/// The first-contact form as typed (kept to show it again with what is wrong).
#[derive(Deserialize, Default)]
struct FirstContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    service_type: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    confidential: Option<String>,
}

type Choices = Vec<(String, String)>;

#[derive(Template)]
#[template(path = "console/new_case.html")]
struct NewCasePage {
    c: Chrome,
    f: FirstContactForm,
    errors: Vec<(String, String)>,
    audiences: Choices,
    services: Choices,
    urgencies: Choices,
    impacts: Choices,
    /// The priority matrix: per urgency (most urgent first), the priority per impact.
    matrix: Vec<(&'static str, Vec<&'static str>)>,
}

fn new_case_form(
    state: &AppState,
    c: Chrome,
    f: FirstContactForm,
    errors: Vec<(String, String)>,
) -> NewCasePage {
    let t = c.t;
    let urgencies: Vec<Urgency> = vec![
        Urgency::Critical,
        Urgency::High,
        Urgency::Medium,
        Urgency::Low,
    ];
    let impacts = [Impact::High, Impact::Medium, Impact::Low];
    let terms = |tax: &helpline_domain::taxonomy::Taxonomy| -> Choices {
        tax.terms()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    NewCasePage {
        f,
        errors,
        audiences: terms(&state.audiences),
        services: terms(&state.service_types),
        urgencies: urgencies
            .iter()
            .map(|u| (u.as_str().to_owned(), t.urgency_name(u).to_owned()))
            .collect(),
        impacts: impacts
            .iter()
            .map(|i| (i.as_str().to_owned(), t.impact_name(i).to_owned()))
            .collect(),
        matrix: urgencies
            .iter()
            .map(|u| {
                (
                    t.urgency_name(u),
                    impacts
                        .iter()
                        .map(|i| Priority::derive(*u, *i).as_str())
                        .collect(),
                )
            })
            .collect(),
        c,
    }
}

/// The first-contact form (urgency medium, impact medium to start with).
pub(super) async fn new_case_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::CreateCase)?;
        let names = staff_names(&state).await?;
        let f = FirstContactForm {
            urgency: "medium".into(),
            impact: "medium".into(),
            ..FirstContactForm::default()
        };
        let page = new_case_form(&state, Chrome::staff(&req, &names, &auth), f, Vec::new());
        Ok::<_, ApiError>(render(StatusCode::OK, &page))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// Opens the case through the same request and use case as `POST /api/v1/cases`; what is
/// wrong is shown on the form, next to what was typed.
pub(super) async fn open_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, FirstContactForm) = form(&state, &req, &body).await?;
        auth.require(Permission::CreateCase)?;
        let mut beneficiary = serde_json::json!({"name": f.name.trim()});
        if !f.email.trim().is_empty() {
            beneficiary["emails"] = serde_json::json!([f.email.trim()]);
        }
        if !f.audience.is_empty() {
            beneficiary["audience"] = serde_json::json!(f.audience);
        }
        let mut request = serde_json::json!({
            "beneficiary": beneficiary,
            "summary": f.summary.trim(),
            "service_type": f.service_type,
            "urgency": f.urgency,
            "impact": f.impact,
            "confidential": f.confidential.is_some(),
        });
        if !f.description.trim().is_empty() {
            request["description"] = serde_json::json!(f.description.trim());
        }
        let parsed = serde_json::to_vec(&request)
            .map_err(|e| ApiError::Internal(e.to_string()))
            .and_then(|bytes| {
                crate::extract::parse_json::<crate::routes::cases::CreateCase>(&bytes)
            })
            .and_then(|b| crate::routes::cases::first_contact_request(&state, &auth, b));
        let (requester, new) = match parsed {
            Ok(p) => p,
            Err(e) => return form_errors(&state, &req, &auth, f, e).await,
        };
        let (policy, caller) = (state.policy.clone(), auth.0.clone());
        let outcome = state
            .write(&auth, move |tx| {
                crate::service::cases::first_contact(tx, &caller, requester, new, &policy)
            })
            .await;
        match outcome {
            Ok(FirstContact::Opened(case)) => {
                let case = *case;
                Ok(see_other(&format!("/cases/{}", i64::from(case.reference))).finish())
            }
            Ok(FirstContact::Referred) => {
                let names = staff_names(&state).await?;
                Ok(render(
                    StatusCode::ACCEPTED,
                    &Referred {
                        c: Chrome::staff(&req, &names, &auth),
                    },
                ))
            }
            Err(e) => form_errors(&state, &req, &auth, f, e).await,
        }
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(Template)]
#[template(path = "console/referred.html")]
struct Referred {
    c: Chrome,
}

/// The form again with what is wrong, or the failure page for anything else.
async fn form_errors(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    auth: &Auth,
    f: FirstContactForm,
    e: ApiError,
) -> Result<HttpResponse, ApiError> {
    let t = super::lang_of(req).texts();
    let errors: Vec<(String, String)> = match &e {
        ApiError::Validation { errors, .. } => errors
            .iter()
            .map(|x| (super::label(t, &x.field).to_owned(), x.message.clone()))
            .collect(),
        ApiError::BadRequest(m) | ApiError::Conflict(m) => vec![(String::new(), m.clone())],
        _ => return Err(e),
    };
    let names = staff_names(state).await?;
    let page = new_case_form(state, Chrome::staff(req, &names, auth), f, errors);
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
