//! `soku admin …`: accounts, subscriptions, credits, keys and integrations. Each command prints one JSON
//! object on stdout, or fails with a one-line reason on stderr. The actions themselves are
//! `soku_shared::admin`'s; this file only turns arguments into their inputs.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use serde_json::{Map, Value};
use soku_shared::admin::{AccountChange, Admin, Announced, InvalidConnection, NewAccount};
use soku_shared::config::Settings;

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
    /// People who log in to the dashboard.
    #[command(subcommand)]
    User(UserCommand),
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
    Grant {
        account_id: String,
        amount: i64,
    },
    /// Add (or, negative, take away) credits as a correction, with a reason kept in the ledger.
    Adjust {
        account_id: String,
        #[arg(allow_negative_numbers = true)]
        amount: i64,
        #[arg(long)]
        reason: String,
    },
    /// Give a completed transcription job's charge back, once.
    Refund {
        job_id: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a person who logs in to the account's dashboard.
    Add {
        account_id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "member")]
        role: String,
    },
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
        /// A JSON object with at least `accessToken` (as `credentials` in `POST /v1/integrations`).
        #[arg(long)]
        credentials: String,
        #[arg(long, default_value = "live")]
        mode: String,
    },
}

pub async fn run(cmd: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    let admin = Admin::connect(settings).await?;
    let out = match cmd {
        AdminCommand::Account(AccountCommand::Create {
            name,
            plan,
            status,
            trial_ends_at,
            credits,
            email,
            password,
        }) => json_of(
            admin
                .create_account(NewAccount {
                    name: &name,
                    plan: &plan,
                    status: status.as_deref(),
                    trial_ends_at: trial_ends_at.as_deref(),
                    credits,
                    email: email.as_deref(),
                    password: password.as_deref(),
                })
                .await?,
        ),
        AdminCommand::Account(AccountCommand::Update {
            account_id,
            plan,
            status,
            trial_ends_at,
        }) => {
            let change = AccountChange {
                plan: plan.as_deref(),
                status: status.as_deref(),
                trial_ends_at: trial_ends_at.as_deref(),
            };
            announced(admin.update_account(&account_id, change).await?)
        }
        AdminCommand::Credits(CreditsCommand::Grant { account_id, amount }) => {
            json_of(admin.grant_credits(&account_id, amount).await?)
        }
        AdminCommand::Credits(CreditsCommand::Adjust {
            account_id,
            amount,
            reason,
        }) => json_of(admin.adjust_credits(&account_id, amount, &reason).await?),
        AdminCommand::User(UserCommand::Add {
            account_id,
            email,
            password,
            role,
        }) => json_of(
            admin
                .add_user(&account_id, &email, &password, &role)
                .await?,
        ),
        AdminCommand::Credits(CreditsCommand::Refund { job_id }) => {
            json_of(admin.refund_job(&job_id).await?)
        }
        AdminCommand::Key(KeyCommand::Create {
            account_id,
            name,
            mode,
        }) => json_of(admin.create_key(&account_id, &name, &mode).await?),
        AdminCommand::Key(KeyCommand::Revoke { key_id }) => {
            announced(admin.revoke_key(&key_id).await?)
        }
        AdminCommand::Integration(add) => add_integration(&admin, add).await?,
    };
    println!("{out}");
    Ok(())
}

async fn add_integration(admin: &Admin<'_>, cmd: IntegrationCommand) -> anyhow::Result<Value> {
    let IntegrationCommand::Add {
        account_id,
        platform,
        label,
        default,
        display_name,
        credentials,
        mode,
    } = cmd;
    let credentials: Value =
        serde_json::from_str(&credentials).context("--credentials must be a JSON object")?;
    let mut request = Map::new();
    request.insert("platform".into(), platform.into());
    request.insert("accountId".into(), label.into());
    request.insert("isDefault".into(), default.into());
    request.insert("credentials".into(), credentials);
    if let Some(name) = display_name {
        request.insert("displayName".into(), name.into());
    }
    let connected = admin
        .add_integration(&account_id, &mode, &Value::Object(request))
        .await
        .map_err(flag_names)?;
    Ok(json_of(connected))
}

/// Names the flags, not the API's fields, in a refused connection.
fn flag_names(e: anyhow::Error) -> anyhow::Error {
    let Some(InvalidConnection(fields)) = e.downcast_ref::<InvalidConnection>() else {
        return e;
    };
    let parts: Vec<String> = fields
        .iter()
        .map(|f| {
            let flag = match f.field.split_once('.') {
                Some((_, inner)) => format!("--credentials {inner}"),
                None => match f.field.as_str() {
                    "accountId" => "--account-id".to_string(),
                    "displayName" => "--display-name".to_string(),
                    "isDefault" => "--default".to_string(),
                    other => format!("--{other}"),
                },
            };
            format!("{flag} {}", f.message)
        })
        .collect();
    anyhow::anyhow!("{}", parts.join("; "))
}

fn json_of(out: impl Serialize) -> Value {
    serde_json::to_value(out).unwrap_or(Value::Null)
}

/// The summary of a change the API processes must hear of, with a warning when they could not be told.
fn announced(out: (impl Serialize, Announced)) -> Value {
    if let Err(why) = out.1 {
        eprintln!(
            "warning: saved, but Redis could not be told ({why}); API processes will see the change within 5 s"
        );
    }
    json_of(out.0)
}
