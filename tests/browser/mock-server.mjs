// A stand-in for Soku's dashboard backend, for developing the dashboard's pages and running the browser test
// without Postgres or Redis: it serves api/src/dashboard/assets/ and answers the dashboard's endpoints (and
// POST /v1/posts) with fake data in memory, per the dashboard contract. Not used in production.
//
//   node mock-server.mjs [--port 8090] [--host 127.0.0.1]
//
// Log in with SOKU_EMAIL / SOKU_PASSWORD (default demo@soku.dev / correct-horse-battery).
// Also importable: startMockServer({ port, host, email, password }) → { url, close, state }.

import { randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ASSETS_DIR = path.resolve(HERE, "../../api/src/dashboard/assets");

export const CSP =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

const TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
};

const PAGES = {
    "/settings/api": "keys.html",
    "/posts": "posts.html",
    "/integrations": "integrations.html",
    "/account": "account.html",
};

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(n) {
    let out = "";
    while (out.length < n) {
        for (const b of randomBytes(n * 2)) {
            // 248 = 4 * 62: no bias towards the first characters.
            if (b < 248 && out.length < n) out += BASE62[b % 62];
        }
    }
    return out;
}

const id = (prefix) => `${prefix}_${base62(24)}`;
const iso = (msAgo) => new Date(Date.now() - msAgo).toISOString().replace(/\.(\d{3})\d*Z$/, ".$1Z");
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function preview(key) {
    const m = /^(sk_(?:live|test)_)(.*)$/.exec(key);
    return `${m[1]}${m[2].slice(0, 3)}…${m[2].slice(-3)}`;
}

function seedKeys() {
    const make = (name, mode, createdAgo, lastUsedAgo, status = "active") => {
        const apiKey = `sk_${mode}_${base62(40)}`;
        return {
            id: id("key"),
            name,
            mode,
            apiKey,
            preview: preview(apiKey),
            createdAt: iso(createdAgo),
            lastUsedAt: lastUsedAgo === null ? null : iso(lastUsedAgo),
            status,
        };
    };
    return [
        make("Production server", "live", 62 * DAY, 4 * MIN),
        make("Zapier automation", "live", 21 * DAY, 3 * HOUR),
        make("CI — staging", "test", 9 * DAY, 2 * DAY),
        make("Old laptop", "live", 140 * DAY, 95 * DAY, "revoked"),
    ];
}

const TEXTS = [
    "Launch day! Soku 2.0 is live: schedule once, publish everywhere. Thread below on what changed and why we rebuilt the queue from scratch 🧵",
    "Behind the scenes of our spring collection shoot. Swipe for the outtakes.",
    "We're hiring a senior Rust engineer to work on publishing infrastructure. Remote, EU time zones. Link in bio.",
    "Reminder: our community call is tomorrow at 17:00 CET. Bring your questions about the new transcription API.",
    "5 tips for writing captions that work on every platform at once — and the one rule that trips everyone up.",
    "Weekly changelog: faster media ingest, share images in 12 new templates, and a fix for scheduled posts across DST.",
    "Thank you for 10,000 followers! To celebrate we're giving away three annual Pro plans. Reply to enter.",
    "New tutorial: publish a product video to YouTube, TikTok and Instagram Reels with one API call.",
    "Maintenance window this Sunday 02:00–02:30 UTC. Scheduled posts will go out right after.",
    "Our state of social publishing report is out: 4,200 teams, 31 million posts, and what the best ones do differently.",
];

const PLATFORM_SETS = [
    ["threads", "x", "linkedin"],
    ["instagram", "facebook"],
    ["linkedin"],
    ["x", "threads"],
    ["youtube", "tiktok", "instagram"],
    ["facebook", "linkedin", "x"],
];

