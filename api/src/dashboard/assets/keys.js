// /settings/api: list, generate and revoke API keys.
import {
    api,
    badge,
    clear,
    el,
    emptyState,
    errorState,
    icon,
    initChrome,
    modeBadge,
    setBusy,
    showFormError,
    skeletonRows,
    timeEl,
    toast,
} from "/dashboard/assets/app.js";

const $ = (id) => document.getElementById(id);

const tbody = $("keys-body");
const tableWrap = $("keys-table-wrap");
const emptyBox = $("keys-empty");
const summary = $("keys-summary");

const createDialog = $("create-dialog");
const createForm = $("create-form");
const createError = $("create-error");
const createSubmit = $("create-submit");
const nameInput = $("key-name");

const createdDialog = $("created-dialog");
const newKeyInput = $("new-key-value");
const copyButton = $("copy-key");
const copyLabel = $("copy-key-label");
const copyStatus = $("copy-status");

const revokeDialog = $("revoke-dialog");
const revokeTitle = $("revoke-title");
const revokeConfirm = $("revoke-confirm");
const revokeError = $("revoke-error");
let revokeTarget = null;

// ---------- The list ----------

function keyRow(key) {
    const active = key.status === "active";
    const revokeButton = active
        ? el(
              "button",
              {
                  type: "button",
                  class: "btn btn-sm btn-danger-outline",
                  dataset: { action: "revoke", keyId: key.id },
                  "aria-label": `Revoke ${key.name}`,
                  onclick: () => openRevoke(key),
              },
              "Revoke",
          )
        : null;
    return el(
        "tr",
        { dataset: { keyId: key.id, status: key.status }, class: active ? "" : "is-revoked" },
        el("td", { class: "cell-title", dataset: { label: "Name" } }, el("div", { class: "row-title" }, key.name)),
        el("td", { dataset: { label: "Mode" } }, modeBadge(key.mode)),
        el("td", { dataset: { label: "Key" } }, el("code", { class: "key-preview" }, key.preview)),
        el("td", { class: "nowrap", dataset: { label: "Created" } }, timeEl(key.createdAt, { dateOnly: true })),
        el(
            "td",
            { class: "nowrap", dataset: { label: "Last used" } },
            key.lastUsedAt ? timeEl(key.lastUsedAt, { relative: true }) : el("span", { class: "muted" }, "Never"),
        ),
        el("td", { dataset: { label: "Status" } }, badge(key.status)),
        el("td", { class: "col-actions" }, revokeButton),
    );
}

function render(keys) {
    clear(tbody);
    const active = keys.filter((k) => k.status === "active").length;
    if (!keys.length) {
        tableWrap.hidden = true;
        summary.textContent = "No keys yet.";
        emptyBox.replaceChildren(
            emptyState(
                "key",
                "No API keys yet",
                "Generate a key to start publishing with the Soku API. Use a test key while you build: its posts go to the sandbox.",
                el("button", { type: "button", class: "btn btn-primary", onclick: openCreate }, icon("plus"), "Generate new key"),
            ),
        );
        emptyBox.hidden = false;
        return;
    }
    emptyBox.hidden = true;
    tableWrap.hidden = false;
    const revoked = keys.length - active;
    summary.textContent =
        `${active} active ${active === 1 ? "key" : "keys"}` + (revoked ? ` · ${revoked} revoked` : "");
    for (const key of keys) tbody.append(keyRow(key));
}

let loadSeq = 0;

async function load() {
    const seq = ++loadSeq;
    try {
        const body = await api("/dashboard/api/keys");
        if (seq !== loadSeq) return;
        render(Array.isArray(body?.data) ? body.data : []);
    } catch (err) {
        if (seq !== loadSeq) return;
        tableWrap.hidden = true;
        summary.textContent = "";
        emptyBox.replaceChildren(
            errorState(err.message, () => {
                emptyBox.hidden = true;
                tableWrap.hidden = false;
                skeletonRows(tbody, 7);
                load();
            }),
        );
        emptyBox.hidden = false;
    }
}

// ---------- Generate ----------

function openCreate() {
    createForm.reset();
    showFormError(createError, "");
    nameInput.removeAttribute("aria-invalid");
    setBusy(createSubmit, false);
    createDialog.showModal();
    nameInput.focus();
}

createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    const mode = createForm.elements.mode.value === "test" ? "test" : "live";
    if (!name) {
        nameInput.setAttribute("aria-invalid", "true");
        showFormError(createError, "Give the key a name.");
        nameInput.focus();
        return;
    }
    nameInput.removeAttribute("aria-invalid");
    showFormError(createError, "");
    setBusy(createSubmit, true);
    try {
        const created = await api("/dashboard/api/keys", { method: "POST", body: { name, mode } });
        createDialog.close();
        showCreated(created);
    } catch (err) {
        showFormError(createError, err.message);
    } finally {
        setBusy(createSubmit, false);
    }
});

$("create-cancel").addEventListener("click", () => createDialog.close());

// ---------- The new key, shown once ----------

function showCreated(created) {
    newKeyInput.value = created.apiKey;
    $("created-sub").textContent = `${created.name} · ${created.mode === "test" ? "Test" : "Live"} mode`;
    resetCopy();
    createdDialog.showModal();
    newKeyInput.focus();
    newKeyInput.select();
    load();
}

function resetCopy() {
    copyButton.classList.remove("is-copied");
    copyLabel.textContent = "Copy";
    copyStatus.textContent = "";
}

let copyTimer = null;
copyButton.addEventListener("click", async () => {
    clearTimeout(copyTimer);
    try {
        await navigator.clipboard.writeText(newKeyInput.value);
        copyButton.classList.add("is-copied");
        copyLabel.textContent = "Copied";
        copyStatus.textContent = "Copied to the clipboard.";
        copyTimer = setTimeout(resetCopy, 2500);
    } catch {
        newKeyInput.focus();
        newKeyInput.select();
        copyStatus.textContent = "Your browser did not allow copying: the key is selected, copy it with Ctrl+C or ⌘C.";
    }
});

// The full key leaves the page as the dialog closes, however it is closed: the button (at once, before the dialog
// hides) or Escape (the close event, which the browser fires a moment later).
function forgetKey() {
    clearTimeout(copyTimer);
    newKeyInput.value = "";
    newKeyInput.defaultValue = "";
    $("created-sub").textContent = "";
    resetCopy();
}

$("created-done").addEventListener("click", () => {
    forgetKey();
    createdDialog.close();
});

createdDialog.addEventListener("close", () => {
    forgetKey();
    load();
});

// ---------- Revoke ----------

function openRevoke(key) {
    revokeTarget = key;
    revokeTitle.textContent = `Revoke key ${key.name}?`;
    showFormError(revokeError, "");
    setBusy(revokeConfirm, false);
    revokeDialog.showModal();
}

$("revoke-cancel").addEventListener("click", () => revokeDialog.close());

revokeConfirm.addEventListener("click", async () => {
    if (!revokeTarget) return;
    const key = revokeTarget;
    setBusy(revokeConfirm, true);
    showFormError(revokeError, "");
    try {
        await api(`/dashboard/api/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
        revokeDialog.close();
        toast(`Key ${key.name} revoked`);
        await load();
    } catch (err) {
        showFormError(revokeError, err.message);
    } finally {
        setBusy(revokeConfirm, false);
    }
});

revokeDialog.addEventListener("close", () => {
    revokeTarget = null;
});

// ---------- Start ----------

$("generate-key").addEventListener("click", openCreate);
initChrome();
skeletonRows(tbody, 7);
load();
