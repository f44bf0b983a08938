#!/usr/bin/env python3
"""Helpers for scripts/bench-media.sh (standard library only).

  media.py rss OUT LABEL=PID [LABEL=PID ...]
      Samples VmRSS (and RssAnon) of each PID every RSS_INTERVAL seconds (default 0.05), and the summed VmRSS of
      its descendants (ffprobe/ffmpeg children of the worker), until SIGTERM/SIGINT; reads VmHWM at the start and
      at the end. Writes a JSON summary to OUT (kB figures as /proc gives them: KiB).

  media.py wait API KEY MEDIA_ID START_MS [SIZE DATA_DIR]
      Polls GET /v1/media/{id} every POLL_MS (default 20) ms until `ready` or `failed`; START_MS is the wall clock
      (ms since the epoch) at which the 201 came back. With SIZE and DATA_DIR (SOKU_DATA_DIR), also notes, at the
      same polling granularity, when a file in DATA_DIR/tmp first holds SIZE bytes (the worker's temporary copy
      complete: fetched, or copied from storage), and for media whose original is not stored yet (a URL) when a
      file first appears under DATA_DIR/objects/media/<id>/ after that (storing begins) and when `original` there
      holds SIZE bytes (stored). Prints JSON.

  media.py probe API KEY FILE N
      Uploads FILE N times one after another (multipart `file` part), each time polling every POLL_MS ms from the
      201 until `ready`; prints JSON with the per-upload times and p50/p99 (nearest rank).

  media.py pct P VALUES...      nearest-rank percentile of the values
"""

import http.client
import json
import math
import os
import signal
import sys
import time
import urllib.parse


def now_ms():
    return time.time() * 1000.0


def pct(values, p):
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


# ---------------------------------------------------------------------------------------------------------- rss


def status_kb(pid, fields):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in fields:
                    out[name] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return out


