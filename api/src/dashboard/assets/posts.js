// /posts: the account's posts in one mode, newest first, with "Load more".
import {
    api,
    badge,
    clear,
    currentMode,
    el,
    emptyState,
    errorState,
    icon,
    initChrome,
    platformMark,
    platformName,
    setBusy,
    setupModeToggle,
    skeletonRows,
    timeEl,
} from "/dashboard/assets/app.js";

const $ = (id) => document.getElementById(id);
const tbody = $("posts-body");
const tableWrap = $("posts-table-wrap");
const emptyBox = $("posts-empty");
const moreBox = $("posts-more");
const moreButton = $("load-more");
const summary = $("posts-summary");

const TEXT_LIMIT = 160;

let cursor = null;
let shown = 0;
let loadSeq = 0;

function truncate(text, limit) {
    const chars = Array.from(text);
    return chars.length > limit ? chars.slice(0, limit).join("").trimEnd() + "…" : text;
}

function targetItem(target) {
    const url = target.platformPostUrl ?? target.url ?? null;
    const safeUrl = typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
    return el(
        "li",
        { class: "target", dataset: { targetId: target.targetId, status: target.status } },
        el(
            "div",
            { class: "target-head" },
            el("span", { class: "platform" }, platformMark(target.platform), platformName(target.platform)),
            badge(target.status),
            safeUrl
                ? el(
                      "a",
                      {
                          class: "target-link",
                          href: safeUrl,
                          target: "_blank",
                          rel: "noopener noreferrer",
                          title: `View on ${platformName(target.platform)}`,
                          "aria-label": `View on ${platformName(target.platform)}`,
                      },
                      icon("external", "icon-sm"),
                  )
                : null,
        ),
        target.error && target.error.message ? el("div", { class: "target-error" }, target.error.message) : null,
    );
}

function postRow(post) {
    const text = post.content && typeof post.content.text === "string" ? post.content.text : "";
    const mediaType = post.content?.mediaType;
    const targets = Array.isArray(post.targets) ? post.targets : [];
    const when = el("td", { dataset: { label: "Created" } });
    const whenBox = el("div", {}, el("div", { class: "time-main" }, timeEl(post.createdAt)));
    if (post.scheduledTime) {
        whenBox.append(el("div", { class: "time-sub" }, "Scheduled ", timeEl(post.scheduledTime)));
    }
    when.append(whenBox);
    return el(
        "tr",
        { dataset: { postId: post.postSubmissionId, status: post.status } },
        el(
            "td",
            { class: "cell-title", dataset: { label: "Post" } },
            el(
                "div",
                { class: "post-text" + (text ? "" : " is-empty"), title: text || null },
                text ? truncate(text, TEXT_LIMIT) : "No text",
            ),
            el(
                "div",
                { class: "row-sub" },
                el("code", {}, post.postSubmissionId),
                mediaType && mediaType !== "text" ? ` · ${mediaType}` : "",
            ),
        ),
        el("td", { dataset: { label: "Status" } }, badge(post.status)),
        el("td", { dataset: { label: "Targets" } }, el("ul", { class: "targets" }, targets.map(targetItem))),
        when,
    );
}

function paintMode(mode) {
    $("posts-title").textContent = mode === "test" ? "Test posts" : "Live posts";
    $("test-banner").hidden = mode !== "test";
}

function paintSummary(hasMore) {
    if (!shown) summary.textContent = "";
    else summary.textContent = `${shown} ${shown === 1 ? "post" : "posts"}${hasMore ? " shown" : ""}`;
}

async function load({ append = false } = {}) {
    const seq = ++loadSeq;
    const mode = currentMode();
    const params = new URLSearchParams({ mode });
    if (append && cursor) params.set("cursor", cursor);
    if (!append) {
        cursor = null;
        shown = 0;
        emptyBox.hidden = true;
        moreBox.hidden = true;
        tableWrap.hidden = false;
        summary.textContent = "Loading…";
        skeletonRows(tbody, 4);
    } else {
        setBusy(moreButton, true);
    }
    try {
        const page = await api(`/dashboard/api/posts?${params}`);
        if (seq !== loadSeq) return;
        const posts = Array.isArray(page?.data) ? page.data : [];
        if (!append) clear(tbody);
        for (const post of posts) tbody.append(postRow(post));
        shown += posts.length;
        cursor = page?.hasMore ? page.nextCursor : null;
        moreBox.hidden = !cursor;
        paintSummary(Boolean(cursor));
        if (!shown) {
            tableWrap.hidden = true;
            emptyBox.replaceChildren(
                emptyState(
                    "posts",
                    mode === "test" ? "No test posts yet" : "No live posts yet",
                    mode === "test"
                        ? "Posts made with a test key (sk_test_…) show up here. They publish to the sandbox, so you can try everything safely."
                        : "Posts made with a live key (sk_live_…) show up here, with each platform's result.",
                    el("pre", { class: "code-block" }, sampleRequest(mode)),
                ),
            );
            emptyBox.hidden = false;
        }
    } catch (err) {
        if (seq !== loadSeq) return;
        if (append) {
            moreBox.hidden = false;
            summary.textContent = err.message;
        } else {
            tableWrap.hidden = true;
            summary.textContent = "";
            emptyBox.replaceChildren(errorState(err.message, () => load()));
            emptyBox.hidden = false;
        }
    } finally {
        if (seq === loadSeq) setBusy(moreButton, false);
    }
}

function sampleRequest(mode) {
    const key = mode === "test" ? "sk_test_…" : "sk_live_…";
    return [
        `curl -X POST ${location.origin}/v1/posts \\`,
        `  -H "soku-api-key: ${key}" \\`,
        `  -H "Content-Type: application/json" \\`,
        `  -d '{"post": {"content": {"text": "Hello from Soku",`,
        `       "mediaType": "text", "platform": ["threads"]}}}'`,
    ].join("\n");
}

moreButton.addEventListener("click", () => load({ append: true }));
setupModeToggle($("mode-toggle"), (mode) => {
    paintMode(mode);
    load();
});

initChrome();
paintMode(currentMode());
load();
