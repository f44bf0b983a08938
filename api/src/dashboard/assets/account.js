// /account: the account, its credits, and "Change password".
import {
    api,
    ApiError,
    badge,
    el,
    formatDate,
    formatNumber,
    humanize,
    icon,
    initChrome,
    loadMe,
    setBusy,
    showFormError,
} from "/dashboard/assets/app.js";

const $ = (id) => document.getElementById(id);

function fill(id, ...children) {
    $(id).replaceChildren(...children);
}

function paint(me) {
    const account = me?.account || {};
    const credits = me?.credits || {};
    fill("account-detail-name", account.name || "—");
    fill("account-detail-id", el("code", { class: "key-preview" }, account.id || "—"));
    fill("account-detail-plan", el("span", { class: "badge badge-accent" }, humanize(account.plan || "—")));
    const status = [badge(account.status || "unknown")];
    if (account.status === "trialing" && account.trialEndsAt) {
        status.push(el("span", { class: "muted" }, `Trial ends ${formatDate(account.trialEndsAt)}`));
    }
    fill("account-detail-status", ...status);
    fill("account-detail-email", me?.user?.email || "—");
    $("password-username").value = me?.user?.email || "";
    fill("credits-available", formatNumber(credits.available));
    fill("credits-balance", formatNumber(credits.balance));
    fill("credits-reserved", formatNumber(credits.reserved));
}

initChrome();
loadMe()
    .then(paint)
    .catch((err) => {
        for (const id of ["credits-available", "credits-balance", "credits-reserved"]) fill(id, "—");
        for (const id of ["account-detail-name", "account-detail-id", "account-detail-plan", "account-detail-status", "account-detail-email"]) {
            fill(id, "—");
        }
        showFormError($("account-error"), err.message);
    });

// ---------- Change password ----------

const form = $("password-form");
const errorBox = $("password-error");
const successBox = $("password-success");
const submit = $("password-submit");
const current = $("current-password");
const next = $("new-password");
const confirm = $("confirm-password");

function invalid(input, message) {
    input.setAttribute("aria-invalid", "true");
    showFormError(errorBox, message);
    input.focus();
}

form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const input of [current, next, confirm]) input.removeAttribute("aria-invalid");
    showFormError(errorBox, "");
    successBox.hidden = true;
    if (!current.value) return invalid(current, "Enter your current password.");
    if (!next.value) return invalid(next, "Enter a new password.");
    if (next.value !== confirm.value) return invalid(confirm, "The two new passwords do not match.");
    if (next.value === current.value) return invalid(next, "The new password is the same as the current one.");
    setBusy(submit, true);
    try {
        // A wrong current password is a 400 naming `currentPassword`, shown inline; a 401 means the session is
        // gone, which /dashboard/api/me confirms (it goes to the login page).
        await api("/dashboard/api/password", {
            method: "POST",
            body: { currentPassword: current.value, newPassword: next.value },
            onUnauthorized: "throw",
        });
        form.reset();
        $("password-username").value = (await loadMe().catch(() => null))?.user?.email || "";
        successBox.replaceChildren(icon("check"), el("span", {}, "Password updated."));
        successBox.hidden = false;
    } catch (err) {
        // The 400's message names the field: "… currentPassword …" or "… newPassword …".
        const message = err instanceof ApiError ? err.message : "";
        const field = /currentPassword/.test(message) ? "currentPassword" : /newPassword/.test(message) ? "newPassword" : "";
        if (err instanceof ApiError && (err.status === 401 || field === "currentPassword")) {
            if (err.status === 401) await api("/dashboard/api/me");
            current.setAttribute("aria-invalid", "true");
            current.focus();
        } else if (field === "newPassword") {
            next.setAttribute("aria-invalid", "true");
            next.focus();
        }
        showFormError(errorBox, err.message);
    } finally {
        setBusy(submit, false);
    }
});
