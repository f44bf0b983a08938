-- Soku's initial schema: accounts and their subscription, credits ledger, API keys (hashes only),
-- platform connections (credentials encrypted), posts and their targets, idempotency records.

CREATE TABLE accounts (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    plan            text NOT NULL CHECK (plan IN ('trial', 'starter', 'pro', 'business')),
    status          text NOT NULL CHECK (status IN ('trialing', 'active', 'canceled', 'expired', 'past_due')),
    trial_ends_at   timestamptz,
    credits_balance bigint NOT NULL DEFAULT 0 CHECK (credits_balance >= 0),
    email           text UNIQUE,
    password_hash   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE credit_ledger (
    id            bigserial PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id),
    amount        bigint NOT NULL,
    reason        text NOT NULL,
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_ledger_account ON credit_ledger (account_id, id);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts (id),
    name         text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('live', 'test')),
    key_hash     bytea NOT NULL UNIQUE,
    preview      text NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE integrations (
    id                 text PRIMARY KEY,
    account_id         text NOT NULL REFERENCES accounts (id),
    livemode           boolean NOT NULL,
    platform           text NOT NULL,
    account_label      text NOT NULL,
    display_name       text,
    is_default         boolean NOT NULL DEFAULT false,
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reauth')),
    credentials_sealed bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX integrations_label ON integrations (account_id, livemode, platform, account_label);
CREATE UNIQUE INDEX integrations_default ON integrations (account_id, livemode, platform) WHERE is_default;

CREATE TABLE posts (
    id             text PRIMARY KEY,
    account_id     text NOT NULL REFERENCES accounts (id),
    livemode       boolean NOT NULL,
    status         text NOT NULL CHECK (status IN ('scheduled', 'queued', 'publishing', 'published',
                                                   'partially_published', 'failed', 'canceled')),
    content        jsonb NOT NULL,
    scheduled_time timestamptz,
    request_id     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_listing ON posts (account_id, livemode, created_at DESC, id DESC);
CREATE INDEX posts_due ON posts (scheduled_time) WHERE status IN ('scheduled', 'queued');

CREATE TABLE post_targets (
    id                  text PRIMARY KEY,
    post_id             text NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position            integer NOT NULL,
    platform            text NOT NULL,
    account_label       text NOT NULL,
    integration_id      text,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'publishing', 'retrying', 'published', 'failed',
                                          'unknown', 'canceled')),
    attempts            integer NOT NULL DEFAULT 0,
    platform_post_id    text,
    url                 text,
    published_at        timestamptz,
    error_code          text,
    error_message       text,
    error_retryable     boolean,
    next_attempt_at     timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (post_id, position)
);

CREATE TABLE idempotency_keys (
    account_id      text NOT NULL REFERENCES accounts (id),
    livemode        boolean NOT NULL,
    key             text NOT NULL,
    method          text NOT NULL,
    path            text NOT NULL,
    request_hash    bytea NOT NULL,
    state           text NOT NULL CHECK (state IN ('in_progress', 'done')),
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    locked_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, livemode, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
