//! Connecting a platform account (an integration): the checks on what a client or an operator sends, sealing
//! the credentials under the master key, and the connection as clients see it. `POST /v1/integrations` and
//! `soku admin integration add` both go through [`check`] and [`connect`], so they accept and refuse the same
//! things. Credentials are sealed before they reach the store and are never shown again.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::config::MasterKey;
use crate::crypto::seal;
use crate::ids::{IdPrefix, new_id};
use crate::platform::Platform;
use crate::post::fmt_time;
use crate::store::{
    Db,
    integrations::{self, IntegrationRow, Upsert},
};
use crate::validate::{FieldError, account_id_problem};

/// The fields a connection request may hold.
const FIELDS: [&str; 5] = [
    "platform",
    "accountId",
    "displayName",
    "isDefault",
    "credentials",
];

/// A connection request that passed [`check`].
#[derive(Debug, Clone)]
pub struct Connection {
    pub platform: Platform,
    /// The client's name for this connection (`accountId` in the API).
    pub label: String,
    pub display_name: Option<String>,
    pub is_default: bool,
    credentials: Map<String, Value>,
}

/// The state of a connection (for the API reference: sent as its name).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Usable.
    Active,
    /// The platform refused the credentials: connect the account again.
    NeedsReauth,
}

/// A connected account, without its credentials.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    #[schema(example = "int_4kQ2mZx8LwP4vB7nR1sYe")]
    pub id: String,
    #[schema(value_type = Platform)]
    pub platform: String,
    /// The connection's label, named in posts as `accountId`.
    #[serde(rename = "accountId")]
    pub label: String,
    #[schema(required = true)]
    pub display_name: Option<String>,
    pub is_default: bool,
    #[schema(value_type = IntegrationStatus)]
    pub status: String,
    pub livemode: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<IntegrationRow> for IntegrationView {
    fn from(r: IntegrationRow) -> IntegrationView {
        IntegrationView {
            id: r.id,
            platform: r.platform,
            label: r.account_label,
            display_name: r.display_name,
            is_default: r.is_default,
            status: r.status,
            livemode: r.livemode,
            created_at: fmt_time(r.created_at),
            updated_at: fmt_time(r.updated_at),
        }
    }
}

/// Checks a connection request (the JSON body of `POST /v1/integrations`); every problem is reported at once,
/// each naming its field.
pub fn check(body: &Value) -> Result<Connection, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![error("body", "must be a JSON object")]);
    };
    let mut errs = Vec::new();
    for name in obj.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errs.push(error(&crate::validate::excerpt(name), "unknown field"));
    }
    let platform = text(obj, "platform", 32, true, &mut errs).and_then(|p| platform(&p, &mut errs));
    let label = text(obj, "accountId", 100, true, &mut errs).and_then(|l| label(l, &mut errs));
    let display_name = text(obj, "displayName", 200, false, &mut errs);
    let is_default = flag(obj, "isDefault", &mut errs);
    let credentials = credentials(obj.get("credentials"), &mut errs);
    match (platform, label, credentials) {
        (Some(platform), Some(label), Some(credentials)) if errs.is_empty() => Ok(Connection {
            platform,
            label,
            display_name,
            is_default,
            credentials,
        }),
        _ => Err(errs),
    }
}

/// Connects (or reconnects) `c` for `account_id` in live or test mode, sealing its credentials; returns the
/// connection and whether it is new.
pub async fn connect(
    db: &Db,
    master: &MasterKey,
    account_id: &str,
    livemode: bool,
    c: &Connection,
) -> Result<(IntegrationView, bool), sqlx::Error> {
    let plain = Value::Object(c.credentials.clone())
        .to_string()
        .into_bytes();
    let upsert = Upsert {
        account_id,
        livemode,
        platform: c.platform.as_str(),
        account_label: &c.label,
        display_name: c.display_name.as_deref(),
        make_default: c.is_default,
    };
    let (row, created) = integrations::upsert(db, upsert, &new_id(IdPrefix::Integration), |id| {
        seal(master, id, &plain)
    })
    .await?;
    Ok((row.into(), created))
}

