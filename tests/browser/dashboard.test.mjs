// The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against a running Soku (or, with
// --mock, against mock-server.mjs started in this process).
//
//   SOKU_BASE_URL=http://127.0.0.1:8080 SOKU_EMAIL=… SOKU_PASSWORD=… SOKU_SCREENSHOTS=/tmp/shots \
//     node dashboard.test.mjs
//   node dashboard.test.mjs --mock            # no backend needed; screenshots in ./screenshots by default
//
// Environment: SOKU_BASE_URL, SOKU_EMAIL, SOKU_PASSWORD (all required without --mock), SOKU_SCREENSHOTS (folder for
// the PNGs; default ./screenshots), SOKU_TEST_BROWSER (default /usr/bin/chromium).
//
// One line per step; the last line is "browser: N passed, N failed". Exit 1 at the first failed step. Any Content
// Security Policy violation, uncaught page error, failed asset or request to another origin fails the step it
// happens in.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const useMock = args.includes("--mock");
for (const a of args) {
    if (a !== "--mock") {
        console.error(`unknown argument ${a} (only --mock)`);
        process.exit(2);
    }
}

const SIZES = [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
];
const CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
const KEY_NAME = "browser test";
const POST_TEXT = "from the browser test";

let mock = null;
let base;
let email;
let password;
if (useMock) {
    const { startMockServer } = await import("./mock-server.mjs");
    email = "demo@soku.dev";
    password = "correct-horse-battery";
    mock = await startMockServer({ email, password });
    base = mock.url;
} else {
    const missing = ["SOKU_BASE_URL", "SOKU_EMAIL", "SOKU_PASSWORD"].filter((n) => !process.env[n]);
    if (missing.length) {
        console.error(`browser test: set ${missing.join(", ")} (or run with --mock)`);
        process.exit(2);
    }
    base = process.env.SOKU_BASE_URL.replace(/\/+$/, "");
    email = process.env.SOKU_EMAIL;
    password = process.env.SOKU_PASSWORD;
}
const origin = new URL(base).origin;
const shotsDir = path.resolve(process.env.SOKU_SCREENSHOTS || path.join(HERE, "screenshots"));
const executablePath = process.env.SOKU_TEST_BROWSER || "/usr/bin/chromium";

// ---------- Harness ----------

let passed = 0;
let stepNo = 0;
const problems = []; // CSP violations, page errors, failed assets, foreign requests: each fails the current step
const consoleLog = []; // everything the pages logged, shown when a step fails
let expectingViolation = false;

class StepError extends Error {}

function check(condition, message) {
    if (!condition) throw new StepError(message);
}

async function step(name, fn) {
    stepNo += 1;
    const started = Date.now();
    try {
        await fn();
        if (problems.length) throw new StepError(`the page reported: ${problems.join(" | ")}`);
        passed += 1;
        console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
    } catch (err) {
        const message = err instanceof StepError ? err.message : err?.stack || String(err);
        console.log(`not ok ${stepNo} - ${name}: ${message}`);
        await finish(1);
    }
}

let browserContext = null;
let page = null;
let userDataDir = null;

async function finish(code) {
    if (code && page) {
        try {
            console.log(`  at ${page.url()}`);
            const file = path.join(shotsDir, `failure-step-${stepNo}.png`);
            await page.screenshot({ path: file, fullPage: true });
            console.log(`  screenshot: ${file}`);
        } catch {
            // the page may be gone
        }
        if (consoleLog.length) {
            console.log("  the pages' console:");
            for (const line of consoleLog.slice(-30)) console.log(`    ${line}`);
        }
    }
    console.log(`browser: ${passed} passed, ${code ? 1 : 0} failed`);
    try {
        await browserContext?.close();
    } catch {
        // closing a crashed browser
    }
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    if (mock) await mock.close();
    process.exit(code);
}

async function shoot(name) {
    const original = page.viewportSize();
    for (const size of SIZES) {
        await page.setViewportSize(size);
        // Let layout settle after the resize (and any dialog animation end).
        await page.waitForTimeout(250);
        await page.screenshot({ path: path.join(shotsDir, `${name}-${size.width}x${size.height}.png`), animations: "disabled" });
        // Nothing wider than the screen: a phone must never scroll sideways.
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        check(width <= size.width, `${name} at ${size.width}x${size.height} is ${width} px wide: it scrolls sideways`);
    }
    await page.setViewportSize(original);
}

function pathOf(url) {
    return new URL(url).pathname;
}

async function useKey(key) {
    const response = await fetch(`${base}/v1/posts`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "soku-api-key": key },
        body: JSON.stringify({ post: { content: { text: POST_TEXT, mediaType: "text", platform: ["threads"] } } }),
    });
    return { status: response.status, body: await response.text() };
}

