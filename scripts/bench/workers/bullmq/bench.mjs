// The reference for scripts/bench-workers.sh: Soku's publish job rebuilt on BullMQ, on the same Redis, the same
// Postgres and the same sink, so that the queue machinery is what differs.
//
//   node bench.mjs --redis redis://127.0.0.1:6379 --prefix P --pg postgres://…/scratch_db --sink http://…
//                  [--targets 20000] [--delayed 10000] [--single 200] [--concurrency 32] [--lead-ms 8000]
//
// Layout: one BullMQ queue per platform (the 7 Soku knows, `publish-<platform>` under --prefix), one Worker per
// queue with --concurrency jobs at once, all in this one Node process (producer included). Jobs are spread over
// the 4 platforms Soku's benchmark posts to (x, threads, linkedin, facebook), one job per target.
//
// The job does what Soku's publish job does to Postgres and the platform, minus Soku's bookkeeping: a conditional
// UPDATE of a post_targets-like row pending → publishing (attempts + 1, lease owner, lease expiry; no row: nothing
// to do), the HTTP POST to the sink (`POST <sink>/deliveries` {targetId, platformPostId, url}), then a conditional
// UPDATE publishing → published (only by the lease holder). Its table lives in the scratch database given; the
// rows exist before the jobs are added (as Soku's targets exist when its intake answers 202).
//
// Phases (each prints a line; the last stdout line is one JSON object with every figure):
//   throughput  --targets jobs added with addBulk while the workers run; first add → the sink's last delivery.
//   delayed     --delayed jobs due at one instant (now + --lead-ms, a whole second); lateness per job from
//               Postgres: started_at (the pending → publishing UPDATE) and published_at minus the due instant.
//   single      --single jobs one at a time: add → first delivery at the sink (the sink is reset before each).

import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import pg from 'pg';

function args() {
    const o = {};
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i += 2) o[a[i].replace(/^--/, '')] = a[i + 1];
    return o;
}
const opt = args();
const TARGETS = Number(opt.targets ?? 20000);
const DELAYED = Number(opt.delayed ?? 10000);
const SINGLE = Number(opt.single ?? 200);
const CONCURRENCY = Number(opt.concurrency ?? 32);
const LEAD_MS = Number(opt['lead-ms'] ?? 8000);
const PREFIX = opt.prefix;
const SINK = opt.sink;
const ALL_PLATFORMS = ['threads', 'x', 'linkedin', 'instagram', 'facebook', 'tiktok', 'youtube'];
const USED = ['x', 'threads', 'linkedin', 'facebook'];
const OWNER = `${os.hostname()}-${process.pid}`;

