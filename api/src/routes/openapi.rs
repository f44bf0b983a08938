//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they use.

use axum::Json;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{health, integrations, posts};

#[derive(OpenApi)]
#[openapi(
    info(title = "Soku API", description = "Publish posts to Threads, X, LinkedIn, Instagram, Facebook, TikTok and YouTube at once, now or at a scheduled time."),
    paths(posts::create, posts::list, posts::get, posts::cancel, posts::retry,
          integrations::create, integrations::list, integrations::get, integrations::delete,
          health::healthz, health::readyz),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorObject, soku_shared::validate::FieldError)),
    modifiers(&Security),
    tags((name = "posts"), (name = "integrations"), (name = "health"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("soku-api-key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