const URLS = {
    threads: (n) => `https://www.threads.net/@brand/post/C${n}xY`,
    x: (n) => `https://x.com/brand/status/18934567890${n}`,
    linkedin: (n) => `https://www.linkedin.com/feed/update/urn:li:share:71${n}`,
    instagram: (n) => `https://www.instagram.com/p/C${n}aBc/`,
    facebook: (n) => `https://www.facebook.com/brand/posts/pfbid0${n}`,
    tiktok: (n) => `https://www.tiktok.com/@brand/video/73${n}`,
    youtube: (n) => `https://www.youtube.com/watch?v=dQw${n}Xc`,
};

function seedPosts(mode, count) {
    const posts = [];
    for (let i = 0; i < count; i++) {
        const platforms = PLATFORM_SETS[i % PLATFORM_SETS.length];
        const createdAgo = (i + 1) * 5 * HOUR + i * 17 * MIN;
        const kind = i % 7;
        let status;
        const targets = platforms.map((platform, j) => {
            let tStatus = "published";
            let error = null;
            if (kind === 1 && j === platforms.length - 1) {
                tStatus = "failed";
                error = {
                    code: "token_expired",
                    message: `${platform} refused the access token and the refresh failed: reconnect the account, then retry.`,
                    retryable: false,
                };
            } else if (kind === 3) {
                tStatus = "pending";
            } else if (kind === 4 && j === 0) {
                tStatus = "retrying";
                error = {
                    code: "rate_limited",
                    message: `${platform} answered 429 Too Many Requests; its limit resets in 41 s`,
                    retryable: true,
                };
            } else if (kind === 6) {
                tStatus = "failed";
                error = {
                    code: "platform_rejected",
                    message: `${platform} refused the post: the text is over its length limit.`,
                    retryable: false,
                };
            }
            const n = 1000 + i * 10 + j;
            return {
                targetId: id("tgt"),
                platform,
                accountId: mode === "test" ? `sandbox_${platform}` : `brand_${platform}`,
                status: tStatus,
                attempts: tStatus === "pending" ? 0 : 1,
                platformPostId: tStatus === "published" ? String(n) : null,
                url: tStatus === "published" ? URLS[platform](n) : null,
                platformPostUrl: tStatus === "published" ? URLS[platform](n) : null,
                publishedAt: tStatus === "published" ? iso(createdAgo - 2000) : null,
                error,
            };
        });
        if (kind === 1) status = "partially_published";
        else if (kind === 3) status = "scheduled";
        else if (kind === 4) status = "publishing";
        else if (kind === 6) status = "failed";
        else status = "published";
        posts.push({
            postSubmissionId: id("post"),
            status,
            livemode: mode === "live",
            content: {
                text: (mode === "test" ? "[test] " : "") + TEXTS[i % TEXTS.length],
                mediaType: kind === 2 ? "image" : kind === 5 ? "video" : "text",
                platform: platforms,
            },
            scheduledTime: kind === 3 ? new Date(Date.now() + (i + 2) * DAY).toISOString() : null,
            createdAt: iso(createdAgo),
            targets,
        });
    }
    return posts;
}

function seedIntegrations() {
    const make = (platform, accountId, displayName, isDefault, createdAgo, status = "active") => ({
        id: id("int"),
        platform,
        accountId,
        displayName,
        isDefault,
        status,
        livemode: true,
        createdAt: iso(createdAgo),
    });
    return {
        live: [
            make("threads", "brand_threads", "Acme on Threads", true, 40 * DAY),
            make("x", "brand_x", "@acme", true, 38 * DAY),
            make("linkedin", "brand_linkedin", "Acme Studio (company page)", true, 30 * DAY),
            make("instagram", "brand_instagram", "acme.studio", true, 12 * DAY, "needs_reauth"),
            make("instagram", "ig_events", "Acme Events", false, 3 * DAY),
        ],
        test: [],
    };
}

function errorBody(code, message, requestId) {
    return {
        error: { code, message, timestamp: new Date().toISOString(), requestId },
    };
}

