#!/usr/bin/env python3
"""Browser benchmark of the run page, printing figures (not a test: no thresholds).

1. COMMIT -> row: a worker-like writer (`bastion-bench feed`) commits events at 100/s to a run whose page is open in
   Debian's Chromium; a MutationObserver in the page notes when each event's row appears. Prints p50/p99/max in ms.
2. A 100,000-event log: the page loads it (HTTP pages of 500) and then follows 100 ev/s live; a PerformanceObserver
   notes long tasks (> 50 ms) on the main thread. Prints the longest, their count, and the time to load.
3. The first load's JS and CSS, gzipped.

Usage: python3 Tests/Browser/ui_bench.py   (release binaries in .build/release, the UI built into Public/)
"""
import glob
import gzip
import json
import re
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from playwright.sync_api import expect, sync_playwright

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("BASTION_BIN", os.path.join(ROOT, ".build", "release")))
PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


OBSERVERS = """
window.__rows = {};
window.__frames = {};
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (message) => {
      const now = performance.timeOrigin + performance.now();
      const match = typeof message.data === "string" && /"seq":(\d+)/.exec(message.data);
      if (match && !(match[1] in window.__frames)) window.__frames[match[1]] = now;
    });
  }
};
window.__longTasks = [];
new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.__longTasks.push(entry.duration); })
  .observe({ type: "longtask", buffered: true });
new MutationObserver((mutations) => {
  const now = performance.timeOrigin + performance.now();
  for (const mutation of mutations) for (const node of mutation.addedNodes) {
    if (node.nodeType === 1 && node.dataset && node.dataset.seq && !(node.dataset.seq in window.__rows)) window.__rows[node.dataset.seq] = now;
  }
}).observe(document, { childList: true, subtree: true });
"""


def main():
    scratch = tempfile.mkdtemp(prefix="bub-")
    data = os.path.join(scratch, "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "api.log"), "w")
    api = subprocess.Popen(
        [os.path.join(BIN, "bastion-api"), "--data-dir", data, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public"), "--log-level", "warning"],
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/api/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script(OBSERVERS)
            page = context.new_page()
            page.goto(base + "/")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=confirm]", PASSWORD)
            page.get_by_role("button", name="Create account").click()
            expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
            csrf = page.request.get(base + "/api/session").json()["csrf_token"]
            headers = {"x-csrf-token": csrf, "content-type": "application/json"}
            spec = {"v": 1, "type": "filesystem", "source": {"paths": ["/tmp"]}, "target": {"type": "local_dir", "base_dir": scratch}}
            job = page.request.post(base + "/api/jobs", data=json.dumps({"name": "bench", "spec": spec}), headers=headers).json()["id"]

            def new_run():
                # No worker runs: the run stays queued and its page keeps following.
                return page.request.post(f"{base}/api/jobs/{job}/run", headers=headers).json()["run_id"]

            def feed(run, backlog, seconds, delay=0.0):
                return subprocess.Popen(
                    [os.path.join(BIN, "bastion-bench"), "feed", "--data-dir", data, "--run", run, "--backlog", str(backlog), "--rate", "100",
                     "--seconds", str(seconds), "--delay", str(delay)],
                    stdout=subprocess.PIPE,
                    text=True,
                )

            # 1. COMMIT -> row at 100 ev/s.
            run = new_run()
            page.goto(f"{base}/runs/{run}")
            expect(page.get_by_test_id("connection")).to_have_text("live")
            writer = feed(run, 0, 10)
            output, _ = writer.communicate(timeout=120)
            commits = {}
            for line in output.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit():
                    commits[parts[0]] = float(parts[1])
            page.wait_for_timeout(1000)
            rows = page.evaluate("window.__rows")
            frames = page.evaluate("window.__frames")
            arrivals = [frames[seq] - committed for seq, committed in commits.items() if seq in frames]
            renders = [rows[seq] - frames[seq] for seq in commits if seq in rows and seq in frames]
            latencies = [rows[seq] - committed for seq, committed in commits.items() if seq in rows]
            missing = len(commits) - len(latencies)
            print(f"COMMIT -> row in the page at 100 ev/s ({len(latencies)} events{'; ' + str(missing) + ' never shown' if missing else ''}):"
                  f" p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms")
            print(f"  of which COMMIT -> WebSocket frame: p50 {percentile(arrivals, 0.5):.1f} ms, p99 {percentile(arrivals, 0.99):.1f} ms;"
                  f" frame -> row: p50 {percentile(renders, 0.5):.1f} ms, p99 {percentile(renders, 0.99):.1f} ms")

            # 2. A 100,000-event log loads, then follows 100 ev/s.
            run = new_run()
            writer = feed(run, 100_000, 5, delay=0)
            writer.stdout.readline()  # "backlog done"
            page.goto(f"{base}/runs/{run}")
            started = time.time()
            expect(page.locator(".log-toolbar")).to_contain_text(re.compile(r"1\d{5} events"), timeout=120000)
            expect(page.get_by_test_id("connection")).to_have_text("live", timeout=120000)
            loaded = time.time() - started
            writer.communicate(timeout=120)
            page.wait_for_timeout(1000)
            tasks = page.evaluate("window.__longTasks")
            rows_in_dom = page.eval_on_selector_all("[data-testid=log] .log-row", "rows => rows.length")
            count = page.locator(".log-toolbar .muted").first.inner_text()
            print(f"100,000-event log: shown as '{count}', loaded and live after {loaded:.1f} s, {rows_in_dom} rows in the DOM;"
                  f" long tasks (> 50 ms): {len(tasks)}, longest {max(tasks) if tasks else 0:.0f} ms")
            # The observer itself works: a 120 ms busy loop must show up.
            page.evaluate("() => setTimeout(() => { const start = performance.now(); while (performance.now() - start < 120) {} }, 0)")
            page.wait_for_timeout(300)
            check = page.evaluate("window.__longTasks")
            print(f"(long-task observer check: {'ok, saw ' + str(round(max(check))) + ' ms' if check and max(check) >= 100 else 'FAILED: the observer saw nothing'})")
            browser.close()

        # 3. Sizes.
        for kind in ("js", "css"):
            for path in glob.glob(os.path.join(ROOT, "Public", "assets", f"*.{kind}")):
                raw = open(path, "rb").read()
                print(f"{kind.upper()} {os.path.basename(path)}: {len(raw)} bytes, {len(gzip.compress(raw, 9))} gzipped")
    finally:
        api.terminate()
        api.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
