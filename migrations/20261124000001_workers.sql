-- Publishing: leases on work in progress, every attempt recorded, the sandbox platform's own records, and the
-- function that settles a target and re-derives its post's status under the post's row lock.

ALTER TABLE posts
    -- Fault-injection instructions for the sandbox (test mode only), per platform.
    ADD COLUMN sandbox       jsonb,
    -- When a dispatch job for the post was last handed to Redis (the reconciler re-hands stale ones).
    ADD COLUMN enqueued_at   timestamptz DEFAULT now(),
    -- When the dispatch job fanned the post out (scheduling lateness = dispatched_at - scheduled_time).
    ADD COLUMN dispatched_at timestamptz;

CREATE INDEX posts_scheduled_due ON posts (scheduled_time) WHERE status = 'scheduled';
CREATE INDEX posts_queued ON posts (enqueued_at) WHERE status = 'queued';

ALTER TABLE post_targets
    -- Attempts since the last manual retry: the automatic retry budget.
    ADD COLUMN round_attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    -- When a publish job for the target was last handed to Redis.
    ADD COLUMN enqueued_at      timestamptz,
    -- Platform-side ids stored the moment they exist (container id, upload URI...), so a retry resumes.
    ADD COLUMN platform_state   jsonb NOT NULL DEFAULT '{}',
    -- Checks made of an `unknown` target against its platform.
    ADD COLUMN checks           integer NOT NULL DEFAULT 0;

CREATE INDEX post_targets_waiting ON post_targets (next_attempt_at NULLS FIRST)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX post_targets_leased ON post_targets (lease_expires_at) WHERE status = 'publishing';
CREATE INDEX post_targets_unknown ON post_targets (next_attempt_at) WHERE status = 'unknown';

CREATE TABLE publish_attempts (
    target_id     text NOT NULL REFERENCES post_targets (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    worker        text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at   timestamptz,
    duration_ms   integer,
    outcome       text CHECK (outcome IN ('published', 'retrying', 'failed', 'unknown', 'interrupted')),
    error_code    text,
    error_message text,
    PRIMARY KEY (target_id, attempt)
);

-- The sandbox platform's side: what it accepted, as a platform would keep it. `client_ref` is the target id
-- (the sandbox's equivalent of looking a post up on the platform). Not unique on purpose: a duplicate
-- delivery must be visible, never merged away.
CREATE TABLE sandbox_posts (
    platform_post_id text PRIMARY KEY,
    platform         text NOT NULL,
    account_label    text NOT NULL,
    client_ref       text NOT NULL,
    url              text NOT NULL,
    body             jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_posts_ref ON sandbox_posts (client_ref);

-- Settles one attempt of a target and re-derives its post's status. The post row is locked first, so two
-- targets of one post settling at once are serialized and the second sees the first (each statement of a
-- plpgsql function reads a fresh snapshot). Returns the post's status afterwards, NULL when the target was no
-- longer this worker's (its lease expired and someone else took it over), in which case nothing changes.
CREATE FUNCTION soku_settle_target(
    p_target text, p_owner text, p_attempt integer, p_status text,
    p_platform_post_id text, p_url text, p_error_code text, p_error_message text,
    p_retryable boolean, p_next_attempt_at timestamptz
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_post text;
    v_status text;
BEGIN
    SELECT post_id INTO v_post FROM post_targets WHERE id = p_target;
    IF v_post IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM posts WHERE id = v_post FOR UPDATE;

    -- A published outcome is a fact and is recorded even after the lease was lost; anything else only by
    -- the lease holder.
    UPDATE post_targets SET
        status = p_status,
        platform_post_id = COALESCE(p_platform_post_id, platform_post_id),
        url = COALESCE(p_url, url),
        published_at = CASE WHEN p_status = 'published' THEN COALESCE(published_at, now()) END,
        error_code = CASE WHEN p_status = 'published' THEN NULL ELSE p_error_code END,
        error_message = CASE WHEN p_status = 'published' THEN NULL ELSE p_error_message END,
        error_retryable = CASE WHEN p_status = 'published' THEN NULL ELSE p_retryable END,
        next_attempt_at = p_next_attempt_at,
        enqueued_at = NULL,
        lease_owner = NULL,
        lease_expires_at = NULL,
        updated_at = now()
    WHERE id = p_target
      AND ((status = 'publishing' AND lease_owner = p_owner)
           OR (status = 'unknown' AND lease_owner = p_owner)
           OR (p_status = 'published' AND status IN ('publishing', 'unknown', 'retrying', 'pending')));
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    IF p_attempt IS NOT NULL THEN
        UPDATE publish_attempts SET
            finished_at = clock_timestamp(),
            duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::integer,
            outcome = p_status,
            error_code = p_error_code,
            error_message = p_error_message
        WHERE target_id = p_target AND attempt = p_attempt AND finished_at IS NULL;
    END IF;

    SELECT CASE
             WHEN bool_or(status IN ('pending', 'publishing', 'retrying')
                          OR (status = 'unknown' AND next_attempt_at IS NOT NULL)) THEN 'publishing'
             WHEN bool_and(status IN ('published', 'canceled')) AND bool_or(status = 'published') THEN 'published'
             WHEN bool_or(status IN ('published', 'unknown')) THEN 'partially_published'
             ELSE 'failed'
           END INTO v_status
    FROM post_targets WHERE post_id = v_post;

    UPDATE posts SET status = v_status, updated_at = now()
    WHERE id = v_post AND status IS DISTINCT FROM v_status AND status <> 'canceled';
    RETURN v_status;
END;
$$;
