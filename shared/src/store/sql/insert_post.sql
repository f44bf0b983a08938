-- The intake statement of `POST /v1/posts` (store::posts::insert): resolve every target to a connection, then
-- insert the post, its targets and (with a key) the finished idempotency record, all or nothing.
WITH wanted AS (
   SELECT * FROM UNNEST($8::text[], $9::int4[], $10::text[], $11::text[]) AS w(id, pos, platform, label)
), resolved AS (
   SELECT w.id, w.pos, w.platform, w.label AS requested, c.id AS integration_id,
          COALESCE(c.account_label,
                   CASE WHEN NOT $3 THEN COALESCE(w.label, 'sandbox_' || w.platform) END) AS label
   FROM wanted w LEFT JOIN LATERAL (
       SELECT i.id, i.account_label FROM integrations i
       WHERE i.account_id = $2 AND i.livemode = $3 AND i.platform = w.platform
         AND ((w.label IS NULL AND i.is_default) OR i.account_label = w.label)
       LIMIT 1) c ON true
), twins AS (
   -- Targets that land on the same connection as an earlier one ("x" and the default's label).
   SELECT pos, platform, label FROM (
       SELECT pos, platform, label,
              row_number() OVER (PARTITION BY platform, label ORDER BY pos) AS n
       FROM resolved WHERE label IS NOT NULL) r
   WHERE n > 1
), ok AS (
   SELECT bool_and(label IS NOT NULL) AS all_found,
          bool_and(label IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM twins) AS fine
   FROM resolved
), body AS (
   -- The 202 body, compact like every other response (json_build_object would add spaces).
   SELECT '{"postSubmissionId":' || to_json($1::text) || ',"status":' || to_json($4::text)
          || ',"scheduledTime":' || COALESCE(to_json($12::text)::text, 'null') || ',"targets":['
          || (SELECT string_agg('{"targetId":' || to_json(id) || ',"platform":' || to_json(platform)
                                || ',"accountId":' || to_json(label) || ',"status":"pending"}',
                                ',' ORDER BY pos)
              FROM resolved)
          || ']}' AS text
), claim AS (
   INSERT INTO idempotency_keys (account_id, livemode, key, method, path, request_hash, state,
                                 response_status, response_body)
   SELECT $2, $3, $13, $14, $15, $16, 'done', 202, convert_to((SELECT text FROM body), 'UTF8')
   WHERE $13::text IS NOT NULL AND (SELECT fine FROM ok)
   ON CONFLICT (account_id, livemode, key) DO UPDATE
     SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
         state = 'done', response_status = EXCLUDED.response_status,
         response_body = EXCLUDED.response_body, created_at = now(), locked_at = now()
     WHERE idempotency_keys.created_at < now() - make_interval(hours => $17)
   RETURNING 1
), p AS (
   INSERT INTO posts (id, account_id, livemode, status, content, scheduled_time, request_id, sandbox)
   SELECT $1, $2, $3, $4, $5, $6, $7, $18
   WHERE (SELECT fine FROM ok) AND ($13::text IS NULL OR EXISTS (SELECT 1 FROM claim))
   RETURNING id
), t AS (
   -- An immediate post's targets are pushed to Redis right after the commit; should a job be lost, the
   -- reconciler hands it over again at handoff_at ($19 s from now). A scheduled post's, at its time.
   -- Targets waiting for media ($20) are handed over when the media is done (store::media::release_waiting).
   INSERT INTO post_targets (id, post_id, position, platform, account_label, integration_id, handoff_at,
                             waiting_for)
   SELECT r.id, p.id, r.pos, r.platform, r.label, r.integration_id,
          CASE WHEN $20::bool THEN NULL
               WHEN $4::text = 'scheduled' THEN $6 ELSE now() + make_interval(secs => $19::float8) END,
          CASE WHEN $20::bool THEN 'media' END
   FROM p, resolved r
   RETURNING 1
), pm AS (
   INSERT INTO post_media (post_id, media_id)
   SELECT DISTINCT p.id, m FROM p, UNNEST($21::text[]) AS m
   RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM p) AND (SELECT count(*) FROM t) = cardinality($8::text[]) AS inserted,
       (SELECT all_found FROM ok) AS all_found,
       (SELECT text FROM body) AS body,
       (SELECT json_agg(json_build_array(platform, requested) ORDER BY pos) FROM resolved
        WHERE label IS NULL) AS missing,
       (SELECT json_agg(json_build_array(pos, platform, label) ORDER BY pos) FROM twins) AS twins
