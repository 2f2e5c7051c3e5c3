#!/usr/bin/env python3
"""Browser test of the job page's charts (docs/ui.md, "Charts") against the real api, worker and janitor.

A tree is backed up three times with changes in between -> the job's Overview shows Trends: three SVG charts (size
with a stored and a source line, duration bars, files-changed bars) -> each chart's values table holds one row per
snapshot or run, and the files-changed table the diff's counts (every file for the first snapshot, then 3 and 1).
Screenshots (.build/ui-screenshots/): charts at 1280 light and dark, at 390, and in Chinese.

Usage: python3 Tests/Browser/ui_charts_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def backup(page, base, headers, job):
    """Runs the job now and waits for the run to end; its id."""
    started = page.request.post(f"{base}/api/jobs/{job}/run", headers=headers)
    assert started.status == 200, started.text()
    run = started.json()["run_id"]
    for _ in range(600):
        status = page.request.get(f"{base}/api/runs/{run}").json()["status"]
        if status not in ("queued", "running"):
            assert status == "success", status
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run} did not finish")


def main():
    scratch = tempfile.mkdtemp(prefix="bch-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    target = os.path.join(scratch, "target")
    for index in range(5):
        write(os.path.join(source, f"file{index}.txt"), f"file {index}\n" * (200 * (index + 1)))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    processes = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")], stdout=logs, stderr=subprocess.STDOUT
        ))
        wait_ready(base)
        for name, arguments in [("bastion-worker", ["--worker-id", "ui-worker"]), ("bastion-janitor", [])]:
            processes.append(subprocess.Popen([os.path.join(BIN, name), *common, *arguments], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light", locale="en-US")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            try:
                set_up_admin(page, base)
                headers = api_headers(page, base)
                spec = {"v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": {"type": "local_dir", "base_dir": target}}
                created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Charts", "spec": spec}), headers=headers)
                assert created.status == 201, created.text()
                job = created.json()["id"]

                # Before any backup: the card says why it is empty.
                page.goto(f"{base}/jobs/{job}")
                expect(page.locator(".job-charts")).to_contain_text("No snapshots yet")

                runs = [backup(page, base, headers, job)]
                # Second: one file changed, one added, one removed (3); third: one more added (1).
                write(os.path.join(source, "file0.txt"), "changed\n" * 5000)
                write(os.path.join(source, "added.txt"), "added\n")
                os.unlink(os.path.join(source, "file4.txt"))
                runs.append(backup(page, base, headers, job))
                write(os.path.join(source, "later.txt"), "later\n")
                runs.append(backup(page, base, headers, job))

                page.goto(f"{base}/jobs/{job}")
                charts = page.get_by_test_id("job-charts")
                expect(charts.get_by_role("heading", name="Trends")).to_be_visible()
                expect(charts.locator("svg[role=img]")).to_have_count(3)
                size = charts.locator("[data-chart=size]")
                expect(size.locator("svg[role=img]")).to_have_attribute("aria-label", "Snapshot size: stored and source size of the last 3 snapshots")
                for series in ("series-stored", "series-source"):
                    d = size.locator(f"path.{series}").get_attribute("d")
                    assert d and d.startswith("M") and d.count("L") == 2, (series, d)
                expect(charts.locator("[data-chart=duration] rect.series-duration")).to_have_count(3)
                # Files changed: counted from the diffs once the page is up.
                changes = charts.locator("[data-chart=changes]")
                expect(changes.locator("rect.series-first")).to_have_count(1)
                expect(changes.locator("rect.series-changes")).to_have_count(2)
                changes.locator("summary").click()
                expect(changes.locator("tbody tr td:nth-child(2)")).to_have_text(["5 (first snapshot)", "3", "1"])
                size.locator("summary").click()
                expect(size.locator("tbody tr")).to_have_count(3)
                expect(size.locator("tbody tr").first.get_by_role("link")).to_have_attribute("href", f"/runs/{runs[0]}")
                charts.locator("[data-chart=duration] summary").click()
                expect(charts.locator("[data-chart=duration] tbody tr")).to_have_count(3)

                charts.scroll_into_view_if_needed()
                charts.screenshot(path=os.path.join(SHOTS, "charts-1280-light.png"))
                page.evaluate("localStorage.setItem('bastion.theme', 'dark')")
                page.reload()
                expect(charts.locator("[data-chart=changes] rect.series-changes")).to_have_count(2)
                charts.screenshot(path=os.path.join(SHOTS, "charts-1280-dark.png"))
                page.set_viewport_size({"width": 390, "height": 844})
                charts.locator("[data-chart=changes] summary").click()
                charts.screenshot(path=os.path.join(SHOTS, "charts-390-dark.png"))
                page.evaluate("localStorage.setItem('bastion.theme', 'light'); localStorage.setItem('bastion.lang', 'zh-CN')")
                page.reload()
                expect(charts.get_by_role("heading", name="趋势")).to_be_visible()
                expect(charts.locator("[data-chart=changes] rect.series-changes")).to_have_count(2)
                charts.locator("[data-chart=changes] summary").click()
                expect(charts.locator("[data-chart=changes] tbody tr td:nth-child(2)")).to_have_text(["5（首个快照）", "3", "1"])
                charts.screenshot(path=os.path.join(SHOTS, "charts-390-light-zh.png"))
                page.set_viewport_size({"width": 1280, "height": 800})
                charts.screenshot(path=os.path.join(SHOTS, "charts-1280-light-zh.png"))
                assert not page_errors, page_errors
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "charts-failure.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        stop(processes)
        logs.close()
    print("ui_charts_test: OK")


if __name__ == "__main__":
    sys.exit(main())
