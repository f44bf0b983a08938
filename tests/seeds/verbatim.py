#!/usr/bin/env python3
"""Check that every file in tests/seeds/examples/ is a verbatim copy of the docs' code examples.

Usage: verbatim.py DOC.txt EXAMPLES_DIR

Each example file is read as runs of consecutive lines; every run must appear, line for line and contiguous, in
the doc. Blank lines only separate runs. The last non-blank line of a file is the one line we add (the call) and is
exempt. Exit 0 when every file passes, 1 otherwise (each offending line is printed).
"""

import pathlib
import sys


def check(doc_lines, lines):
    """Returns a list of (line number, text) of lines that could not be matched to the doc."""
    body = list(enumerate(lines, 1))
    while body and not body[-1][1].strip():
        body.pop()
    if body:
        body.pop()  # the call line we add
    bad = []
    i = 0
    while i < len(body):
        if not body[i][1].strip():
            i += 1
            continue
        # Longest contiguous match starting at body[i] anywhere in the doc.
        best = 0
        for start, text in enumerate(doc_lines):
            if text != body[i][1]:
                continue
            n = 0
            while (
                i + n < len(body)
                and start + n < len(doc_lines)
                and doc_lines[start + n] == body[i + n][1]
            ):
                n += 1
            best = max(best, n)
        if best == 0:
            bad.append(body[i])
            i += 1
        else:
            i += best
    return bad


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    doc_lines = pathlib.Path(sys.argv[1]).read_text().split("\n")
    failed = 0
    files = sorted(
        p
        for p in pathlib.Path(sys.argv[2]).iterdir()
        if p.suffix in (".sh", ".py", ".mjs", ".js")
    )
    for path in files:
        bad = check(doc_lines, path.read_text().split("\n"))
        if bad:
            failed += 1
            for num, text in bad:
                print(f"{path.name}:{num}: not in the docs: {text}")
    print(f"verbatim: {len(files) - failed} of {len(files)} example files are verbatim copies")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