function parseCookies(header) {
    const out = {};
    for (const part of String(header || "").split(";")) {
        const eq = part.indexOf("=");
        if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    return out;
}

async function readJson(req, limit = 1 << 20) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        size += chunk.length;
        if (size > limit) throw Object.assign(new Error("too large"), { status: 413 });
        chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const type = String(req.headers["content-type"] || "").toLowerCase();
    if (!type.startsWith("application/json")) {
        throw Object.assign(new Error("Send the body as JSON with `Content-Type: application/json`."), {
            status: 400,
            code: "invalid_content_type",
        });
    }
    try {
        return JSON.parse(text);
    } catch {
        throw Object.assign(new Error("The body is not valid JSON."), { status: 400, code: "invalid_json" });
    }
}

export async function startMockServer({
    port = 0,
    host = "127.0.0.1",
    email = process.env.SOKU_EMAIL || "demo@soku.dev",
    password = process.env.SOKU_PASSWORD || "correct-horse-battery",
    quiet = true,
} = {}) {
    const assetNames = new Set((await readdir(ASSETS_DIR)).filter((n) => /^[A-Za-z0-9._-]+$/.test(n)));
    const state = {
        user: { email, password },
        account: {
            id: "acct_Q2lhbmRyZWFTb2t1RGVtbzAx",
            name: "Acme Studio",
            plan: "pro",
            status: "trialing",
            trialEndsAt: new Date(Date.now() + 11 * DAY).toISOString(),
        },
        credits: { balance: 12500, reserved: 300, available: 12200 },
        keys: seedKeys(),
        posts: { live: seedPosts("live", 26), test: seedPosts("test", 4) },
        integrations: seedIntegrations(),
        sessions: new Map(), // token → { csrf }
        failures: [], // times of failed logins
    };

    function send(res, status, body, headers = {}) {
        const payload = body === undefined ? "" : JSON.stringify(body);
        res.writeHead(status, {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            ...headers,
        });
        res.end(payload);
    }

    function session(req) {
        const token = parseCookies(req.headers.cookie).soku_session;
        return token && state.sessions.has(token) ? { token, ...state.sessions.get(token) } : null;
    }

    async function serveFile(res, name, status = 200) {
        const body = await readFile(path.join(ASSETS_DIR, name));
        const type = TYPES[path.extname(name)] || "application/octet-stream";
        res.writeHead(status, {
            "Content-Type": type,
            "Cache-Control": name.endsWith(".html") ? "no-store" : "no-cache",
        });
        res.end(body);
    }

    function pageOfPosts(list, cursor, limit = 20) {
        let start = 0;
        if (cursor) {
            const n = Number(Buffer.from(cursor, "base64url").toString("utf8"));
            if (!Number.isInteger(n) || n < 0) return null;
            start = n;
        }
        const data = list.slice(start, start + limit);
        const hasMore = start + limit < list.length;
        return {
            data,
            hasMore,
            nextCursor: hasMore ? Buffer.from(String(start + limit)).toString("base64url") : null,
        };
    }

    async function handle(req, res) {
        const url = new URL(req.url, "http://mock");
        const p = url.pathname;
        const method = req.method;
        const requestId = `req_${base62(24)}`;
        res.setHeader("Content-Security-Policy", CSP);
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.setHeader("Referrer-Policy", "same-origin");
        res.setHeader("X-Frame-Options", "DENY");
        res.setHeader("X-Request-ID", requestId);
        const fail = (status, code, message, headers) => send(res, status, errorBody(code, message, requestId), headers);

        // ----- Pages and assets -----
        if (method === "GET" && p === "/") {
            res.writeHead(303, { Location: "/settings/api" });
            return res.end();
        }
        if (method === "GET" && p === "/login") return serveFile(res, "login.html");
        if (method === "GET" && PAGES[p]) {
            if (!session(req)) {
                res.writeHead(303, { Location: "/login" });
                return res.end();
            }
            return serveFile(res, PAGES[p]);
        }
        if (method === "GET" && p.startsWith("/dashboard/assets/")) {
            const name = p.slice("/dashboard/assets/".length);
            if (assetNames.has(name)) return serveFile(res, name);
            return fail(404, "not_found", "Not found.");
        }

        // ----- Login, logout -----
        if (p === "/dashboard/login" && method === "POST") {
            const now = Date.now();
            state.failures = state.failures.filter((t) => now - t < MIN);
            if (state.failures.length >= 5) {
                const retry = Math.max(1, Math.ceil((state.failures[0] + MIN - now) / 1000));
                return fail(429, "rate_limited", `Too many login attempts; retry after ${retry} seconds.`, {
                    "Retry-After": String(retry),
                });
            }
            const body = await readJson(req);
            if (body?.email !== state.user.email || body?.password !== state.user.password) {
                state.failures.push(now);
                return fail(401, "unauthorized", "Wrong email or password.");
            }
            const token = base62(43);
            const csrf = base62(32);
            state.sessions.set(token, { csrf });
            return send(
                res,
                200,
                { user: { email: state.user.email }, account: { id: state.account.id, name: state.account.name } },
                {
                    "Set-Cookie": [
                        `soku_session=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`,
                        `soku_csrf=${csrf}; Path=/; SameSite=Strict; Max-Age=43200`,
                    ],
                },
            );
        }
        if (p === "/dashboard/logout" && method === "POST") {
            const s = session(req);
            if (s) {
                if (req.headers["x-csrf-token"] !== s.csrf) {
                    return fail(403, "forbidden", "Missing or invalid CSRF token.");
                }
                state.sessions.delete(s.token);
            }
            return send(
                res,
                200,
                { ok: true },
                {
                    "Set-Cookie": [
                        "soku_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                        "soku_csrf=; Path=/; SameSite=Strict; Max-Age=0",
                    ],
                },
            );
        }

        // ----- The dashboard's JSON API -----
        if (p.startsWith("/dashboard/api/")) {
            const s = session(req);
            if (!s) return fail(401, "unauthorized", "Log in to continue.");
            if (method !== "GET" && req.headers["x-csrf-token"] !== s.csrf) {
                return fail(403, "forbidden", "Missing or invalid CSRF token.");
            }
            const rest = p.slice("/dashboard/api/".length);
            const mode = url.searchParams.get("mode") ?? "live";

            if (rest === "me" && method === "GET") {
                return send(res, 200, { user: { email: state.user.email }, account: state.account, credits: state.credits });
            }
            if (rest === "keys" && method === "GET") {
                const data = state.keys.map(({ apiKey: _secret, ...k }) => k);
                return send(res, 200, { data });
            }
            if (rest === "keys" && method === "POST") {
                const body = await readJson(req);
                const name = typeof body?.name === "string" ? body.name.trim() : "";
                if (!name || name.length > 100) {
                    return fail(400, "validation_error", "Validation failed: name: must be 1 to 100 characters");
                }
                if (body.mode !== "live" && body.mode !== "test") {
                    return fail(400, "validation_error", "Validation failed: mode: must be `live` or `test`");
                }
                const apiKey = `sk_${body.mode}_${base62(40)}`;
                const key = {
                    id: id("key"),
                    name,
                    mode: body.mode,
                    apiKey,
                    preview: preview(apiKey),
                    createdAt: new Date().toISOString(),
                    lastUsedAt: null,
                    status: "active",
                };
                state.keys.unshift(key);
                const { lastUsedAt: _l, ...created } = key;
                return send(res, 201, created);
            }
            const keyMatch = /^keys\/([A-Za-z0-9_]{1,100})$/.exec(rest);
            if (keyMatch && method === "DELETE") {
                const key = state.keys.find((k) => k.id === keyMatch[1]);
                if (!key) return fail(404, "not_found", "No such key.");
                key.status = "revoked";
                return send(res, 200, { id: key.id, status: "revoked" });
            }
            if (rest === "posts" && method === "GET") {
                if (mode !== "live" && mode !== "test") {
                    return fail(400, "validation_error", "Validation failed: mode: must be `live` or `test`");
                }
                const page = pageOfPosts(state.posts[mode], url.searchParams.get("cursor"));
                if (!page) return fail(400, "validation_error", "Validation failed: cursor: not a cursor of this API");
                return send(res, 200, page);
            }
            if (rest === "integrations" && method === "GET") {
                if (mode !== "live" && mode !== "test") {
                    return fail(400, "validation_error", "Validation failed: mode: must be `live` or `test`");
                }
                return send(res, 200, { data: state.integrations[mode] });
            }
            if (rest === "password" && method === "POST") {
                const body = await readJson(req);
                if (typeof body?.currentPassword !== "string" || typeof body?.newPassword !== "string") {
                    return fail(400, "validation_error", "Validation failed: currentPassword and newPassword are required");
                }
                if (body.currentPassword !== state.user.password) {
                    return fail(401, "unauthorized", "The current password is wrong.");
                }
                if (body.newPassword.length < 8) {
                    return fail(400, "validation_error", "Validation failed: newPassword: must be at least 8 characters");
                }
                state.user.password = body.newPassword;
                return send(res, 200, { ok: true });
            }
            return fail(404, "not_found", "Not found.");
        }

        // ----- POST /v1/posts, for the browser test's use of a new key -----
        if (p === "/v1/posts" && method === "POST") {
            const given = req.headers["soku-api-key"];
            const key = state.keys.find((k) => k.apiKey === given);
            if (!key) return fail(401, "unauthorized", "Invalid or missing API key.");
            if (key.status !== "active") {
                return fail(401, "unauthorized", "This API key has been revoked. Create a new key and use it instead.");
            }
            const body = await readJson(req);
            const content = body?.post?.content;
            if (!content || !Array.isArray(content.platform) || !content.platform.length) {
                return fail(400, "validation_error", "Validation failed: post.content.platform: is required");
            }
            key.lastUsedAt = new Date().toISOString();
            const post = {
                postSubmissionId: id("post"),
                status: "queued",
                livemode: key.mode === "live",
                content: { text: content.text ?? null, mediaType: content.mediaType || "text", platform: content.platform },
                scheduledTime: null,
                createdAt: new Date().toISOString(),
                targets: content.platform.map((entry) => {
                    const platform = typeof entry === "string" ? entry : entry.platform;
                    return {
                        targetId: id("tgt"),
                        platform,
                        accountId: key.mode === "test" ? `sandbox_${platform}` : `brand_${platform}`,
                        status: "pending",
                        attempts: 0,
                        platformPostId: null,
                        url: null,
                        platformPostUrl: null,
                        publishedAt: null,
                        error: null,
                    };
                }),
            };
            state.posts[key.mode].unshift(post);
            const { postSubmissionId, status, scheduledTime, targets } = post;
            return send(res, 202, {
                postSubmissionId,
                status,
                scheduledTime,
                targets: targets.map(({ targetId, platform, accountId, status: st }) => ({
                    targetId,
                    platform,
                    accountId,
                    status: st,
                })),
            });
        }

        return fail(404, "not_found", "Not found.");
    }

    const server = http.createServer((req, res) => {
        const started = Date.now();
        handle(req, res)
            .catch((err) => {
                if (res.headersSent) return res.destroy();
                const status = err.status || 500;
                send(res, status, errorBody(err.code || (status === 500 ? "internal_error" : "invalid_request"), err.message, "req_mock"));
            })
            .finally(() => {
                if (!quiet) console.log(`${req.method} ${req.url} → ${res.statusCode} (${Date.now() - started} ms)`);
            });
    });
    await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, resolve);
    });
    const address = server.address();
    return {
        url: `http://${host}:${address.port}`,
        state,
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections?.();
                server.close(() => resolve());
            }),
    };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const args = process.argv.slice(2);
    const arg = (name, fallback) => {
        const i = args.indexOf(name);
        return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
    };
    const mock = await startMockServer({
        port: Number(arg("--port", "8090")),
        host: arg("--host", "127.0.0.1"),
        quiet: false,
    });
    console.log(`Soku dashboard mock on ${mock.url} (log in as ${mock.state.user.email} / ${mock.state.user.password})`);
    for (const signal of ["SIGINT", "SIGTERM"]) {
        process.on(signal, () => mock.close().then(() => process.exit(0)));
    }
}
