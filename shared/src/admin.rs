//! Operator actions: accounts and their subscription, credit grants, API keys and connected accounts. The CLI
//! (`soku admin …`) only parses its arguments and prints what these return; the rules (defaults, checks,
//! telling the API processes about a revocation) live here, where the API can call them too.
//!
//! Each action returns a serializable summary; problems come back as errors whose message names the input.

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::account::{Plan, SubscriptionStatus};
use crate::config::Settings;
use crate::crypto::{KeyMode, generate_api_key, hash_password};
use crate::ids::{IdPrefix, new_id};
use crate::integration::{self, IntegrationView};
use crate::post::fmt_time;
use crate::store::{self, Db, accounts, credits, keys, users};
use crate::{auth_epoch, validate::FieldError};

/// How long a trial lasts when no end is given.
const TRIAL_DAYS: i64 = 14;

/// What operator actions need: the database, and Redis (to announce key and subscription changes).
pub struct Admin<'a> {
    pub db: Db,
    settings: &'a Settings,
}

/// An account as the operator sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub account_id: String,
    pub name: String,
    pub plan: String,
    pub status: String,
    pub trial_ends_at: Option<String>,
    pub credits: i64,
    pub email: Option<String>,
    pub created_at: String,
    /// Only after a change: whether the API processes were told at once (see [`Announced`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagated: Option<bool>,
}

/// A new account.
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub plan: &'a str,
    pub status: Option<&'a str>,
    pub trial_ends_at: Option<&'a str>,
    pub credits: i64,
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// A change to an account's subscription; `None` keeps what it is.
pub struct AccountChange<'a> {
    pub plan: Option<&'a str>,
    pub status: Option<&'a str>,
    pub trial_ends_at: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Granted {
    pub account_id: String,
    pub balance: i64,
    pub granted: i64,
}

/// `soku admin user add`'s answer (never the password).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedUser {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
}

/// The password rule: 10 to 128 characters (OWASP's advice: long passphrases, no composition rules).
pub fn check_password(password: &str) -> anyhow::Result<()> {
    let n = password.chars().count();
    if !(10..=128).contains(&n) {
        bail!("the password must be 10 to 128 characters long (it has {n})");
    }
    if password.trim().is_empty() {
        bail!("the password must not be only spaces");
    }
    Ok(())
}

/// A plausible email address: one `@` with something on each side and a dot in the domain.
pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.len() <= 254
                && !domain.contains('@')
        }
        None => false,
    }
}

/// `soku admin credits adjust`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adjusted {
    pub account_id: String,
    pub adjusted: i64,
    pub balance: i64,
    pub reserved: i64,
}

/// `soku admin credits refund`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundedJob {
    pub job_id: String,
    pub account_id: String,
    pub refunded: i64,
    pub balance: i64,
}

/// A key just made: the only time its secret is shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub mode: String,
    pub api_key: String,
    pub preview: String,
    pub created_at: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedKey {
    pub id: String,
    pub status: String,
    pub account_id: String,
    pub propagated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    #[serde(flatten)]
    pub integration: IntegrationView,
    pub created: bool,
}

/// Whether the API processes heard of a change at once; when not, why (they see it within 5 s anyway).
pub type Announced = Result<(), String>;

/// A connection request that failed its checks, every field named.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct InvalidConnection(pub Vec<FieldError>);

fn describe(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect();
    parts.join("; ")
}

