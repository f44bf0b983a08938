// Soku dashboard: what every page shares. An ES module, loaded from /dashboard/assets/ (the CSP allows scripts from
// 'self' only). Untrusted text is only ever put in the page with textContent (through el()), never as HTML.

const CSRF_COOKIE = "soku_csrf";
const ICONS = "/dashboard/assets/icons.svg";
const SVG_NS = "http://www.w3.org/2000/svg";

export class ApiError extends Error {
    constructor(status, code, message, response) {
        super(message);
        this.name = "ApiError";
        this.status = status;
        this.code = code;
        this.response = response;
    }
}

// The value of the soku_csrf cookie (set by POST /dashboard/login, readable by scripts), or "".
export function csrfToken() {
    for (const part of document.cookie.split(";")) {
        const eq = part.indexOf("=");
        if (eq < 0) continue;
        if (part.slice(0, eq).trim() === CSRF_COOKIE) {
            try {
                return decodeURIComponent(part.slice(eq + 1).trim());
            } catch {
                return part.slice(eq + 1).trim();
            }
        }
    }
    return "";
}

// The current path, for /login?next=…
export function currentPath() {
    return location.pathname + location.search;
}

export function goToLogin() {
    location.assign("/login?next=" + encodeURIComponent(currentPath()));
}

// fetch() for the dashboard's JSON endpoints. Non-GET requests carry X-CSRF-Token. A 401 from /dashboard/api/… sends
// the browser to the login page unless `onUnauthorized: "throw"` is given. Errors are thrown as ApiError with the
// server's message.
export async function api(path, { method = "GET", body, onUnauthorized = "login" } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
    let response;
    try {
        response = await fetch(path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            credentials: "same-origin",
            cache: "no-store",
        });
    } catch {
        throw new ApiError(0, "network_error", "Could not reach Soku. Check your connection and try again.");
    }
    let data = null;
    const text = await response.text();
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = null;
        }
    }
    if (response.status === 401 && onUnauthorized === "login" && path.startsWith("/dashboard/api/")) {
        goToLogin();
        // Never settles: the page is going away.
        return new Promise(() => {});
    }
    if (!response.ok) {
        const err = data && data.error ? data.error : {};
        const message =
            typeof err.message === "string" && err.message
                ? err.message
                : `Something went wrong (HTTP ${response.status}). Try again.`;
        throw new ApiError(response.status, err.code || "http_" + response.status, message, response);
    }
    return data;
}

// ---------- DOM helpers ----------

// el("td", {class: "x", dataset: {label: "Name"}}, "text", childNode, …): strings become text nodes.
export function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "dataset") Object.assign(node.dataset, value);
        else if (key === "text") node.textContent = value;
        else if (key.startsWith("on")) {
            if (typeof value !== "function") throw new Error(`${key}: handlers are functions, never inline code (CSP)`);
            node.addEventListener(key.slice(2), value);
        } else if (key === "style") throw new Error("no inline styles (CSP)");
        else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
}

