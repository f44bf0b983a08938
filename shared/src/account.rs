//! Accounts and their subscription: plans, statuses, and who may use the API.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Trial,
    Starter,
    Pro,
    Business,
}

impl Plan {
    pub const NAMES: &'static str = "trial, starter, pro, business";

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Trial => "trial",
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Business => "business",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        Some(match s {
            "trial" => Plan::Trial,
            "starter" => Plan::Starter,
            "pro" => Plan::Pro,
            "business" => Plan::Business,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    Canceled,
    Expired,
    PastDue,
}

impl SubscriptionStatus {
    pub const NAMES: &'static str = "trialing, active, canceled, expired, past_due";

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Expired => "expired",
            SubscriptionStatus::PastDue => "past_due",
        }
    }

    pub fn parse(s: &str) -> Option<SubscriptionStatus> {
        Some(match s {
            "trialing" => SubscriptionStatus::Trialing,
            "active" => SubscriptionStatus::Active,
            "canceled" => SubscriptionStatus::Canceled,
            "expired" => SubscriptionStatus::Expired,
            "past_due" => SubscriptionStatus::PastDue,
            _ => return None,
        })
    }
}

/// Whether a subscription lets the account use the API at `now`: `active`, or `trialing` before its end.
pub fn subscription_allows(
    status: SubscriptionStatus,
    trial_ends_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    match status {
        SubscriptionStatus::Active => true,
        SubscriptionStatus::Trialing => trial_ends_at.is_none_or(|end| end > now),
        _ => false,
    }
}
