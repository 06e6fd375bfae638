#!/usr/bin/env python3
"""A persistent jobq handler that does nothing: the template for a real one.

Run it with:  jobq worker --handler noop='python3 examples/handlers/noop.py' --persistent

jobq writes one JSON line per job on stdin and waits for one JSON line on stdout.
Load models, open connections etc. once, before the loop. Logs go to stderr, never stdout.
"""
import json
import sys


def handle(job):
    # The work goes here; raise to fail the attempt (it is retried).
    return {"ok": True}


def main():
    out = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        try:
            reply = {"id": job["id"], "ok": True, "result": handle(job)}
        except Exception as e:  # noqa: BLE001 - any error fails this attempt, not the process
            reply = {"id": job["id"], "ok": False, "error": f"{type(e).__name__}: {e}", "permanent": False}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