fn error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
        platform: None,
    }
}

/// A string field: required or not, non-blank, at most `max` characters, no control characters.
fn text(
    obj: &Map<String, Value>,
    name: &str,
    max: usize,
    required: bool,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let problem = match obj.get(name) {
        None | Some(Value::Null) if required => "is required".to_string(),
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) if s.trim().is_empty() => "must not be empty".to_string(),
        Some(Value::String(s)) if s.chars().count() > max => {
            format!("must be at most {max} characters")
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            "must not contain control characters".to_string()
        }
        Some(Value::String(s)) => return Some(s.clone()),
        Some(_) => "must be a string".to_string(),
    };
    errs.push(error(name, problem));
    None
}

fn platform(name: &str, errs: &mut Vec<FieldError>) -> Option<Platform> {
    let parsed = Platform::parse(name);
    if parsed.is_none() {
        errs.push(error(
            "platform",
            format!(
                "unknown platform `{}`; expected one of threads, x, linkedin, instagram, facebook, tiktok, youtube",
                crate::validate::excerpt(name)
            ),
        ));
    }
    parsed
}

fn label(label: String, errs: &mut Vec<FieldError>) -> Option<String> {
    match account_id_problem(&label) {
        Some(problem) => {
            errs.push(error("accountId", problem));
            None
        }
        None => Some(label),
    }
}

fn flag(obj: &Map<String, Value>, name: &str, errs: &mut Vec<FieldError>) -> bool {
    match obj.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.push(error(name, "must be true or false"));
            false
        }
    }
}

/// `credentials`: an object with a non-empty `accessToken` and, when given, an RFC 3339 `expiresAt`.
fn credentials(value: Option<&Value>, errs: &mut Vec<FieldError>) -> Option<Map<String, Value>> {
    let c = match value {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => {
            errs.push(error(
                "credentials",
                "is required (an object with at least accessToken)",
            ));
            return None;
        }
        Some(_) => {
            errs.push(error("credentials", "must be an object"));
            return None;
        }
    };
    match c.get("accessToken") {
        Some(Value::String(t)) if !t.is_empty() => {}
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errs.push(error("credentials.accessToken", "is required"))
        }
        Some(_) => errs.push(error("credentials.accessToken", "must be a string")),
    }
    if let Some(v) = c.get("expiresAt").filter(|v| !v.is_null())
        && v.as_str()
            .is_none_or(|s| chrono::DateTime::parse_from_rfc3339(s).is_err())
    {
        errs.push(error(
            "credentials.expiresAt",
            "must be an RFC 3339 time with an offset, e.g. 2026-03-09T14:00:00.000Z",
        ));
    }
    // Null is absence here too: what is sealed has no null members.
    Some(
        c.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(body: Value) -> Vec<String> {
        check(&body)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_complete_request_passes() {
        let c = check(&json!({"platform": "x", "accountId": "x_main", "isDefault": true,
                              "credentials": {"accessToken": "t", "expiresAt": "2026-03-09T14:00:00Z"}}))
        .unwrap();
        assert_eq!(c.platform, Platform::X);
        assert_eq!(c.label, "x_main");
        assert!(c.is_default);
    }

    #[test]
    fn empty_credentials_are_refused() {
        assert_eq!(
            fields(json!({"platform": "x", "accountId": "a", "credentials": {}})),
            ["credentials.accessToken"]
        );
    }

    #[test]
    fn every_problem_is_named() {
        assert_eq!(
            fields(
                json!({"platform": "myspace", "accountId": " a", "isDefault": "yes",
                          "credentials": {"accessToken": 1, "expiresAt": "soon"}, "colour": 1})
            ),
            [
                "colour",
                "platform",
                "accountId",
                "isDefault",
                "credentials.accessToken",
                "credentials.expiresAt"
            ]
        );
        assert_eq!(fields(json!([])), ["body"]);
    }
}
