//! `soku admin …`: accounts, subscriptions, credits, keys and integrations. Each command prints one JSON
//! object on stdout, or fails with a one-line reason on stderr.

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::{Value, json};
use soku_shared::{
    account::{Plan, SubscriptionStatus},
    auth_epoch,
    config::Settings,
    crypto::{KeyMode, generate_api_key, hash_password, seal},
    ids::{IdPrefix, new_id},
    platform::Platform,
    post::fmt_time,
    store::{self, Db, accounts, integrations, keys},
    validate::account_id_problem,
};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Accounts and their subscription.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Credit balance.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Connected platform accounts.
    #[command(subcommand)]
    Integration(IntegrationCommand),
}

#[derive(Subcommand)]
pub enum AccountCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "trial")]
        plan: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        trial_ends_at: Option<String>,
        #[arg(long, default_value_t = 0)]
        credits: i64,
        #[arg(long, requires = "password")]
        email: Option<String>,
        #[arg(long, requires = "email")]
        password: Option<String>,
    },
    Update {
        account_id: String,
        #[arg(long)]
        plan: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        trial_ends_at: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum CreditsCommand {
    Grant { account_id: String, amount: i64 },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    Create {
        account_id: String,
        #[arg(long, default_value = "default")]
        name: String,
        #[arg(long, default_value = "live")]
        mode: String,
    },
    Revoke {
        key_id: String,
    },
}

#[derive(Subcommand)]
pub enum IntegrationCommand {
    Add {
        account_id: String,
        #[arg(long)]
        platform: String,
        #[arg(long = "account-id")]
        label: String,
        #[arg(long)]
        default: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value = "{}")]
        credentials: String,
        #[arg(long, default_value = "live")]
        mode: String,
    },
}

pub async fn run(cmd: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = store::connect(settings.database_url(), 2)
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
    let out = match cmd {
        AdminCommand::Account(AccountCommand::Create {
            name,
            plan,
            status,
            trial_ends_at,
            credits,
            email,
            password,
        }) => {
            let plan = parse_plan(&plan)?;
            let status = match status {
                Some(s) => parse_status(&s)?,
                None if plan == Plan::Trial => SubscriptionStatus::Trialing,
                None => SubscriptionStatus::Active,
            };
            let trial_ends_at = match trial_ends_at {
                Some(t) => Some(parse_time(&t)?),
                None if status == SubscriptionStatus::Trialing => {
                    Some(Utc::now() + chrono::Duration::days(14))
                }
                None => None,
            };
            if credits < 0 {
                bail!("--credits must not be negative");
            }
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let password_hash = password.as_deref().map(hash_password);
            let id = new_id(IdPrefix::Account);
            let row = accounts::create(
                &db,
                accounts::NewAccount {
                    id: &id,
                    name: &name,
                    plan: plan.as_str(),
                    status: status.as_str(),
                    trial_ends_at,
                    credits,
                    email: email.as_deref(),
                    password_hash: password_hash.as_deref(),
                },
            )
            .await
            .map_err(|e| unique(e, "an account with this email already exists"))?;
            account_json(&row)
        }
        AdminCommand::Account(AccountCommand::Update {
            account_id,
            plan,
            status,
            trial_ends_at,
        }) => {
            let plan = plan.as_deref().map(parse_plan).transpose()?;
            let status = status.as_deref().map(parse_status).transpose()?;
            let trial = trial_ends_at.as_deref().map(parse_time).transpose()?;
            let row = accounts::update(
                &db,
                &account_id,
                plan.map(Plan::as_str),
                status.map(SubscriptionStatus::as_str),
                trial,
            )
            .await?
            .ok_or_else(|| anyhow!("no account {account_id}"))?;
            let mut out = account_json(&row);
            out["propagated"] = json!(new_auth_epoch(settings).await);
            out
        }
        AdminCommand::Credits(CreditsCommand::Grant { account_id, amount }) => {
            if amount <= 0 {
                bail!("AMOUNT must be a positive number of credits");
            }
            let balance = accounts::grant_credits(&db, &account_id, amount, "admin grant")
                .await?
                .ok_or_else(|| anyhow!("no account {account_id}"))?;
            json!({ "accountId": account_id, "balance": balance, "granted": amount })
        }
        AdminCommand::Key(KeyCommand::Create {
            account_id,
            name,
            mode,
        }) => create_key(&db, &account_id, &name, &mode).await?,
        AdminCommand::Key(KeyCommand::Revoke { key_id }) => {
            let row = keys::revoke(&db, &key_id)
                .await?
                .ok_or_else(|| anyhow!("no key {key_id}"))?;
            let propagated = new_auth_epoch(settings).await;
            json!({ "id": row.id, "status": row.status, "accountId": row.account_id, "propagated": propagated })
        }
        AdminCommand::Integration(IntegrationCommand::Add {
            account_id,
            platform,
            label,
            default,
            display_name,
            credentials,
            mode,
        }) => {
            let master = settings.require_master_key()?.clone();
            let platform = Platform::parse(&platform).ok_or_else(|| {
                anyhow!("unknown platform `{platform}`; expected one of threads, x, linkedin, instagram, facebook, tiktok, youtube")
            })?;
            let mode =
                KeyMode::parse(&mode).ok_or_else(|| anyhow!("--mode must be live or test"))?;
            let creds: Value = serde_json::from_str(&credentials)
                .context("--credentials must be a JSON object")?;
            if !creds.is_object() {
                bail!("--credentials must be a JSON object");
            }
            if let Some(problem) = account_id_problem(&label) {
                bail!("--account-id {problem}");
            }
            ensure_account(&db, &account_id).await?;
            let plain = serde_json::to_vec(&creds)?;
            let upsert = integrations::Upsert {
                account_id: &account_id,
                livemode: mode == KeyMode::Live,
                platform: platform.as_str(),
                account_label: &label,
                display_name: display_name.as_deref(),
                make_default: default,
            };
            let (row, created) =
                integrations::upsert(&db, upsert, &new_id(IdPrefix::Integration), |id| {
                    seal(&master, id, &plain)
                })
                .await?;
            json!({ "id": row.id, "platform": row.platform, "accountId": row.account_label, "displayName": row.display_name,
                    "isDefault": row.is_default, "status": row.status, "livemode": row.livemode,
                    "createdAt": fmt_time(row.created_at), "created": created })
        }
    };
    println!("{out}");
    Ok(())
}

