// /login: email + password → POST /dashboard/login, then on to ?next= (a same-origin path) or /settings/api.
import { setBusy, showFormError } from "/dashboard/assets/app.js";

const DEFAULT_NEXT = "/settings/api";
const form = document.getElementById("login-form");
const email = document.getElementById("email");
const password = document.getElementById("password");
const submit = document.getElementById("login-submit");
const errorBox = document.getElementById("login-error");
let lockedUntil = 0;
let lockTimer = null;

// The ?next= path when it is a path on this origin ("/…", never "//host" or "/\host"), else /settings/api.
function nextPath() {
    const raw = new URLSearchParams(location.search).get("next");
    if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return DEFAULT_NEXT;
    if (/[\u0000-\u001f\\]/.test(raw)) return DEFAULT_NEXT;
    try {
        const url = new URL(raw, location.origin);
        if (url.origin !== location.origin || url.pathname === "/login") return DEFAULT_NEXT;
        return url.pathname + url.search + url.hash;
    } catch {
        return DEFAULT_NEXT;
    }
}

function lockFor(seconds) {
    lockedUntil = Date.now() + seconds * 1000;
    submit.disabled = true;
    clearTimeout(lockTimer);
    lockTimer = setTimeout(() => {
        lockedUntil = 0;
        submit.disabled = false;
    }, seconds * 1000);
}

form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (Date.now() < lockedUntil) return;
    showFormError(errorBox, "");
    email.removeAttribute("aria-invalid");
    password.removeAttribute("aria-invalid");
    const address = email.value.trim();
    if (!address) {
        email.setAttribute("aria-invalid", "true");
        email.focus();
        return showFormError(errorBox, "Enter your email address.");
    }
    if (!password.value) {
        password.setAttribute("aria-invalid", "true");
        password.focus();
        return showFormError(errorBox, "Enter your password.");
    }
    setBusy(submit, true);
    let response;
    try {
        response = await fetch("/dashboard/login", {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ email: address, password: password.value }),
            credentials: "same-origin",
        });
    } catch {
        setBusy(submit, false);
        return showFormError(errorBox, "Could not reach Soku. Check your connection and try again.");
    }
    if (response.ok) {
        location.replace(nextPath());
        return;
    }
    setBusy(submit, false);
    if (response.status === 429) {
        const seconds = Math.max(1, parseInt(response.headers.get("Retry-After") || "", 10) || 60);
        lockFor(seconds);
        return showFormError(errorBox, `Too many attempts; try again in ${seconds} seconds`);
    }
    let message = "";
    try {
        const body = await response.json();
        message = body?.error?.message || "";
    } catch {
        message = "";
    }
    if (response.status === 401) {
        password.value = "";
        password.setAttribute("aria-invalid", "true");
        password.focus();
        return showFormError(errorBox, message || "Wrong email or password.");
    }
    showFormError(errorBox, message || `Could not log in (HTTP ${response.status}). Try again.`);
});

// Already signed in (a live session cookie): straight on.
fetch("/dashboard/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => {
        if (response.ok) location.replace(nextPath());
    })
    .catch(() => {});