const log = (...m) => console.error('[bullmq]', ...m);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(method, path, body) {
    return new Promise((resolve, reject) => {
        const u = new URL(path, SINK);
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(
            {
                agent,
                method,
                host: u.hostname,
                port: u.port,
                path: u.pathname,
                headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
            },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
            },
        );
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}
const sinkStats = async () => JSON.parse((await request('GET', '/stats')).body);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const db = new pg.Pool({ connectionString: opt.pg, max: 32 });
await db.query(`CREATE TABLE IF NOT EXISTS bull_targets (
    id               text PRIMARY KEY,
    platform         text NOT NULL,
    status           text NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    platform_post_id text,
    url              text,
    due_at           timestamptz,
    started_at       timestamptz,
    published_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now())`);

// The publish job.
async function publish(job) {
    const id = job.data.targetId;
    const leased = await db.query(
        `UPDATE bull_targets SET status = 'publishing', attempts = attempts + 1, lease_owner = $2,
                lease_expires_at = now() + interval '30 seconds', started_at = clock_timestamp(), updated_at = now()
          WHERE id = $1 AND status IN ('pending', 'retrying')
          RETURNING platform`,
        [id, OWNER],
    );
    if (leased.rowCount === 0) return 'skipped';
    const platformPostId = String(1e18 + Math.floor(Math.random() * 8e18));
    const url = `https://sandbox.invalid/${leased.rows[0].platform}/${platformPostId}`;
    const r = await request('POST', '/deliveries', { targetId: id, platformPostId, url });
    if (r.status < 200 || r.status > 299) throw new Error(`the sink answered ${r.status}`);
    await db.query(
        `UPDATE bull_targets SET status = 'published', platform_post_id = $3, url = $4, published_at = now(),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
          WHERE id = $1 AND lease_owner = $2 AND status = 'publishing'`,
        [id, OWNER, platformPostId, url],
    );
    return 'published';
}

const clients = [];
const connection = () => {
    const c = new IORedis(opt.redis, { maxRetriesPerRequest: null });
    clients.push(c);
    return c;
};
const shared = connection();
const queues = Object.fromEntries(
    ALL_PLATFORMS.map((p) => [p, new Queue(`publish-${p}`, { connection: shared, prefix: PREFIX })]),
);
const workers = ALL_PLATFORMS.map(
    (p) => new Worker(`publish-${p}`, publish, { connection: connection(), prefix: PREFIX, concurrency: CONCURRENCY }),
);
let failed = 0;
for (const w of workers) w.on('failed', () => failed++);
await Promise.all(workers.map((w) => w.waitUntilReady()));
const jobOpts = { removeOnComplete: true, removeOnFail: 1000, attempts: 1 };

async function insertRows(ids, dueAt) {
    for (let i = 0; i < ids.length; i += 5000) {
        const chunk = ids.slice(i, i + 5000);
        await db.query(
            `INSERT INTO bull_targets (id, platform, due_at)
             SELECT id, ($2::text[])[(n - 1) % 4 + 1], $3 FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)`,
            [chunk, USED, dueAt],
        );
    }
}

// addBulk per platform queue, in chunks of 1000; job i goes to USED[i % 4] (the row's platform).
async function addAll(ids, extra = {}) {
    for (let i = 0; i < ids.length; i += 1000) {
        const byQueue = {};
        const chunk = ids.slice(i, i + 1000);
        chunk.forEach((id, k) => {
            const p = USED[(i + k) % 4];
            const opts = typeof extra === 'function' ? extra() : extra;
            (byQueue[p] ??= []).push({ name: 'publish', data: { targetId: id }, opts: { ...jobOpts, ...opts } });
        });
        await Promise.all(Object.entries(byQueue).map(([p, jobs]) => queues[p].addBulk(jobs)));
    }
}

async function waitForSink(want, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const st = await sinkStats();
        if (st.targets >= want || Date.now() > deadline) return st;
        await sleep(50);
    }
}

function cpuSince(before) {
    const d = process.cpuUsage(before);
    return Math.round((d.user + d.system) / 1000) / 1000;
}

const out = { concurrency: CONCURRENCY, queues: ALL_PLATFORMS.length, usedQueues: USED.length };

// ---- throughput
{
    await request('DELETE', '/deliveries');
    const ids = Array.from({ length: TARGETS }, (_, i) => `bt_${String(i).padStart(7, '0')}`);
    await insertRows(ids, null);
    const cpu = process.cpuUsage();
    const startMs = Date.now();
    await addAll(ids);
    const addedMs = Date.now();
    const st = await waitForSink(TARGETS, 300_000);
    const secs = (st.lastAtMs - startMs) / 1000;
    const published = (await db.query(`SELECT count(*)::int AS n FROM bull_targets WHERE id LIKE 'bt_%' AND status = 'published'`)).rows[0].n;
    out.throughput = {
        targets: TARGETS,
        delivered: st.targets,
        deliveries: st.deliveries,
        duplicates: st.duplicates,
        published,
        seconds: Math.round(secs * 100) / 100,
        targetsPerSec: Math.round(TARGETS / secs),
        addSeconds: Math.round(addedMs - startMs) / 1000,
        nodeCpuSeconds: cpuSince(cpu),
    };
    log('throughput', JSON.stringify(out.throughput));
}