def descendants(pid):
    """Every descendant pid of pid (children of every thread, recursively)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def cmd_rss(out, specs):
    interval = float(os.environ.get("RSS_INTERVAL", "0.05"))
    procs = []
    for spec in specs:
        label, _, pid = spec.partition("=")
        procs.append((label, int(pid)))
    stop = {"now": False}

    def on_signal(_sig, _frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fields = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    state = {}
    for label, pid in procs:
        st = status_kb(pid, fields) or {}
        state[label] = {
            "pid": pid,
            "baseline_rss_kb": st.get("VmRSS"),
            "baseline_anon_kb": st.get("RssAnon"),
            "hwm_before_kb": st.get("VmHWM"),
            "peak_rss_kb": st.get("VmRSS") or 0,
            "peak_anon_kb": st.get("RssAnon") or 0,
            "peak_file_kb": st.get("RssFile") or 0,
            "peak_children_rss_kb": 0,
            "children_seen": 0,
            "samples": 0,
        }
    seen_kids = {label: set() for label, _ in procs}
    t0 = time.monotonic()
    while not stop["now"]:
        for label, pid in procs:
            st = status_kb(pid, fields)
            if st is None:
                continue
            s = state[label]
            s["samples"] += 1
            s["peak_rss_kb"] = max(s["peak_rss_kb"], st.get("VmRSS", 0))
            s["peak_anon_kb"] = max(s["peak_anon_kb"], st.get("RssAnon", 0))
            s["peak_file_kb"] = max(s["peak_file_kb"], st.get("RssFile", 0))
            kids = descendants(pid)
            total = 0
            for k in kids:
                kst = status_kb(k, ("VmRSS",))
                if kst:
                    total += kst.get("VmRSS", 0)
                    seen_kids[label].add(k)
            s["peak_children_rss_kb"] = max(s["peak_children_rss_kb"], total)
        time.sleep(interval)
    for label, pid in procs:
        st = status_kb(pid, fields) or {}
        s = state[label]
        s["end_rss_kb"] = st.get("VmRSS")
        s["hwm_after_kb"] = st.get("VmHWM")
        s["children_seen"] = len(seen_kids[label])
        # The high-water mark catches a spike between two samples: if it rose during the window, the window's
        # peak is the new mark; if not, the peak was below the old mark and the samples are what we have.
        if s["hwm_after_kb"] and s["hwm_before_kb"] and s["hwm_after_kb"] > s["hwm_before_kb"]:
            s["peak_kb"] = max(s["peak_rss_kb"], s["hwm_after_kb"])
            s["peak_from"] = "VmHWM"
        else:
            s["peak_kb"] = s["peak_rss_kb"]
            s["peak_from"] = "samples"
        s["growth_kb"] = s["peak_kb"] - (s["baseline_rss_kb"] or 0)
    summary = {"interval_s": interval, "window_s": round(time.monotonic() - t0, 3), "procs": state}
    with open(out, "w") as f:
        json.dump(summary, f)


# ---------------------------------------------------------------------------------------------------- HTTP bits


class Api:
    def __init__(self, base, key):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.key = key
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        return self.conn

    def request(self, method, path, body=None, headers=None):
        h = {"soku-api-key": self.key}
        h.update(headers or {})
        for attempt in (0, 1):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def get_media(self, media_id):
        status, data = self.request("GET", f"/v1/media/{media_id}")
        if status != 200:
            raise RuntimeError(f"GET /v1/media/{media_id}: {status} {data[:300]!r}")
        return json.loads(data)

    def upload(self, name, content):
        boundary = "soku-bench-" + os.urandom(8).hex()
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        status, data = self.request(
            "POST", "/v1/media", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        if status != 201:
            raise RuntimeError(f"upload of {name}: {status} {data[:300]!r}")
        return json.loads(data)


def iso_ms(s):
    """2026-12-04T10:00:00.123Z -> ms since the epoch."""
    from datetime import datetime, timezone

    s = s.replace("Z", "")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in s else "%Y-%m-%dT%H:%M:%S"
    return datetime.strptime(s, fmt).replace(tzinfo=timezone.utc).timestamp() * 1000.0


def largest_tmp(tmp_dir):
    best = 0
    try:
        for e in os.scandir(tmp_dir):
            try:
                best = max(best, e.stat().st_size)
            except FileNotFoundError:
                pass
    except FileNotFoundError:
        pass
    return best


def obj_state(obj_dir, size):
    """(any file under obj_dir, `original` there holding size bytes)"""
    try:
        names = os.listdir(obj_dir)
    except FileNotFoundError:
        return False, False
    done = False
    if "original" in names:
        try:
            done = os.stat(os.path.join(obj_dir, "original")).st_size >= size
        except FileNotFoundError:
            pass
    return bool(names), done


def wait_ready(api, media_id, start_ms, poll_ms, size=None, data_dir=None, limit_s=3600):
    tmp_full_ms = store_start_ms = store_done_ms = None
    tmp_dir = os.path.join(data_dir, "tmp") if data_dir else None
    obj_dir = os.path.join(data_dir, "objects", "media", media_id) if data_dir else None
    # An upload's original is in storage before the 201: only a URL's is stored by the worker.
    watch_store = bool(size and obj_dir) and not obj_state(obj_dir, size)[0]
    polls = 0
    while True:
        if size and tmp_dir and tmp_full_ms is None and largest_tmp(tmp_dir) >= size:
            tmp_full_ms = now_ms() - start_ms
        if watch_store and tmp_full_ms is not None and store_done_ms is None:
            started, done = obj_state(obj_dir, size)
            if started and store_start_ms is None:
                store_start_ms = now_ms() - start_ms
            if done:
                store_done_ms = now_ms() - start_ms
        m = api.get_media(media_id)
        polls += 1
        if m["status"] in ("ready", "failed"):
            t = now_ms() - start_ms
            out = {
                "status": m["status"],
                "ready_ms": round(t, 1),
                "polls": polls,
                "error": m.get("error"),
                "mimeType": m.get("mimeType"),
                "sizeBytes": m.get("sizeBytes"),
                "width": m.get("width"),
                "height": m.get("height"),
                "durationSeconds": m.get("durationSeconds"),
                "rendition": m.get("rendition") is not None,
            }
            if m.get("readyAt") and m.get("createdAt"):
                out["server_ms"] = round(iso_ms(m["readyAt"]) - iso_ms(m["createdAt"]), 1)
            for name, v in (("tmp_full_ms", tmp_full_ms), ("store_start_ms", store_start_ms),
                            ("store_done_ms", store_done_ms)):
                if v is not None:
                    out[name] = round(v, 1)
            return out
        if now_ms() - start_ms > limit_s * 1000:
            raise RuntimeError(f"{media_id} still {m['status']} after {limit_s} s")
        time.sleep(poll_ms / 1000.0)


def cmd_wait(base, key, media_id, start_ms, size=None, data_dir=None):
    poll_ms = float(os.environ.get("POLL_MS", "20"))
    api = Api(base, key)
    out = wait_ready(api, media_id, float(start_ms), poll_ms, int(size) if size else None, data_dir)
    out["poll_ms"] = poll_ms
    print(json.dumps(out))


def cmd_probe(base, key, path, n):
    poll_ms = float(os.environ.get("POLL_MS", "20"))
    api = Api(base, key)
    with open(path, "rb") as f:
        content = f.read()
    name = os.path.basename(path)
    runs = []
    for _ in range(int(n)):
        t0 = now_ms()
        m = api.upload(name, content)
        t201 = now_ms()
        r = wait_ready(api, m["id"], t201, poll_ms)
        if r["status"] != "ready":
            raise RuntimeError(f"{name}: {m['id']} {r['status']}: {r.get('error')}")
        r["upload_ms"] = round(t201 - t0, 1)
        runs.append(r)
    ready = [r["ready_ms"] for r in runs]
    server = [r["server_ms"] for r in runs if "server_ms" in r]
    up = [r["upload_ms"] for r in runs]
    last = runs[-1]
    print(
        json.dumps(
            {
                "file": name,
                "bytes": len(content),
                "n": len(runs),
                "poll_ms": poll_ms,
                "mimeType": last["mimeType"],
                "width": last["width"],
                "height": last["height"],
                "durationSeconds": last["durationSeconds"],
                "renditions": sum(1 for r in runs if r.get("rendition")),
                "ready_p50_ms": pct(ready, 50),
                "ready_p99_ms": pct(ready, 99),
                "ready_min_ms": min(ready),
                "server_p50_ms": pct(server, 50),
                "server_p99_ms": pct(server, 99),
                "upload_p50_ms": pct(up, 50),
                "upload_p99_ms": pct(up, 99),
            }
        )
    )


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "rss" and len(args) >= 2:
        cmd_rss(args[0], args[1:])
    elif cmd == "wait" and len(args) in (4, 6):
        cmd_wait(*args)
    elif cmd == "probe" and len(args) == 4:
        cmd_probe(*args)
    elif cmd == "pct" and len(args) >= 2:
        print(pct([float(x) for x in args[1:]], float(args[0])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
