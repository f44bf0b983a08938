// Load generator for scripts/bench-workers.sh: posts to Soku's intake API and times deliveries at the sink.
// Node's standard library only (keep-alive http agent); every mode prints one JSON object on stdout.
//
//   node soku-load.mjs burst  --api URL --key sk_test_… --posts N [--concurrency C] [--platforms x,threads]
//                             [--scheduled ISO] [--rotate] [--tag T]
//       N posts as fast as C connections allow. --scheduled: every post due at that instant. --rotate: each
//       post gets ONE of the platforms, in turn (instead of all of them).
//   node soku-load.mjs steady --api URL --key … --rate R --seconds S [--concurrency C] [--platforms …]
//       R posts a second for S seconds (each request starts at its slot; late slots are sent at once).
//   node soku-load.mjs single --api URL --key … --sink URL --posts N [--platforms …]
//       one post at a time: reset the sink, POST, wait until every target is delivered; per post the time from
//       just before the POST to the first and to the last delivery (the sink's clock, same machine).

import http from 'node:http';

function args() {
    const [mode, ...rest] = process.argv.slice(2);
    const o = { mode };
    for (let i = 0; i < rest.length; i++) {
        const k = rest[i].replace(/^--/, '');
        const v = rest[i + 1];
        if (v === undefined || v.startsWith('--')) {
            o[k] = true;
        } else {
            o[k] = v;
            i++;
        }
    }
    return o;
}

const opt = args();
const concurrency = Number(opt.concurrency ?? 32);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency + 2 });
const platforms = String(opt.platforms ?? 'x,threads,linkedin,facebook').split(',');
const tag = opt.tag ?? Math.random().toString(36).slice(2, 8);

function request(base, method, path, body, headers = {}) {
    return new Promise((resolve, reject) => {
        const u = new URL(path, base);
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(
            {
                agent,
                method,
                host: u.hostname,
                port: u.port,
                path: u.pathname,
                headers: {
                    ...headers,
                    ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
                },
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

function postBody(i) {
    const list = opt.rotate ? [platforms[i % platforms.length]] : platforms;
    const body = { post: { content: { text: `Benchmark ${tag} #${i}: the publishing pipeline.`, platform: list } } };
    if (opt.scheduled) body.scheduledTime = opt.scheduled;
    return body;
}

const auth = { authorization: `Bearer ${opt.key}` };
const statuses = {};
const samples = [];
let errors = 0;
let firstBody = null;

async function sendPost(i) {
    const t0 = performance.now();
    try {
        const r = await request(opt.api, 'POST', '/v1/posts', postBody(i), auth);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status !== 202 && firstBody === null) firstBody = r.body.slice(0, 300);
        samples.push(performance.now() - t0);
        return r;
    } catch (e) {
        errors++;
        if (firstBody === null) firstBody = String(e);
        return null;
    }
}

function pct(sorted, p) {
    if (sorted.length === 0) return null;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Math.round(sorted[i] * 10) / 10;
}

function summary(extra) {
    const s = samples.slice().sort((a, b) => a - b);
    return {
        statuses,
        errors,
        firstNon202: firstBody,
        postMs: { p50: pct(s, 50), p99: pct(s, 99), max: pct(s, 100) },
        cpuSeconds: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1e4) / 100,
        ...extra,
    };
}

async function burst() {
    const n = Number(opt.posts);
    let next = 0;
    const startMs = Date.now();
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < n) await sendPost(next++);
        }),
    );
    const endMs = Date.now();
    console.log(JSON.stringify(summary({ posts: n, startMs, endMs, postsPerSec: Math.round((n / (endMs - startMs)) * 1e4) / 10 })));
}

async function steady() {
    const rate = Number(opt.rate);
    const n = Math.round(rate * Number(opt.seconds));
    let next = 0;
    let maxBehindMs = 0;
    const startMs = Date.now();
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < n) {
                const i = next++;
                const due = startMs + (i * 1000) / rate;
                const wait = due - Date.now();
                if (wait > 0) await new Promise((r) => setTimeout(r, wait));
                else maxBehindMs = Math.max(maxBehindMs, -wait);
                await sendPost(i);
            }
        }),
    );
    const endMs = Date.now();
    console.log(
        JSON.stringify(
            summary({ posts: n, startMs, endMs, postsPerSec: Math.round((n / (endMs - startMs)) * 1e4) / 10, maxBehindMs: Math.round(maxBehindMs) }),
        ),
    );
}

async function single() {
    const n = Number(opt.posts);
    const first = [];
    const last = [];
    const want = platforms.length;
    for (let i = 0; i < n; i++) {
        await request(opt.sink, 'DELETE', '/deliveries');
        // A random pause, so that posts land at every phase of the workers' polling cycle.
        await new Promise((r) => setTimeout(r, Math.random() * 100));
        const t0 = Date.now();
        const r = await sendPost(i);
        if (!r || r.status !== 202) continue;
        const deadline = Date.now() + 30_000;
        for (;;) {
            const st = JSON.parse((await request(opt.sink, 'GET', '/stats')).body);
            if (st.targets >= want) {
                first.push(st.firstAtMs - t0);
                last.push(st.lastAtMs - t0);
                break;
            }
            if (Date.now() > deadline) {
                errors++;
                break;
            }
            await new Promise((r) => setTimeout(r, 5));
        }
    }
    first.sort((a, b) => a - b);
    last.sort((a, b) => a - b);
    console.log(
        JSON.stringify(
            summary({
                posts: n,
                delivered: last.length,
                firstDeliveryMs: { p50: pct(first, 50), p99: pct(first, 99), max: pct(first, 100) },
                lastDeliveryMs: { p50: pct(last, 50), p99: pct(last, 99), max: pct(last, 100) },
            }),
        ),
    );
}

const modes = { burst, steady, single };
if (!modes[opt.mode]) {
    console.error('usage: node soku-load.mjs burst|steady|single --api URL --key KEY ...');
    process.exit(2);
}
await modes[opt.mode]();
agent.destroy();
