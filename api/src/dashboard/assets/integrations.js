// /integrations: the connected platform accounts of one mode.
import {
    api,
    badge,
    clear,
    currentMode,
    el,
    emptyState,
    errorState,
    initChrome,
    platformMark,
    platformName,
    setupModeToggle,
    skeletonRows,
    timeEl,
} from "/dashboard/assets/app.js";

const $ = (id) => document.getElementById(id);
const tbody = $("integrations-body");
const tableWrap = $("integrations-table-wrap");
const emptyBox = $("integrations-empty");
const summary = $("integrations-summary");
let loadSeq = 0;

function row(integration) {
    const display = integration.displayName || platformName(integration.platform);
    return el(
        "tr",
        { dataset: { integrationId: integration.id, status: integration.status } },
        el(
            "td",
            { class: "cell-title", dataset: { label: "Platform" } },
            el(
                "div",
                { class: "platform" },
                platformMark(integration.platform, true),
                el(
                    "span",
                    {},
                    el("div", { class: "row-title" }, display),
                    el("div", { class: "row-sub" }, platformName(integration.platform)),
                ),
            ),
        ),
        el("td", { dataset: { label: "Account ID" } }, el("code", { class: "key-preview" }, integration.accountId)),
        el(
            "td",
            { dataset: { label: "Default" } },
            integration.isDefault
                ? el("span", { class: "badge badge-accent" }, "Default")
                : el("span", { class: "muted" }, "—"),
        ),
        el("td", { dataset: { label: "Status" } }, badge(integration.status)),
        el("td", { class: "nowrap", dataset: { label: "Connected" } }, timeEl(integration.createdAt, { dateOnly: true })),
    );
}

function sample(mode) {
    const key = mode === "test" ? "sk_test_…" : "sk_live_…";
    return [
        `curl -X POST ${location.origin}/v1/integrations \\`,
        `  -H "soku-api-key: ${key}" \\`,
        `  -H "Content-Type: application/json" \\`,
        `  -d '{"platform": "threads", "accountId": "brand_threads",`,
        `       "credentials": {"accessToken": "…"}}'`,
    ].join("\n");
}

function paintMode(mode) {
    $("test-banner").hidden = mode !== "test";
}

async function load() {
    const seq = ++loadSeq;
    const mode = currentMode();
    emptyBox.hidden = true;
    tableWrap.hidden = false;
    summary.textContent = "Loading…";
    skeletonRows(tbody, 5, 2);
    try {
        const body = await api(`/dashboard/api/integrations?${new URLSearchParams({ mode })}`);
        if (seq !== loadSeq) return;
        const items = Array.isArray(body?.data) ? body.data : [];
        clear(tbody);
        if (!items.length) {
            tableWrap.hidden = true;
            summary.textContent = mode === "test" ? "No test connections." : "No live connections.";
            emptyBox.replaceChildren(
                emptyState(
                    "plug",
                    "No accounts connected",
                    mode === "test"
                        ? "Test posts publish to the sandbox without any connection. Connect one here only to try a named account."
                        : "Connect a platform account through the API; live posts need a connection for every platform they name.",
                    el("pre", { class: "code-block" }, sample(mode)),
                ),
            );
            emptyBox.hidden = false;
            return;
        }
        const platforms = new Set(items.map((i) => i.platform)).size;
        summary.textContent = `${items.length} ${items.length === 1 ? "account" : "accounts"} on ${platforms} ${platforms === 1 ? "platform" : "platforms"}`;
        for (const item of items) tbody.append(row(item));
    } catch (err) {
        if (seq !== loadSeq) return;
        tableWrap.hidden = true;
        summary.textContent = "";
        emptyBox.replaceChildren(errorState(err.message, load));
        emptyBox.hidden = false;
    }
}

setupModeToggle($("mode-toggle"), (mode) => {
    paintMode(mode);
    load();
});
initChrome();
paintMode(currentMode());
load();