/// Tells every API process that cached key lookups are stale (revocation, subscription change): writes a new
/// auth epoch to Redis. Returns false, with a warning, when Redis cannot be reached: the change is in Postgres
/// and API processes then see it within 5 seconds (their cache's age limit).
async fn new_auth_epoch(settings: &Settings) -> bool {
    let write = async {
        let client = redis::Client::open(settings.redis_url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("SET")
            .arg(auth_epoch::key(&settings.redis_prefix))
            .arg(auth_epoch::fresh())
            .query_async::<()>(&mut conn)
            .await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), write).await {
        Ok(Ok(())) => true,
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_string(),
            };
            eprintln!(
                "warning: saved, but Redis could not be told ({why}); API processes will see the change within 5 s"
            );
            false
        }
    }
}

async fn create_key(db: &Db, account_id: &str, name: &str, mode: &str) -> anyhow::Result<Value> {
    let mode = KeyMode::parse(mode).ok_or_else(|| anyhow!("--mode must be live or test"))?;
    ensure_account(db, account_id).await?;
    let key = generate_api_key(mode);
    let row = keys::create(
        db,
        &new_id(IdPrefix::Key),
        account_id,
        name,
        mode.as_str(),
        &key.hash,
        &key.preview,
    )
    .await?;
    Ok(
        json!({ "id": row.id, "accountId": row.account_id, "name": row.name, "mode": row.mode, "apiKey": key.secret,
               "preview": row.preview, "createdAt": fmt_time(row.created_at), "status": row.status }),
    )
}

async fn ensure_account(db: &Db, account_id: &str) -> anyhow::Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    if !exists {
        bail!("no account {account_id}");
    }
    Ok(())
}

fn account_json(a: &accounts::AccountRow) -> Value {
    json!({ "accountId": a.id, "name": a.name, "plan": a.plan, "status": a.status,
            "trialEndsAt": a.trial_ends_at.map(fmt_time), "credits": a.credits_balance, "email": a.email,
            "createdAt": fmt_time(a.created_at) })
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

fn parse_time(s: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            anyhow!("`{s}` is not an RFC 3339 time with an offset, e.g. 2026-03-09T14:00:00.000Z")
        })
}

fn unique(e: sqlx::Error, message: &str) -> anyhow::Error {
    if store::is_unique_violation(&e) {
        anyhow!("{message}")
    } else {
        e.into()
    }
}
