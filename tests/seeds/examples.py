#!/usr/bin/env python3
"""The runnable examples of docs/examples.md, taken from the page itself.

Usage:
  examples.py extract DOC OUTDIR [--base-url URL] [--video-url URL] [--media-id ID] [--shift-dates]
      Writes each runnable file of RUNNABLE to OUTDIR, assembled from whole code blocks of DOC (found by their
      section heading and language, joined in the order given) plus the one call line we add. Prints what each
      file is made of, and the examples not run and why. Every code block of DOC must be used by a runnable file
      or listed in SKIPPED / NOT_RUN: a new example cannot go unnoticed. With --base-url, the docs' base URL
      https://api.mysoku.io becomes URL; with --video-url URL, the docs' example video
      https://example.com/videos/product-demo.mp4 becomes URL (a real video served locally); with --media-id ID,
      the transcription example's media_f7e8d9c0b3c4 becomes ID (a real video with speech); with --firebase-token T
      and --old-key-id K, the key-rotation example's token and old key id become T (an access token from
      POST /v1/auth/login) and K (a real key); with --shift-dates,
      the docs' timestamps move forward when they are no longer safely in the future (see tests/seeds/README.md).
      Nothing else is changed.
  examples.py check-seed DOC SEED
      Every code block of DOC must appear in SEED (the product docs' text) verbatim, as whole lines, and in the
      same order.
  examples.py selftest DOC SEED
      Shows that check-seed fails for an edited block and for two blocks swapped, and that extract fails when a
      block it needs is missing.

Exit 0 on success, 1 on a failed check, 2 on bad usage.
"""

import datetime
import pathlib
import re
import sys
import tempfile

BASE_URL = "https://api.mysoku.io"
VIDEO_URL = "https://example.com/videos/product-demo.mp4"
MEDIA_ID = "media_f7e8d9c0b3c4"
FIREBASE_TOKEN = "eyJhbGciOiJSUzI1NiIs..."
OLD_KEY_ID = "key_old_id_here"
LANGUAGE_HEADINGS = {"curl", "JavaScript", "Python"}

PY_BASE = ("Python Base Configuration", "python")
JS_BASE = ("JavaScript Base Configuration", "javascript")
PY_RETRY = ("Error Handling with Retry Logic", "python")
JS_RETRY = ("Error Handling with Retry Logic", "javascript")

