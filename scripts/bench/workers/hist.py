#!/usr/bin/env python3
"""Quantiles of a Prometheus histogram between two scrapes (standard library only).

    hist.py METRIC BEFORE.txt AFTER.txt
      ->  {"count": N, "p50": s, "p99": s, "mean": s, "p50_bucket": [lo, hi], "p99_bucket": [lo, hi]}

The histogram is the difference AFTER - BEFORE of `METRIC_bucket{le=...}` (series without other labels, or summed
over them). A quantile is interpolated linearly inside its bucket, as Prometheus' histogram_quantile does, so it
is only as precise as the buckets (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, ... s for Soku's): the bucket that holds
each quantile is printed too.
"""

import json
import re
import sys


def read(path, metric):
    buckets, total, count = {}, 0.0, 0.0
    pat = re.compile(r"^" + re.escape(metric) + r"_(bucket|sum|count)(\{[^}]*\})?\s+(\S+)$")
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = pat.match(line.strip())
            if not m:
                continue
            kind, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            if kind == "bucket":
                le = re.search(r'le="([^"]+)"', labels).group(1)
                le = float("inf") if le == "+Inf" else float(le)
                buckets[le] = buckets.get(le, 0.0) + value
            elif kind == "sum":
                total += value
            else:
                count += value
    return buckets, total, count


def quantile(q, bounds, counts, n):
    """(interpolated value, [bucket lower bound, bucket upper bound])"""
    rank = q * n
    lower, prev = 0.0, 0.0
    for le, c in zip(bounds, counts):
        if c >= rank:
            if le == float("inf"):
                return lower, [lower, None]
            inside = c - prev
            return lower + (le - lower) * ((rank - prev) / inside if inside else 1.0), [lower, le]
        lower, prev = le, c
    return lower, [lower, None]


def main():
    metric, before, after = sys.argv[1:4]
    b0, s0, n0 = read(before, metric)
    b1, s1, n1 = read(after, metric)
    bounds = sorted(b1)
    counts = [b1[le] - b0.get(le, 0.0) for le in bounds]
    n = n1 - n0
    out = {"count": int(n)}
    if n > 0:
        for name, q in (("p50", 0.5), ("p99", 0.99)):
            value, bucket = quantile(q, bounds, counts, n)
            out[name] = round(value, 4)
            out[name + "_bucket"] = bucket
        out["mean"] = round((s1 - s0) / n, 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
