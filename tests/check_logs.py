#!/usr/bin/env python3
"""Fails when a test run's server logs hold anything the tests marked as never to be logged.

The e2e support library writes the logs of its servers and the sensitive values its requests
and answers carried (beneficiaries' names and addresses, message bodies, passwords, codes,
tokens, TOTP secrets) to target/tmp/e2e-logs (see tests/support/logs.rs). Usage:
check_logs.py DIR [LOG...]: the server-*.log files in DIR, and any further log files given.
"""
import glob
import os
import sys


def main() -> int:
    d = sys.argv[1]
    logs = sorted(glob.glob(os.path.join(d, "server-*.log"))) + sys.argv[2:]
    values = {}
    for f in glob.glob(os.path.join(d, "sensitive-*.txt")):
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                kind, _, value = line.rstrip("\n").partition("\t")
                if value:
                    values.setdefault(value, kind)
    text = ""
    lines = 0
    for f in logs:
        with open(f, encoding="utf-8", errors="replace") as fh:
            t = fh.read()
            lines += t.count("\n")
            text += t
    if not values or not lines:
        print(f"check_logs: nothing to check ({len(values)} values, {lines} log lines)", file=sys.stderr)
        return 1
    found = [(kind, v) for v, kind in values.items() if v in text]
    for kind, v in found[:20]:
        at = text.find(v)
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        print(f"LEAK ({kind}): {v[:40]!r} in: {text[start:end][:300]}", file=sys.stderr)
    print(f"check_logs: {len(values)} sensitive values, {lines} log lines from {len(logs)} files, {len(found)} leaks")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