impl<'a> Admin<'a> {
    pub async fn connect(settings: &'a Settings) -> anyhow::Result<Admin<'a>> {
        let db = store::connect(settings.database_url(), 2)
            .await
            .context("cannot connect to the database (DATABASE_URL)")?;
        Ok(Admin { db, settings })
    }

    pub async fn create_account(&self, a: NewAccount<'_>) -> anyhow::Result<AccountSummary> {
        let plan = parse_plan(a.plan)?;
        let status = match a.status {
            Some(s) => parse_status(s)?,
            None if plan == Plan::Trial => SubscriptionStatus::Trialing,
            None => SubscriptionStatus::Active,
        };
        let trial_ends_at = match a.trial_ends_at {
            Some(t) => Some(parse_time(t)?),
            None if status == SubscriptionStatus::Trialing => {
                Some(Utc::now() + chrono::Duration::days(TRIAL_DAYS))
            }
            None => None,
        };
        if a.credits < 0 {
            bail!("credits must not be negative");
        }
        if a.name.trim().is_empty() {
            bail!("name must not be empty");
        }
        if let Some(p) = a.password {
            check_password(p)?;
        }
        let password_hash = a.password.map(hash_password);
        let row = accounts::create(
            &self.db,
            accounts::NewAccount {
                id: &new_id(IdPrefix::Account),
                name: a.name,
                plan: plan.as_str(),
                status: status.as_str(),
                trial_ends_at,
                credits: a.credits,
                email: a.email,
                password_hash: password_hash.as_deref(),
            },
        )
        .await
        .map_err(|e| unique(e, "an account with this email already exists"))?;
        if let (Some(email), Some(hash)) = (a.email, password_hash.as_deref()) {
            // The account's first user, its owner: who logs in to the dashboard.
            users::create(
                &self.db,
                &new_id(IdPrefix::User),
                &row.id,
                email,
                hash,
                "owner",
            )
            .await
            .map_err(|e| anyhow!("the account was made, but its owner could not be: {e}"))?;
        }
        Ok(summary(&row, None))
    }

    /// Adds a person who logs in to `account_id`'s dashboard (`role`: `owner` or `member`).
    pub async fn add_user(
        &self,
        account_id: &str,
        email: &str,
        password: &str,
        role: &str,
    ) -> anyhow::Result<AddedUser> {
        if !matches!(role, "owner" | "member") {
            bail!("--role must be owner or member, not `{role}`");
        }
        let email = email.trim();
        if !looks_like_email(email) {
            bail!("--email `{email}` is not an email address");
        }
        check_password(password)?;
        self.ensure_account(account_id).await?;
        let row = users::create(
            &self.db,
            &new_id(IdPrefix::User),
            account_id,
            email,
            &hash_password(password),
            role,
        )
        .await
        .map_err(|e| match e {
            users::AddUserError::EmailTaken => {
                anyhow!("a user with the email {email} exists already")
            }
            users::AddUserError::Db(e) => e.into(),
        })?;
        Ok(AddedUser {
            id: row.id,
            account_id: row.account_id,
            email: row.email,
            role: row.role,
            created_at: fmt_time(row.created_at),
        })
    }

    /// Changes a subscription, then tells the API processes (a canceled account is refused at once).
    pub async fn update_account(
        &self,
        id: &str,
        change: AccountChange<'_>,
    ) -> anyhow::Result<(AccountSummary, Announced)> {
        let plan = change.plan.map(parse_plan).transpose()?;
        let status = change.status.map(parse_status).transpose()?;
        let trial = change.trial_ends_at.map(parse_time).transpose()?;
        let row = accounts::update(
            &self.db,
            id,
            plan.map(Plan::as_str),
            status.map(SubscriptionStatus::as_str),
            trial,
        )
        .await?
        .ok_or_else(|| anyhow!("no account {id}"))?;
        let announced = self.announce().await;
        Ok((summary(&row, Some(announced.is_ok())), announced))
    }

    pub async fn grant_credits(&self, account_id: &str, amount: i64) -> anyhow::Result<Granted> {
        if amount <= 0 {
            bail!("the amount must be a positive number of credits");
        }
        let balance = accounts::grant_credits(&self.db, account_id, amount, "admin grant")
            .await?
            .ok_or_else(|| anyhow!("no account {account_id}"))?;
        Ok(Granted {
            account_id: account_id.to_string(),
            balance,
            granted: amount,
        })
    }

    /// An operator's correction: `amount` credits added (or, negative, taken away; never below what jobs have
    /// reserved), with a ledger entry (`adjustment`) giving `reason`.
    pub async fn adjust_credits(
        &self,
        account_id: &str,
        amount: i64,
        reason: &str,
    ) -> anyhow::Result<Adjusted> {
        if amount == 0 {
            bail!("the amount must not be 0");
        }
        if reason.trim().is_empty() {
            bail!("--reason must say why (it is kept in the ledger)");
        }
        match credits::adjust(&self.db, account_id, amount, reason.trim()).await? {
            credits::Corrected::Done(b) => Ok(Adjusted {
                account_id: account_id.to_string(),
                adjusted: amount,
                balance: b.balance,
                reserved: b.reserved,
            }),
            credits::Corrected::NoAccount => Err(anyhow!("no account {account_id}")),
            credits::Corrected::TooMuch(available) => Err(anyhow!(
                "cannot take {} credits: {available} are available (the rest is reserved for jobs)",
                -amount
            )),
        }
    }

    /// Gives a completed transcription job's charge back, once, with a ledger entry (`refund`).
    pub async fn refund_job(&self, job_id: &str) -> anyhow::Result<RefundedJob> {
        match credits::refund(&self.db, job_id, "refunded by an operator").await? {
            credits::Refunded::Done {
                account_id,
                refunded,
                balance,
            } => Ok(RefundedJob {
                job_id: job_id.to_string(),
                account_id,
                refunded,
                balance,
            }),
            credits::Refunded::Already => Err(anyhow!("job {job_id} was refunded already")),
            credits::Refunded::NothingCharged => {
                Err(anyhow!("no completed job {job_id} with a charge to refund"))
            }
        }
    }

    pub async fn create_key(
        &self,
        account_id: &str,
        name: &str,
        mode: &str,
    ) -> anyhow::Result<CreatedKey> {
        let mode = parse_mode(mode)?;
        self.ensure_account(account_id).await?;
        let key = generate_api_key(mode);
        let row = keys::create(
            &self.db,
            &new_id(IdPrefix::Key),
            account_id,
            name,
            mode.as_str(),
            &key.hash,
            &key.preview,
        )
        .await?;
        Ok(CreatedKey {
            id: row.id,
            account_id: row.account_id,
            name: row.name,
            mode: row.mode,
            api_key: key.secret,
            preview: row.preview,
            created_at: fmt_time(row.created_at),
            status: row.status,
        })
    }

    /// Revokes a key, then tells the API processes, so that it is refused from their next request on.
    pub async fn revoke_key(&self, key_id: &str) -> anyhow::Result<(RevokedKey, Announced)> {
        let row = keys::revoke(&self.db, key_id)
            .await?
            .ok_or_else(|| anyhow!("no key {key_id}"))?;
        let announced = self.announce().await;
        let revoked = RevokedKey {
            id: row.id,
            status: row.status,
            account_id: row.account_id,
            propagated: announced.is_ok(),
        };
        Ok((revoked, announced))
    }

    /// Connects a platform account from the same JSON object `POST /v1/integrations` takes, checked the same way.
    pub async fn add_integration(
        &self,
        account_id: &str,
        mode: &str,
        request: &Value,
    ) -> anyhow::Result<Connected> {
        let master = self.settings.require_master_key()?;
        let livemode = parse_mode(mode)? == KeyMode::Live;
        let connection = integration::check(request).map_err(InvalidConnection)?;
        self.ensure_account(account_id).await?;
        let (integration, created) =
            integration::connect(&self.db, master, account_id, livemode, &connection).await?;
        Ok(Connected {
            integration,
            created,
        })
    }

    async fn ensure_account(&self, account_id: &str) -> anyhow::Result<()> {
        if !accounts::exists(&self.db, account_id).await? {
            bail!("no account {account_id}");
        }
        Ok(())
    }

    async fn announce(&self) -> Announced {
        auth_epoch::announce(self.settings.redis_url(), &self.settings.redis_prefix)
            .await
            .map_err(|e| e.to_string())
    }
}

fn summary(a: &accounts::AccountRow, propagated: Option<bool>) -> AccountSummary {
    AccountSummary {
        account_id: a.id.clone(),
        name: a.name.clone(),
        plan: a.plan.clone(),
        status: a.status.clone(),
        trial_ends_at: a.trial_ends_at.map(fmt_time),
        credits: a.credits_balance,
        email: a.email.clone(),
        created_at: fmt_time(a.created_at),
        propagated,
    }
}

fn parse_plan(s: &str) -> anyhow::Result<Plan> {
    Plan::parse(s).ok_or_else(|| anyhow!("unknown plan `{s}`; expected one of {}", Plan::NAMES))
}

fn parse_status(s: &str) -> anyhow::Result<SubscriptionStatus> {
    SubscriptionStatus::parse(s).ok_or_else(|| {
        anyhow!(
            "unknown status `{s}`; expected one of {}",
            SubscriptionStatus::NAMES
        )
    })
}

fn parse_mode(s: &str) -> anyhow::Result<KeyMode> {
    KeyMode::parse(s).ok_or_else(|| anyhow!("unknown mode `{s}`; expected live or test"))
}

fn parse_time(s: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            anyhow!(
                "trial end `{s}` is not an RFC 3339 time with an offset, e.g. 2026-03-09T14:00:00.000Z"
            )
        })
}

fn unique(e: sqlx::Error, message: &str) -> anyhow::Error {
    if store::is_unique_violation(&e) {
        anyhow!("{message}")
    } else {
        e.into()
    }
}