# file -> (blocks, in order; the call line we add, or None). Python files start with the Python base
# configuration; Node files with the JavaScript one, or with the retry block, which declares its own
# SOKU_API_KEY and BASE_URL (the two cannot share a module).
RUNNABLE = {
    "text_post.sh": ([("Publish a Text Post", "bash")], None),
    "text_post.py": ([PY_BASE, ("Publish a Text Post", "python")], "publish_text_post()"),
    "text_post.mjs": ([JS_BASE, ("Publish a Text Post", "javascript")], "await publishTextPost();"),
    "image_post.sh": ([("Publish an Image Post with Multiple Images", "bash")], None),
    "image_post.py": (
        [PY_BASE, ("Publish an Image Post with Multiple Images", "python")],
        "publish_image_post()",
    ),
    "image_post.mjs": (
        [JS_BASE, ("Publish an Image Post with Multiple Images", "javascript")],
        "await publishImagePost();",
    ),
    # Key rotation: the token is an access token from POST /v1/auth/login (the docs' "Firebase ID token"), and the
    # old key is a real key of the account; Node and Python take both from the environment in our call line.
    "rotate_key.sh": ([("API Key Rotation", "bash")], None),
    "rotate_key.mjs": (
        [("API Key Rotation", "javascript")],
        "await rotateApiKey(process.env.FIREBASE_TOKEN, process.env.OLD_KEY_ID);",
    ),
    "rotate_key.py": (
        [PY_BASE, ("API Key Rotation", "python")],
        "rotate_api_key(os.environ['FIREBASE_TOKEN'], os.environ['OLD_KEY_ID'])",
    ),
    "transcribe.sh": ([("Transcribe a Video", "bash")], None),
    "transcribe.py": ([PY_BASE, ("Transcribe a Video", "python")], "transcribe_video()"),
    "transcribe.mjs": ([JS_BASE, ("Transcribe a Video", "javascript")], "await transcribeVideo();"),
    "scheduled_post.sh": ([("Schedule a Post for Later", "bash")], None),
    "scheduled_post.py": ([PY_BASE, ("Schedule a Post for Later", "python")], "schedule_post()"),
    "scheduled_post.mjs": (
        [JS_BASE, ("Schedule a Post for Later", "javascript")],
        "await schedulePost();",
    ),
    # Media: a video fetched from a URL, then posted; a rendered template, then posted.
    "video_post.sh": ([("Upload Media and Publish a Video Post", "bash")], None),
    "video_post.py": (
        [PY_BASE, ("Upload Media and Publish a Video Post", "python")],
        "upload_and_publish_video()",
    ),
    "video_post.mjs": (
        [JS_BASE, ("Upload Media and Publish a Video Post", "javascript")],
        "await uploadAndPublishVideo();",
    ),
    "og_image.sh": ([("Generate an OG Image and Publish", "bash")], None),
    "og_image.py": (
        [PY_BASE, ("Generate an OG Image and Publish", "python")],
        "render_template_and_publish()",
    ),
    "og_image.mjs": (
        [JS_BASE, ("Generate an OG Image and Publish", "javascript")],
        "await renderTemplateAndPublish();",
    ),
    # The base helpers on their own, with a call that must fail: a post to an unknown platform.
    "error_helper.py": (
        [PY_BASE],
        "soku_request('/v1/posts', method='POST', json_data={'post': {'content': {'text': 'hello', "
        "'mediaType': 'text', 'platform': ['myspace']}}})",
    ),
    "error_helper.mjs": (
        [JS_BASE],
        "await sokuRequest('/v1/posts', { method: 'POST', body: JSON.stringify({ post: { content: { text: "
        "'hello', mediaType: 'text', platform: ['myspace'] } } }) }).then((r) => { console.log('UNEXPECTED "
        "SUCCESS', JSON.stringify(r)); process.exit(1); }, (e) => console.log(JSON.stringify({ message: "
        "e.message, code: e.code, status: e.status, requestId: e.requestId })));",
    ),
    # Node: the docs' own usage, main(). Python has no usage in the docs: the same post as the Node usage.
    "retry_429.mjs": ([JS_RETRY], "await main();"),
    "retry_429.py": (
        [PY_BASE, PY_RETRY],
        "print(f\"Post submitted: {soku_request_with_retry('/v1/posts', json_data={'post': {'content': "
        "{'text': 'Published with production-grade error handling.', 'mediaType': 'text', 'platform': "
        "['threads']}}})['postSubmissionId']}\")",
    ),
    # Node: the block ends with its own call, batchPublish(posts). Python: the three posts of the Node usage.
    "batch_publish.mjs": ([JS_RETRY, ("Batch Publishing Workflow", "javascript")], None),
    "batch_publish.py": (
        [PY_BASE, PY_RETRY, ("Batch Publishing Workflow", "python")],
        "batch_publish([{'post': {'content': {'text': 'Monday motivation: consistency beats perfection.', "
        "'mediaType': 'text', 'platform': ['threads', 'x']}}, 'scheduledTime': '2026-03-09T09:00:00.000Z'}, "
        "{'post': {'content': {'text': 'Tuesday tip: automate what you repeat.', 'mediaType': 'text', "
        "'platform': ['threads', 'x']}}, 'scheduledTime': '2026-03-10T09:00:00.000Z'}, {'post': {'content': "
        "{'text': 'Wednesday wisdom: ship it, then improve.', 'mediaType': 'text', 'platform': ['threads', "
        "'x']}}, 'scheduledTime': '2026-03-11T09:00:00.000Z'}])",
    ),
}