async function visibleText(selector) {
    return (await page.locator(selector).innerText()).trim();
}

// ---------- The run ----------

await mkdir(shotsDir, { recursive: true });
userDataDir = await mkdtemp(path.join(tmpdir(), "soku-chromium-"));

await step(`launch ${executablePath}`, async () => {
    browserContext = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: SIZES[0],
        locale: "en-US",
        timezoneId: "UTC",
        colorScheme: "light",
        acceptDownloads: false,
    });
    browserContext.setDefaultTimeout(15_000);
    browserContext.setDefaultNavigationTimeout(20_000);
    await browserContext.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    // Reported by the browser itself; the init script runs outside the page's CSP.
    await browserContext.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
            console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
        });
    });
    browserContext.on("request", (request) => {
        const url = request.url();
        if (/^(data|blob|about):/.test(url)) return;
        if (new URL(url).origin !== origin) problems.push(`request to another origin: ${url}`);
    });
    browserContext.on("response", (response) => {
        const url = new URL(response.url());
        if (url.origin === origin && url.pathname.startsWith("/dashboard/assets/") && response.status() >= 400) {
            problems.push(`asset ${url.pathname} answered ${response.status()}`);
        }
    });
    page = browserContext.pages()[0] || (await browserContext.newPage());
    page.on("console", (msg) => {
        const text = msg.text();
        consoleLog.push(`[${msg.type()}] ${text}`);
        if (/Content Security Policy/i.test(text) && !expectingViolation) problems.push(`CSP: ${text}`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    const version = browserContext.browser()?.version();
    if (version) console.log(`  Chromium ${version}`);
});

await step("/settings/api without a session lands on /login, served with the CSP", async () => {
    const response = await page.goto(`${base}/settings/api`);
    check(response, "no response for /settings/api");
    check(pathOf(page.url()) === "/login", `expected /login, got ${page.url()}`);
    const csp = response.headers()["content-security-policy"] || "";
    for (const part of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
        check(csp.includes(part), `the login page's Content-Security-Policy lacks "${part}": "${csp}"`);
    }
    await page.locator("#login-form").waitFor();
    check(await page.locator("#email").isVisible(), "no email field on /login");
    check(await page.locator("#password").isVisible(), "no password field on /login");
});

await step("the CSP is enforced and a violation would be caught", async () => {
    expectingViolation = true;
    const before = consoleLog.length;
    const ran = await page.evaluate(async () => {
        window.__sokuInline = false;
        const script = document.createElement("script");
        script.textContent = "window.__sokuInline = true";
        document.body.append(script);
        await new Promise((r) => setTimeout(r, 100));
        script.remove();
        return window.__sokuInline;
    });
    await page.waitForTimeout(100);
    expectingViolation = false;
    check(ran === false, "an inline script ran: the page has no working Content-Security-Policy");
    const seen = consoleLog.slice(before).some((l) => /Content Security Policy/i.test(l));
    check(seen, "the refused inline script was not reported on the console: CSP violations would go unnoticed");
});

await step("screenshot: login", async () => {
    await shoot("login");
});

await step("a wrong password shows the error inline", async () => {
    await page.fill("#email", email);
    await page.fill("#password", `wrong-${Date.now()}`);
    await page.click("#login-submit");
    const error = page.locator("#login-error");
    await error.waitFor({ state: "visible" });
    const text = (await error.innerText()).trim();
    check(text.length > 0, "the error box is empty");
    check(pathOf(page.url()) === "/login", `left /login: ${page.url()}`);
    console.log(`  shown: "${text}"`);
});

await step("log in → /settings/api, top bar shows the account", async () => {
    await page.fill("#email", email);
    await page.fill("#password", password);
    const [login] = await Promise.all([
        page.waitForResponse((r) => pathOf(r.url()) === "/dashboard/login" && r.request().method() === "POST"),
        page.click("#login-submit"),
    ]);
    if (login.status() !== 200) {
        const body = await login.text().catch(() => "");
        check(false, `POST /dashboard/login → ${login.status()}: ${body.slice(0, 300)}`);
    }
    await page.waitForURL((url) => url.pathname === "/settings/api");
    await page.locator("#account-name").filter({ hasText: /\S/ }).waitFor();
    const name = await visibleText("#account-name");
    check(name.length > 0, "no account name in the top bar");
    await page.locator("#keys-body tr[data-key-id], #keys-empty:not([hidden])").first().waitFor();
    check(await page.locator("#logout").isVisible(), "no Log out button");
    const cookies = await browserContext.cookies(origin);
    const session = cookies.find((c) => c.name === "soku_session");
    check(session, "no soku_session cookie after login");
    check(session.httpOnly, "soku_session is not HttpOnly");
    check(cookies.some((c) => c.name === "soku_csrf"), "no soku_csrf cookie after login");
    console.log(`  account: ${name}`);
});

await step("screenshot: keys", async () => {
    await shoot("keys");
});

let newKey = "";

await step(`generate a key ("${KEY_NAME}", live) → shown once`, async () => {
    await page.click("#generate-key");
    await page.locator("#create-dialog").waitFor({ state: "visible" });
    check(await page.locator('#create-dialog input[name="mode"][value="live"]').isChecked(), "live is not the default mode");
    await page.fill("#key-name", KEY_NAME);
    await shoot("key-create");
    await page.click("#create-submit");
    await page.locator("#created-dialog").waitFor({ state: "visible" });
    newKey = await page.inputValue("#new-key-value");
    check(/^sk_live_[A-Za-z0-9]{32,128}$/.test(newKey), `the new key does not look like a live key: "${newKey}"`);
    check(await page.locator("#new-key-value").getAttribute("readonly") !== null, "#new-key-value is not readonly");
    const warning = await visibleText("#created-dialog");
    check(/not be shown again/i.test(warning), "no warning that the key will not be shown again");
});

await step("screenshot: key created", async () => {
    await shoot("key-created");
});

await step("Copy puts the key on the clipboard", async () => {
    await page.click("#copy-key");
    await page.locator("#copy-key-label", { hasText: "Copied" }).waitFor();
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    const shown = await page.inputValue("#new-key-value");
    check(clip === shown, `clipboard holds "${clip.slice(0, 12)}…", the dialog shows "${shown.slice(0, 12)}…"`);
    check(clip.startsWith("sk_live_"), `the clipboard does not hold a live key: "${clip.slice(0, 12)}…"`);
});

let keyId = "";

await step("after closing, the full key is nowhere on the page; the list shows its preview", async () => {
    await page.click("#created-done");
    await page.locator("#created-dialog").waitFor({ state: "hidden" });
    // The list row of the new key: the one whose preview is the key's prefix and suffix.
    await page.waitForFunction(
        (key) =>
            [...document.querySelectorAll("#keys-body tr[data-key-id]")].some((tr) => {
                const [head, tail] = (tr.querySelector(".key-preview")?.textContent || "").split("…");
                return head && tail && key.startsWith(head) && key.endsWith(tail);
            }),
        newKey,
    );
    keyId = await page.evaluate((key) => {
        const row = [...document.querySelectorAll("#keys-body tr[data-key-id]")].find((tr) => {
            const [head, tail] = (tr.querySelector(".key-preview")?.textContent || "").split("…");
            return head && tail && key.startsWith(head) && key.endsWith(tail);
        });
        return row.dataset.keyId;
    }, newKey);
    const row = page.locator(`#keys-body tr[data-key-id="${keyId}"]`);
    check((await row.innerText()).includes(KEY_NAME), `the new key's row does not show its name "${KEY_NAME}"`);
    const html = await page.content();
    check(!html.includes(newKey), "the page's HTML still contains the full key");
    const leaks = await page.evaluate((key) => {
        const found = [];
        if (document.body.innerText.includes(key)) found.push("visible text");
        for (const input of document.querySelectorAll("input, textarea")) {
            if (input.value.includes(key)) found.push(`the value of #${input.id || input.name || input.tagName}`);
        }
        for (const store of [localStorage, sessionStorage]) {
            for (let i = 0; i < store.length; i++) {
                if (String(store.getItem(store.key(i))).includes(key)) found.push("web storage");
            }
        }
        if (document.cookie.includes(key)) found.push("a cookie");
        return found;
    }, newKey);
    check(!leaks.length, `the full key is still in: ${leaks.join(", ")}`);
});

await step("the new key works: POST /v1/posts → 202", async () => {
    const { status, body } = await useKey(newKey);
    check(status === 202, `expected 202, got ${status}: ${body.slice(0, 300)}`);
});

await step("revoke it through the confirmation dialog → the row shows revoked", async () => {
    const row = page.locator(`#keys-body tr[data-key-id="${keyId}"]`);
    await row.locator('button[data-action="revoke"]').click();
    const dialog = page.locator("#revoke-dialog");
    await dialog.waitFor({ state: "visible" });
    const title = await visibleText("#revoke-title");
    check(title === `Revoke key ${KEY_NAME}?`, `the dialog asks "${title}"`);
    check(
        (await visibleText("#revoke-dialog")).includes("Requests with it will be refused at once."),
        "the dialog does not say requests will be refused at once",
    );
    check(await page.locator("#revoke-cancel").isVisible(), "no Cancel button in the revoke dialog");
    await shoot("revoke");
    await page.click("#revoke-confirm");
    await dialog.waitFor({ state: "hidden" });
    await page.locator(`#keys-body tr[data-key-id="${keyId}"][data-status="revoked"]`).waitFor();
    const text = await page.locator(`#keys-body tr[data-key-id="${keyId}"]`).innerText();
    check(/revoked/i.test(text), `the row does not say revoked: "${text.replace(/\s+/g, " ")}"`);
    check(
        (await page.locator(`#keys-body tr[data-key-id="${keyId}"] button[data-action="revoke"]`).count()) === 0,
        "a revoked key still has a Revoke button",
    );
});

await step("the revoked key is refused: POST /v1/posts → 401", async () => {
    const { status, body } = await useKey(newKey);
    check(status === 401, `expected 401, got ${status}: ${body.slice(0, 300)}`);
});

await step("Posts: lists the post made with the key; Live/Test toggle", async () => {
    await Promise.all([page.waitForURL((u) => u.pathname === "/posts"), page.click('.sidenav a[href="/posts"]')]);
    await page.locator("#posts-body tr[data-post-id], #posts-empty:not([hidden])").first().waitFor();
    const rows = page.locator("#posts-body tr[data-post-id]");
    check((await rows.count()) > 0, "no posts listed in live mode");
    check((await rows.first().innerText()).includes(POST_TEXT), `the newest live post is not "${POST_TEXT}"`);
    check((await rows.first().locator(".target").count()) > 0, "the newest post shows no targets");
    await shoot("posts");
    if (await page.locator("#posts-more").isVisible()) {
        const before = await rows.count();
        await page.click("#load-more");
        await page.waitForFunction((n) => document.querySelectorAll("#posts-body tr[data-post-id]").length > n, before);
        console.log(`  load more: ${before} → ${await rows.count()} posts`);
    }
    await page.click('#mode-toggle button[data-mode="test"]');
    await page.waitForURL((u) => u.searchParams.get("mode") === "test");
    await page.locator("#test-banner").waitFor({ state: "visible" });
    await page.locator("#posts-body tr[data-post-id], #posts-empty:not([hidden])").first().waitFor();
    check(!(await page.locator("#posts-body").innerText()).includes(POST_TEXT), "the live post shows in test mode");
    await page.click('#mode-toggle button[data-mode="live"]');
    await page.locator("#posts-body tr[data-post-id]").first().waitFor();
});

await step("Integrations", async () => {
    await Promise.all([
        page.waitForURL((u) => u.pathname === "/integrations"),
        page.click('.sidenav a[href="/integrations"]'),
    ]);
    await page.locator("#integrations-body tr[data-integration-id], #integrations-empty:not([hidden])").first().waitFor();
    check(!(await page.locator(".load-error, #integrations-empty [role=alert]").count()), "the integrations did not load");
    console.log(`  ${await page.locator("#integrations-body tr[data-integration-id]").count()} live connections`);
    await shoot("integrations");
});

await step("Account: the account, credits, and a wrong current password shown inline", async () => {
    await Promise.all([page.waitForURL((u) => u.pathname === "/account"), page.click('.sidenav a[href="/account"]')]);
    await page.locator("#account-detail-email", { hasText: email }).waitFor();
    const name = await visibleText("#account-detail-name");
    check(name === (await visibleText("#account-name")), `account name "${name}" differs from the top bar's`);
    check(/\d/.test(await visibleText("#credits-available")), "no available credits shown");
    await shoot("account");
    await page.fill("#current-password", `wrong-${Date.now()}`);
    await page.fill("#new-password", "another-password-1");
    await page.fill("#confirm-password", "another-password-1");
    await page.click("#password-submit");
    await page.locator("#password-error").waitFor({ state: "visible" });
    check(pathOf(page.url()) === "/account", `a wrong current password left the page: ${page.url()}`);
    console.log(`  shown: "${await visibleText("#password-error")}"`);
});

await step("log out → /login; /settings/api redirects to /login again", async () => {
    await Promise.all([page.waitForURL((u) => u.pathname === "/login"), page.click("#logout")]);
    const response = await page.goto(`${base}/settings/api`);
    check(pathOf(page.url()) === "/login", `after logout /settings/api shows ${page.url()}`);
    check(response && response.ok(), `the login page answered ${response?.status()}`);
    const cookies = await browserContext.cookies(origin);
    const session = cookies.find((c) => c.name === "soku_session" && c.value);
    if (session) {
        // The cookie may stay; it must not work any more.
        const r = await page.request.get(`${base}/dashboard/api/me`);
        check(r.status() === 401, `the old session still works after logout (GET /dashboard/api/me → ${r.status()})`);
    }
    console.log(`  screenshots in ${shotsDir}`);
});

await finish(0);