function append(node, children) {
    for (const child of children.flat()) {
        if (child === undefined || child === null || child === false) continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
}

export function icon(name, extraClass = "") {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", ("icon " + extraClass).trim());
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", `${ICONS}#${name}`);
    svg.append(use);
    return svg;
}

export function clear(node) {
    node.replaceChildren();
}

const BADGE_TONES = {
    active: "green",
    published: "green",
    live: "green",
    trialing: "blue",
    scheduled: "blue",
    queued: "blue",
    pending: "gray",
    publishing: "accent",
    retrying: "amber",
    partially_published: "amber",
    unknown: "amber",
    needs_reauth: "amber",
    past_due: "amber",
    test: "amber",
    failed: "red",
    canceled: "gray",
    revoked: "gray",
    expired: "red",
};

export function humanize(value) {
    const text = String(value ?? "").replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
}

export function badge(value, { label, dot = true } = {}) {
    const tone = BADGE_TONES[value] || "gray";
    const cls = `badge badge-${tone}${dot ? " badge-dot" : ""}`;
    return el("span", { class: cls, dataset: { status: String(value ?? "") } }, label ?? humanize(value));
}

export function modeBadge(mode) {
    return mode === "test"
        ? el("span", { class: "badge badge-amber", dataset: { mode: "test" } }, "Test")
        : el("span", { class: "badge badge-green", dataset: { mode: "live" } }, "Live");
}

const PLATFORM_NAMES = {
    threads: "Threads",
    x: "X",
    linkedin: "LinkedIn",
    instagram: "Instagram",
    facebook: "Facebook",
    tiktok: "TikTok",
    youtube: "YouTube",
};

export function platformName(platform) {
    return PLATFORM_NAMES[platform] || humanize(platform);
}

export function platformMark(platform, large = false) {
    const name = platformName(platform);
    const letters = platform === "linkedin" ? "in" : platform === "tiktok" ? "tt" : platform === "youtube" ? "yt" : name.charAt(0);
    return el(
        "span",
        { class: "platform-mark" + (large ? " lg" : ""), dataset: { platform: String(platform) }, "aria-hidden": "true" },
        letters,
    );
}

// ---------- Dates ----------

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function parseDate(value) {
    if (!value) return null;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value) {
    const date = parseDate(value);
    return date ? dateTimeFormat.format(date) : "—";
}

export function formatDate(value) {
    const date = parseDate(value);
    return date ? dateFormat.format(date) : "—";
}

export function relativeTime(value) {
    const date = parseDate(value);
    if (!date) return "—";
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    if (abs < 45) return seconds <= 0 ? "just now" : "in a moment";
    const units = [
        ["minute", 60],
        ["hour", 3600],
        ["day", 86400],
        ["week", 604800],
        ["month", 2629800],
        ["year", 31557600],
    ];
    let unit = units[0];
    for (const candidate of units) {
        if (abs >= candidate[1] * 0.9) unit = candidate;
    }
    return relativeFormat.format(Math.round(seconds / unit[1]), unit[0]);
}

// A <time> with the date as text and the full timestamp as its tooltip.
export function timeEl(value, { relative = false, dateOnly = false } = {}) {
    const date = parseDate(value);
    if (!date) return el("span", { class: "muted" }, "—");
    const text = relative ? relativeTime(value) : dateOnly ? formatDate(value) : formatDateTime(value);
    return el("time", { datetime: date.toISOString(), title: dateTimeFormat.format(date) }, text);
}

export function formatNumber(value) {
    const n = Number(value);
    return Number.isFinite(n) ? new Intl.NumberFormat().format(n) : "—";
}

// ---------- UI bits ----------

export function toast(message) {
    let region = document.getElementById("toasts");
    if (!region) {
        region = el("div", { id: "toasts", class: "toasts", "aria-live": "polite" });
        document.body.append(region);
    }
    const node = el("div", { class: "toast", role: "status" }, icon("check"), el("span", {}, message));
    region.append(node);
    setTimeout(() => node.remove(), 3500);
}

export function setBusy(button, busy) {
    button.disabled = busy;
    button.classList.toggle("is-busy", busy);
    button.setAttribute("aria-busy", busy ? "true" : "false");
}

export function showFormError(container, message) {
    clear(container);
    if (!message) {
        container.hidden = true;
        return;
    }
    container.append(icon("alert"), el("span", {}, message));
    container.hidden = false;
}

export function errorState(message, onRetry) {
    return el(
        "div",
        { class: "empty", role: "alert" },
        el("div", { class: "empty-icon" }, icon("alert")),
        el("h3", {}, "Could not load this page"),
        el("p", {}, message),
        onRetry ? el("button", { class: "btn", type: "button", onclick: onRetry }, "Try again") : null,
    );
}

export function emptyState(iconName, title, text, ...extra) {
    return el(
        "div",
        { class: "empty" },
        el("div", { class: "empty-icon" }, icon(iconName)),
        el("h3", {}, title),
        el("p", {}, text),
        ...extra,
    );
}

export function skeletonRows(tbody, columns, rows = 3) {
    clear(tbody);
    const widths = ["w-80", "w-40", "w-60"];
    for (let r = 0; r < rows; r++) {
        const tr = el("tr", { class: "skeleton-row", "aria-hidden": "true" });
        for (let c = 0; c < columns; c++) {
            tr.append(el("td", {}, el("span", { class: `skeleton ${widths[(r + c) % widths.length]}` })));
        }
        tbody.append(tr);
    }
}

// ---------- Mode (live/test), kept in the URL's ?mode= ----------

export function currentMode() {
    return new URLSearchParams(location.search).get("mode") === "test" ? "test" : "live";
}

// Wires a .segmented control of buttons with data-mode; calls onChange(mode) after updating the URL.
export function setupModeToggle(container, onChange) {
    const buttons = [...container.querySelectorAll("button[data-mode]")];
    const paint = (mode) => {
        for (const b of buttons) b.setAttribute("aria-pressed", b.dataset.mode === mode ? "true" : "false");
    };
    paint(currentMode());
    for (const button of buttons) {
        button.addEventListener("click", () => {
            const mode = button.dataset.mode;
            if (mode === currentMode()) return;
            const url = new URL(location.href);
            if (mode === "test") url.searchParams.set("mode", "test");
            else url.searchParams.delete("mode");
            history.replaceState(null, "", url.pathname + url.search);
            paint(mode);
            onChange(mode);
        });
    }
}

// ---------- The top bar ----------

let mePromise = null;

// GET /dashboard/api/me, once per page.
export function loadMe() {
    if (!mePromise) mePromise = api("/dashboard/api/me");
    return mePromise;
}

function initials(name) {
    const words = String(name || "").trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "?";
    const letters = words.length === 1 ? words[0].slice(0, 2) : words[0][0] + words[words.length - 1][0];
    return letters.toUpperCase();
}

async function logout(button) {
    setBusy(button, true);
    try {
        await fetch("/dashboard/logout", {
            method: "POST",
            headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
            credentials: "same-origin",
        });
    } catch {
        // Whatever happened, the way out is the login page.
    }
    location.assign("/login");
}

// Fills the account name, email and avatar, and wires "Log out". Every page but /login calls it.
export function initChrome() {
    const logoutButton = document.getElementById("logout");
    if (logoutButton) logoutButton.addEventListener("click", () => logout(logoutButton));
    loadMe()
        .then((me) => {
            const name = me?.account?.name || "Your account";
            const email = me?.user?.email || "";
            const nameEl = document.getElementById("account-name");
            const emailEl = document.getElementById("user-email");
            const avatar = document.getElementById("account-avatar");
            if (nameEl) nameEl.textContent = name;
            if (emailEl) emailEl.textContent = email;
            if (avatar) avatar.textContent = initials(name);
            const chip = document.getElementById("account-chip");
            if (chip) chip.setAttribute("title", email ? `${name} · ${email}` : name);
        })
        .catch(() => {
            const nameEl = document.getElementById("account-name");
            if (nameEl) nameEl.textContent = "";
        });
}