// ---- delayed: every job due at one instant
{
    await request('DELETE', '/deliveries');
    const dueMs = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
    const ids = Array.from({ length: DELAYED }, (_, i) => `bd_${String(i).padStart(7, '0')}`);
    await insertRows(ids, new Date(dueMs).toISOString());
    await addAll(ids, () => ({ delay: dueMs - Date.now() }));
    const addedAheadMs = dueMs - Date.now();
    if (addedAheadMs <= 0) log(`WARNING: adding finished ${-addedAheadMs} ms after the due instant`);
    const cpu = process.cpuUsage();
    const st = await waitForSink(DELAYED, 300_000);
    const q = (
        await db.query(
            `SELECT count(*) FILTER (WHERE status = 'published')::int AS published,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at)) * 1000 AS start_p50,
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at)) * 1000 AS start_p99,
                    max(extract(epoch FROM started_at - due_at)) * 1000 AS start_max,
                    min(extract(epoch FROM started_at - due_at)) * 1000 AS start_min,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - due_at)) * 1000 AS pub_p50,
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - due_at)) * 1000 AS pub_p99,
                    max(extract(epoch FROM published_at - due_at)) * 1000 AS pub_max
               FROM bull_targets WHERE id LIKE 'bd_%'`,
        )
    ).rows[0];
    const r = (x) => (x === null ? null : Math.round(Number(x) * 10) / 10);
    out.delayed = {
        jobs: DELAYED,
        delivered: st.targets,
        duplicates: st.duplicates,
        published: q.published,
        addedAheadMs,
        startLatenessMs: { p50: r(q.start_p50), p99: r(q.start_p99), max: r(q.start_max), min: r(q.start_min) },
        publishedLatenessMs: { p50: r(q.pub_p50), p99: r(q.pub_p99), max: r(q.pub_max) },
        sinkLastMinusDueMs: st.lastAtMs - dueMs,
        drainTargetsPerSec: Math.round(DELAYED / ((st.lastAtMs - dueMs) / 1000)),
        nodeCpuSeconds: cpuSince(cpu),
    };
    log('delayed', JSON.stringify(out.delayed));
}

// ---- single jobs, one at a time
{
    const lat = [];
    const ids = Array.from({ length: SINGLE }, (_, i) => `bs_${String(i).padStart(7, '0')}`);
    await insertRows(ids, null);
    for (let i = 0; i < SINGLE; i++) {
        await request('DELETE', '/deliveries');
        await sleep(Math.random() * 100);
        const t0 = Date.now();
        await queues[USED[i % 4]].add('publish', { targetId: ids[i] }, jobOpts);
        const deadline = Date.now() + 30_000;
        for (;;) {
            const st = await sinkStats();
            if (st.targets >= 1) {
                lat.push(st.lastAtMs - t0);
                break;
            }
            if (Date.now() > deadline) break;
            await sleep(5);
        }
    }
    lat.sort((a, b) => a - b);
    const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : null);
    out.single = { jobs: SINGLE, delivered: lat.length, deliveryMs: { p50: pct(50), p99: pct(99), max: pct(100) } };
    log('single', JSON.stringify(out.single));
}

out.failedJobs = failed;
out.versions = {
    node: process.version,
    bullmq: JSON.parse(readFileSync(new URL('./node_modules/bullmq/package.json', import.meta.url))).version,
    ioredis: JSON.parse(readFileSync(new URL('./node_modules/ioredis/package.json', import.meta.url))).version,
};
await Promise.all(workers.map((w) => w.close()));
await Promise.all(Object.values(queues).map((q) => q.close()));
for (const c of clients) c.disconnect();
await db.end();
agent.destroy();
console.log(JSON.stringify(out));
process.exit(0);
