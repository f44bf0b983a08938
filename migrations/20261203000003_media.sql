-- Media: files received by upload, fetched from a URL, or rendered from a template (docs/media.md). A row is
-- written before the client is answered; the file itself is in storage (SOKU_DATA_DIR, or a bucket) under
-- `media/<id>/…`. A `processing` row is the worker's to finish: it is handed to Redis (queue `media`) and
-- leased like a publish target, so a job lost with Redis or with a killed worker is handed over again.

CREATE TABLE media (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts (id),
    livemode          boolean NOT NULL,
    status            text NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
    source            text NOT NULL CHECK (source IN ('upload', 'url', 'template')),
    -- The URL a `url` media is fetched from (as given).
    source_url        text,
    -- The unguessable part of the file's public URL: SOKU_PUBLIC_URL/media/<token>.
    token             text NOT NULL UNIQUE,
    -- Storage keys: the bytes received, what is served (the original, or a copy without metadata), the
    -- thumbnail (an image's) or poster frame (a video's).
    original_key      text,
    served_key        text,
    thumbnail_key     text,
    file_name         text,
    mime_type         text,
    size_bytes        bigint CHECK (size_bytes >= 0),
    sha256            bytea,
    width             integer,
    height            integer,
    duration_seconds  double precision,
    -- Everything the probe found (codecs, frame rate, rotation, bitrate, audio), as the API shows it.
    probe             jsonb,
    template_slug     text,
    error_code        text,
    error_message     text,
    attempts          integer NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_expires_at  timestamptz,
    -- When the row is (again) to be handed to Redis while processing (as post_targets.handoff_at).
    handoff_at        timestamptz,
    request_id        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    ready_at          timestamptz
);
CREATE INDEX media_listing ON media (account_id, livemode, created_at DESC, id DESC);
CREATE INDEX media_handoff ON media (handoff_at) WHERE status = 'processing';
CREATE INDEX media_failed ON media (updated_at) WHERE status = 'failed';
