-- People and their sessions (docs/dashboard.md). An account has users (the first is its owner) who log in with an
-- email and a password (argon2id hashes only). A session is one login: the dashboard's cookie or an API client's
-- refresh-token chain; ending it (logout, a reused refresh token, a password change) ends every token of it at once.

CREATE TABLE users (
    id                  text PRIMARY KEY,
    account_id          text NOT NULL REFERENCES accounts (id),
    -- Kept as given; looked up by lower(email).
    email               text NOT NULL,
    password_hash       text NOT NULL,
    role                text NOT NULL CHECK (role IN ('owner', 'member')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_account ON users (account_id);

-- The accounts made with --email and --password before users existed: their owners.
INSERT INTO users (id, account_id, email, password_hash, role)
SELECT 'usr_' || substr(md5(id), 1, 24), id, email, password_hash, 'owner'
FROM accounts WHERE email IS NOT NULL AND password_hash IS NOT NULL;

CREATE TABLE sessions (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('dashboard', 'api')),
    -- The dashboard cookie's secret (SHA-256); NULL for API sessions, which hold refresh tokens instead.
    cookie_hash   bytea UNIQUE,
    -- The dashboard's CSRF token (sent back in X-CSRF-Token on every state change).
    csrf_token    text,
    user_agent    text,
    client_ip     text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_why   text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- An API session's refresh tokens, SHA-256 only. Each refresh uses one up and makes the next; a used one
-- presented again means it was stolen (or replayed): the whole session is revoked.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
