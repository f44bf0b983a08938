-- Transcription jobs (docs/transcription.md) and the credits they move (docs/credits.md).
--
-- An account's credits: `credits_balance` is what it holds, `credits_reserved` the part held back for jobs
-- not yet settled, and balance - reserved is what a new job may reserve. Both move only with a ledger row in the
-- same transaction; a job's rows are unique per (job, kind), so settling or releasing twice changes nothing.

ALTER TABLE accounts
    ADD COLUMN credits_reserved bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT accounts_credits_reserved CHECK (credits_reserved >= 0 AND credits_reserved <= credits_balance);

ALTER TABLE credit_ledger
    ADD COLUMN kind text NOT NULL DEFAULT 'grant'
        CHECK (kind IN ('grant', 'reserve', 'charge', 'release', 'refund', 'adjustment')),
    -- The transcription job a reserve, charge, release or refund belongs to.
    ADD COLUMN job_id text,
    -- How the reserved part moved (a reserve adds, a charge and a release take back), and what it is after.
    ADD COLUMN reserved_change bigint NOT NULL DEFAULT 0,
    ADD COLUMN reserved_after bigint NOT NULL DEFAULT 0 CHECK (reserved_after >= 0);
CREATE UNIQUE INDEX credit_ledger_job_kind ON credit_ledger (job_id, kind) WHERE job_id IS NOT NULL;

CREATE TABLE transcriptions (
    id                  text PRIMARY KEY,
    account_id          text NOT NULL REFERENCES accounts (id),
    livemode            boolean NOT NULL,
    media_id            text NOT NULL,
    status              text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'canceled')),
    -- The language asked for (ISO 639-1), or NULL to let the provider detect it; `detected_language` is what
    -- the provider said.
    language            text,
    detected_language   text,
    -- The API's model name and the provider's (SOKU_TRANSCRIPTION_MODELS).
    model               text NOT NULL,
    provider_model      text NOT NULL,
    credits_per_minute  bigint NOT NULL CHECK (credits_per_minute >= 0),
    declared_seconds    double precision,
    -- Measured by decoding the audio (the worker), then what the charge is computed from.
    duration_seconds    double precision,
    credits_reserved    bigint NOT NULL DEFAULT 0 CHECK (credits_reserved >= 0),
    credits_charged     bigint NOT NULL DEFAULT 0 CHECK (credits_charged >= 0),
    progress            double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    text                text,
    segments            jsonb,
    error_code          text,
    error_message       text,
    attempts            integer NOT NULL DEFAULT 0,
    lease_owner         text,
    lease_expires_at    timestamptz,
    -- When the job is (again) to be handed to Redis (queue `transcribe`); NULL while its media is processing.
    handoff_at          timestamptz,
    request_id          text NOT NULL,
    -- Set once, by whichever of settlement, failure and cancellation comes first: the credits are final.
    settled_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz
);
CREATE INDEX transcriptions_listing ON transcriptions (account_id, livemode, created_at DESC, id DESC);
CREATE INDEX transcriptions_handoff ON transcriptions (handoff_at) WHERE status IN ('queued', 'processing');
CREATE INDEX transcriptions_waiting ON transcriptions (media_id) WHERE status = 'queued' AND handoff_at IS NULL;

-- The pieces a long recording is cut into (at silences), each transcribed alone: a chunk done is never sent
-- again, so a worker killed mid-job resumes from the chunks already done.
CREATE TABLE transcription_chunks (
    job_id          text NOT NULL REFERENCES transcriptions (id) ON DELETE CASCADE,
    idx             integer NOT NULL CHECK (idx >= 0),
    start_seconds   double precision NOT NULL,
    end_seconds     double precision NOT NULL CHECK (end_seconds > start_seconds),
    -- The chunk's segments, already shifted to the recording's time; NULL until done.
    segments        jsonb,
    text            text,
    language        text,
    attempts        integer NOT NULL DEFAULT 0,
    done_at         timestamptz,
    PRIMARY KEY (job_id, idx)
);