# Whole sections not run: features Soku does not have yet.
SKIPPED = {}
# Single blocks not run, and why.
NOT_RUN = {
    ("Environment Variable", "bash"): "run.sh sets SOKU_API_KEY to a key of its own account",
}

FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


class Fail(Exception):
    pass


def blocks(doc_text):
    """The fenced code blocks of a Markdown page: dicts with section, language, code, line (1-based).

    A block's section is its `###` heading, unless that heading only names a language (curl, JavaScript,
    Python): then it is the `##` heading above."""
    found = []
    h2 = h3 = None
    lines = doc_text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            h2, h3 = line[3:].strip(), None
        elif line.startswith("### "):
            h3 = line[4:].strip()
        else:
            m = FENCE.match(line)
            if m:
                start = i + 1
                i += 1
                while i < len(lines) and lines[i] != "```":
                    i += 1
                if i == len(lines):
                    raise Fail(f"line {start}: code block never closed")
                section = h3 if h3 and h3 not in LANGUAGE_HEADINGS else h2
                found.append(
                    {
                        "section": section,
                        "language": m.group(1),
                        "code": "\n".join(lines[start:i]),
                        "line": start,
                    }
                )
        i += 1
    return found


def by_key(found):
    keyed = {}
    for b in found:
        key = (b["section"], b["language"])
        if key in keyed:
            raise Fail(f"two {key[1]} blocks in section {key[0]!r} (lines {keyed[key]['line']} and {b['line']})")
        keyed[key] = b
    return keyed


def assemble(doc_text):
    """{file: text} for every runnable file, after checking that every block is accounted for."""
    found = blocks(doc_text)
    keyed = by_key(found)
    used = set()
    files = {}
    for name, (parts, call) in RUNNABLE.items():
        pieces = []
        for key in parts:
            if key not in keyed:
                raise Fail(f"{name}: docs/examples.md has no {key[1]} block in section {key[0]!r}")
            used.add(key)
            pieces.append(keyed[key]["code"])
        if call:
            pieces.append(call)
        files[name] = "\n\n".join(pieces) + "\n"
    unaccounted = [
        f"{b['section']!r} ({b['language']}, line {b['line']})"
        for b in found
        if (b["section"], b["language"]) not in used
        and b["section"] not in SKIPPED
        and (b["section"], b["language"]) not in NOT_RUN
    ]
    if unaccounted:
        raise Fail(
            "code blocks neither run nor listed as skipped (add them to RUNNABLE or SKIPPED in "
            "tests/seeds/examples.py): " + ", ".join(unaccounted)
        )
    for section in SKIPPED:
        if not any(b["section"] == section for b in found):
            raise Fail(f"SKIPPED names {section!r}, which docs/examples.md does not have")
    return files, found


