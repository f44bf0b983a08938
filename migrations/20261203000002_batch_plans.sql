-- Plans of the batch lease and settle that do not depend on the statistics of the moment (docs/benchmarks.md,
-- "Worker core"). The functions' statements are planned once per connection (generic plans); planned while a
-- table was small (a fresh installation, or before a burst of scheduled posts), they chose a sequential scan
-- of publish_attempts to close attempt rows and a scan of the whole post_targets_handoff index to find the
-- targets to lease, so each batch cost grew with the number of attempts or of pending targets (5.7 ms per
-- settle of 15 targets in a burst of 10,000). Every statement here looks rows up by key, so the functions run
-- with sequential scans, hash and merge joins priced out, and the leasable states are a variable that no
-- partial index predicate can match.

CREATE OR REPLACE FUNCTION soku_lease_targets(p_ids text[], p_owner text, p_secs float8)
RETURNS TABLE (
    id text, post_id text, platform text, account_label text, integration_id text, livemode boolean,
    request_id text, content jsonb, sandbox jsonb, scheduled_time timestamptz, created_at timestamptz,
    attempt integer, round_attempts integer, platform_state jsonb, checks integer
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_posts text[];
    -- A variable, not a literal: the planner cannot match it to post_targets_handoff's predicate.
    v_leasable text[] := ARRAY['pending', 'retrying'];
BEGIN
    SELECT array_agg(DISTINCT t.post_id) INTO v_posts FROM post_targets t WHERE t.id = ANY(p_ids);
    PERFORM 1 FROM posts p WHERE p.id = ANY(v_posts) ORDER BY p.id FOR UPDATE;
    UPDATE posts p SET status = 'publishing', dispatched_at = COALESCE(p.dispatched_at, now()),
           updated_at = now()
    WHERE p.id = ANY(v_posts) AND p.status = 'queued';
    RETURN QUERY
    WITH t AS (
        UPDATE post_targets t SET status = 'publishing', attempts = t.attempts + 1,
               round_attempts = t.round_attempts + 1, lease_owner = p_owner,
               lease_expires_at = now() + make_interval(secs => p_secs), updated_at = now()
        FROM posts p
        WHERE t.id = ANY(p_ids) AND p.id = t.post_id AND p.status = 'publishing'
          AND t.status = ANY(v_leasable)
          AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= now())
        RETURNING t.*
    ), a AS (
        INSERT INTO publish_attempts (target_id, attempt, worker)
        SELECT t.id, t.attempts, p_owner FROM t
        ON CONFLICT DO NOTHING
    )
    SELECT t.id, t.post_id, t.platform, t.account_label, t.integration_id, p.livemode, p.request_id,
           p.content, p.sandbox, p.scheduled_time, p.created_at, t.attempts, t.round_attempts,
           t.platform_state, t.checks
    FROM t JOIN posts p ON p.id = t.post_id;
END;
$$;


CREATE OR REPLACE FUNCTION soku_settle_targets(
    p_ids text[], p_owner text, p_attempts integer[], p_status text[], p_platform_post_ids text[],
    p_urls text[], p_error_codes text[], p_error_messages text[], p_retryable boolean[],
    p_next timestamptz[]
) RETURNS TABLE (target_id text, post_status text) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
    v_posts text[];
    v_done text[];
BEGIN
    SELECT array_agg(DISTINCT t.post_id) INTO v_posts FROM post_targets t WHERE t.id = ANY(p_ids);
    PERFORM 1 FROM posts p WHERE p.id = ANY(v_posts) ORDER BY p.id FOR UPDATE;

    WITH s AS (
        SELECT * FROM unnest(p_ids, p_status, p_platform_post_ids, p_urls, p_error_codes, p_error_messages,
                             p_retryable, p_next)
            AS s(id, status, platform_post_id, url, error_code, error_message, retryable, next_at)
    ), u AS (
        UPDATE post_targets t SET
            status = s.status,
            platform_post_id = COALESCE(s.platform_post_id, t.platform_post_id),
            url = COALESCE(s.url, t.url),
            published_at = CASE WHEN s.status = 'published' THEN COALESCE(t.published_at, now()) END,
            error_code = CASE WHEN s.status = 'published' THEN NULL ELSE s.error_code END,
            error_message = CASE WHEN s.status = 'published' THEN NULL ELSE s.error_message END,
            error_retryable = CASE WHEN s.status = 'published' THEN NULL ELSE s.retryable END,
            next_attempt_at = s.next_at,
            handoff_at = CASE WHEN s.status = 'retrying' THEN s.next_at END,
            lease_owner = NULL,
            lease_expires_at = NULL,
            updated_at = now()
        FROM s
        WHERE t.id = s.id
          AND ((t.status IN ('publishing', 'unknown') AND t.lease_owner = p_owner)
               OR (s.status = 'published' AND t.status IN ('publishing', 'unknown', 'retrying', 'pending')))
        RETURNING t.id
    )
    SELECT array_agg(u.id) INTO v_done FROM u;

    UPDATE publish_attempts a SET
        finished_at = clock_timestamp(),
        duration_ms = (extract(epoch FROM clock_timestamp() - a.started_at) * 1000)::integer,
        outcome = s.status,
        error_code = s.error_code,
        error_message = s.error_message
    FROM unnest(p_ids, p_attempts, p_status, p_error_codes, p_error_messages)
        AS s(id, attempt, status, error_code, error_message)
    WHERE s.id = ANY(v_done) AND s.attempt IS NOT NULL
      AND a.target_id = s.id AND a.attempt = s.attempt AND a.finished_at IS NULL;

    RETURN QUERY
    WITH d AS (
        SELECT t.post_id, CASE
                 WHEN bool_or(t.status IN ('pending', 'publishing', 'retrying')
                              OR (t.status = 'unknown' AND t.next_attempt_at IS NOT NULL)) THEN 'publishing'
                 WHEN bool_and(t.status IN ('published', 'canceled')) AND bool_or(t.status = 'published')
                      THEN 'published'
                 WHEN bool_or(t.status IN ('published', 'unknown')) THEN 'partially_published'
                 ELSE 'failed'
               END AS status
        FROM post_targets t
        WHERE t.post_id IN (SELECT x.post_id FROM post_targets x WHERE x.id = ANY(v_done))
        GROUP BY t.post_id
    ), up AS (
        UPDATE posts p SET status = d.status, updated_at = now()
        FROM d WHERE p.id = d.post_id AND p.status IS DISTINCT FROM d.status AND p.status <> 'canceled'
    )
    SELECT x.id, d.status FROM post_targets x JOIN d ON d.post_id = x.post_id WHERE x.id = ANY(v_done);
END;
$$;