def date_shift(files, now=None):
    """The [(old, new)] timestamps to replace: all move by the same whole number of days, the largest that keeps
    the latest at most 364 days ahead, when the earliest is less than a day ahead of now; else none."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    stamps = sorted({s for text in files.values() for s in TIMESTAMP.findall(text)})
    if not stamps:
        return []
    parse = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc
    )
    first, last = parse(stamps[0]), parse(stamps[-1])
    if first >= now + datetime.timedelta(days=1):
        return []
    days = (now + datetime.timedelta(days=364) - last) // datetime.timedelta(days=1)
    shift = datetime.timedelta(days=days)
    return [(s, (parse(s) + shift).strftime("%Y-%m-%dT%H:%M:%S.") + s[20:23] + "Z") for s in stamps]


def extract(doc, out, base_url=None, shift_dates=False, video_url=None, media_id=None, token=None, old_key=None):
    files, found = assemble(pathlib.Path(doc).read_text())
    mapping = date_shift(files) if shift_dates else []
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if base_url:
            text = text.replace(BASE_URL, base_url)
        if video_url:
            text = text.replace(VIDEO_URL, video_url)
        if media_id:
            text = text.replace(MEDIA_ID, media_id)
        if token:
            text = text.replace(FIREBASE_TOKEN, token)
        if old_key:
            text = text.replace(OLD_KEY_ID, old_key)
        for old, new in mapping:
            text = text.replace(old, new)
        (out / name).write_text(text)
        parts, call = RUNNABLE[name]
        made_of = " + ".join(f"{s} ({lang})" for s, lang in parts)
        print(f"example {name}: {made_of}{' + our call line' if call else ''}")
    for old, new in mapping:
        print(f"date: {old} -> {new}")
    for section, why in SKIPPED.items():
        langs = ", ".join(b["language"] for b in found if b["section"] == section)
        print(f"skipped: {section} ({langs}): {why}")
    for (section, lang), why in NOT_RUN.items():
        print(f"not run: {section} ({lang}): {why}")


def check_seed(doc_text, seed_text):
    """Problems found: every block of the doc verbatim, as whole lines and in order, in the seed text."""
    problems = []
    pos = 0
    seed = "\n" + seed_text + "\n"
    for b in blocks(doc_text):
        needle = "\n" + b["code"] + "\n"
        at = seed.find(needle, pos)
        if at < 0:
            where = "anywhere" if seed.find(needle) < 0 else "after the block before it"
            problems.append(
                f"line {b['line']}: the {b['language']} block of {b['section']!r} is not in the docs {where}"
            )
            continue
        pos = at + len(needle) - 1
    return problems


def selftest(doc, seed):
    doc_text = pathlib.Path(doc).read_text()
    seed_text = pathlib.Path(seed).read_text()
    found = blocks(doc_text)
    assert not check_seed(doc_text, seed_text), "docs/examples.md itself must pass check-seed first"
    # One character changed inside a block.
    retry = next(b for b in found if (b["section"], b["language"]) == JS_RETRY)
    edited = doc_text.replace(retry["code"], retry["code"].replace("attempt === maxRetries", "attempt > maxRetries"), 1)
    assert edited != doc_text and check_seed(edited, seed_text), "an edited block must fail"
    # Two blocks swapped.
    a, b = found[1]["code"], found[2]["code"]
    swapped = doc_text.replace(a, "\0").replace(b, a).replace("\0", b)
    assert swapped != doc_text and check_seed(swapped, seed_text), "blocks out of order must fail"
    # A block the runnable files need, gone.
    gone = doc_text.replace("### Python Base Configuration", "### Python Setup", 1)
    try:
        assemble(gone)
    except Fail:
        pass
    else:
        raise AssertionError("a missing block must fail")
    print("selftest: an edited block, two swapped blocks and a missing block are all caught")


def main(argv):
    try:
        if len(argv) >= 3 and argv[0] == "extract":
            base_url = None
            if "--base-url" in argv:
                base_url = argv[argv.index("--base-url") + 1]
            video_url = None
            if "--video-url" in argv:
                video_url = argv[argv.index("--video-url") + 1]
            media_id = None
            if "--media-id" in argv:
                media_id = argv[argv.index("--media-id") + 1]
            token = argv[argv.index("--firebase-token") + 1] if "--firebase-token" in argv else None
            old_key = argv[argv.index("--old-key-id") + 1] if "--old-key-id" in argv else None
            extract(argv[1], argv[2], base_url, "--shift-dates" in argv, video_url, media_id, token, old_key)
        elif len(argv) == 3 and argv[0] == "check-seed":
            problems = check_seed(pathlib.Path(argv[1]).read_text(), pathlib.Path(argv[2]).read_text())
            for p in problems:
                print(p)
            n = len(blocks(pathlib.Path(argv[1]).read_text()))
            print(f"check-seed: {n - len(problems)} of {n} code blocks verbatim and in order")
            return 1 if problems else 0
        elif len(argv) == 3 and argv[0] == "selftest":
            selftest(argv[1], argv[2])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
