#!/usr/bin/env python3
"""Browser test of the web UI against the real binaries on 127.0.0.1, in Debian's Chromium driven by Playwright.

First setup -> the jobs page (empty state) -> a filesystem job through the editor (the next runs previewed) -> Run now
-> its run page follows progress and the live log to `complete` with exactly the events the database holds -> a
failing job shows its error -> dark theme, the runs page, a phone-sized screen -> the API restarted while a run
streams: the page reconnects and ends with every event once -> an expired session returns to sign-in and back ->
sign out, a wrong password is refused, ten lock the address with a countdown. Screenshots: .build/ui-screenshots/.

Usage: python3 Tests/Browser/ui_test.py   (BASTION_BIN: binaries, default .build/debug; the UI must be built into Public/)
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

from harness import PASSWORD, ROOT, SHOTS, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")


def main():
    scratch = tempfile.mkdtemp(prefix="bui-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    os.makedirs(os.path.join(source, "docs"))
    for index in range(300):
        with open(os.path.join(source, "docs", f"file-{index:03}.txt"), "w") as handle:
            handle.write(f"file {index}\n" * (index + 1))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    def start_api():
        return subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public"), "--ws-close-delay-seconds", "2"],
            stdout=logs,
            stderr=subprocess.STDOUT,
        )

    api = start_api()
    worker = None
    pages = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        wait_ready(base)
        worker = subprocess.Popen(
            [os.path.join(BIN, "bastion-worker"), *common, "--worker-id", "ui-worker", "--sqlite-step-pause-ms", "150"], stdout=logs, stderr=subprocess.STDOUT
        )
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
            page = context.new_page()
            pages.append(page)
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            try:
                # First visit: the setup page, then the (empty) overview, then the (empty) jobs list.
                set_up_admin(page, base)
                expect(page.get_by_text("Nothing backed up yet")).to_be_visible()
                page.get_by_role("navigation").get_by_role("link", name="Jobs").click()
                expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
                expect(page.get_by_text("No jobs yet")).to_be_visible()
                expect(page.locator("footer")).to_contain_text("hub time zone UTC")

                # A filesystem job through the editor: the next runs appear as the schedule is chosen.
                page.get_by_role("link", name="Create your first job").click()
                expect(page.get_by_role("heading", name="New job")).to_be_visible()
                page.fill("input[name=name]", "Documents")
                page.fill("textarea[name=paths]", source)
                page.fill("input[name=baseDir]", os.path.join(scratch, "target"))
                preview = page.get_by_test_id("schedule-preview")
                expect(preview.locator("li")).to_have_count(5)
                expect(preview).to_contain_text("0 2 * * *")
                page.screenshot(path=os.path.join(SHOTS, "editor-1280-light.png"), full_page=True)
                # A bad cron is refused on its field, with the server's words.
                page.get_by_label("Cron").check()
                page.fill("input[name=cron]", "61 * * * *")
                expect(preview).to_contain_text("minute")
                page.get_by_label("Simple").check()
                page.get_by_role("button", name="Create job").click()
                expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

                # A second job, one that fails, through the API with this browser's session.
                csrf = page.request.get(base + "/api/session").json()["csrf_token"]
                target = {"type": "local_dir", "base_dir": os.path.join(scratch, "target"), "part_size_bytes": 1048576}
                response = page.request.post(
                    base + "/api/jobs",
                    data=json.dumps({"name": "Broken", "spec": {"v": 1, "type": "filesystem", "source": {"paths": [os.path.join(scratch, "missing")]}, "target": target}}),
                    headers={"x-csrf-token": csrf, "content-type": "application/json"},
                )
                assert response.status == 201, response.text()
                page.reload()
                row = page.locator("tr", has_text="Documents")
                expect(row).to_be_visible()
                expect(row).to_contain_text("every day at 02:00")
                page.screenshot(path=os.path.join(SHOTS, "jobs-1280-light.png"), full_page=True)

                # Run now -> the run page follows the run to its end.
                row.get_by_role("button", name="Run now").click()
                row.get_by_role("link", name="open run").click()
                expect(page.get_by_test_id("log")).to_contain_text("complete", timeout=60000)
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=20000)
                run_id = page.url.rstrip("/").split("/")[-1]
                stored = page.request.get(f"{base}/api/runs/{run_id}/events?limit=500").json()
                shown = page.eval_on_selector_all("[data-testid=log] .log-row", "rows => rows.map(row => Number(row.dataset.seq))")
                assert shown == [event["seq"] for event in stored], f"page shows {shown}, the database holds {[event['seq'] for event in stored]}"
                expect(page.locator(".progress-panel")).to_be_visible()
                # Every stage the run went through is done, with the time it took.
                stages = page.eval_on_selector_all(
                    ".stages li", "items => items.map(item => [item.dataset.stage, item.className, item.querySelector('.stage-time')?.textContent])"
                )
                assert [stage for stage, _, _ in stages][-3:] == ["packaging", "upload", "index"], stages
                assert all(state == "done" and re.fullmatch(r"\d+(\.\d)? m?s|\d+m \d+s|< 1 s", time or "") for _, state, time in stages), stages
                page.screenshot(path=os.path.join(SHOTS, "run-1280-light.png"), full_page=True)

                # Dark theme (the toggle persists across a reload).
                page.get_by_role("button", name="Toggle dark mode").click()
                page.reload()
                assert page.evaluate("document.documentElement.dataset.theme") == "dark"
                expect(page.get_by_test_id("log")).to_contain_text("complete")
                page.screenshot(path=os.path.join(SHOTS, "run-1280-dark.png"), full_page=True)

                # The failing job shows its error on its run page.
                page.goto(base + "/jobs")
                broken = page.locator("tr", has_text="Broken")
                broken.get_by_role("button", name="Run now").click()
                broken.get_by_role("link", name="open run").click()
                expect(page.locator(".badge.status-failed")).to_be_visible(timeout=60000)
                expect(page.locator(".run-summary")).to_contain_text("source_not_found")
                # The log filters: errors only.
                page.get_by_label("Level").select_option("error")
                levels = page.eval_on_selector_all("[data-testid=log] .log-row", "rows => rows.map(row => row.className)")
                assert levels and all("level-error" in name for name in levels), levels
                page.goto(base + "/jobs")
                names = lambda: page.eval_on_selector_all("table.list tbody td[data-label=Name] strong", "cells => cells.map(cell => cell.textContent)")
                expect(page.locator("table.list tbody tr")).to_have_count(2)
                assert names() == ["Broken", "Documents"], names()
                page.get_by_label("Sort").select_option("name_desc")
                expect(page.locator("table.list tbody tr").first).to_contain_text("Documents")
                assert names() == ["Documents", "Broken"], names()
                page.get_by_label("Sort").select_option("name_asc")
                expect(page.locator("table.list tbody tr").first).to_contain_text("Broken")
                page.screenshot(path=os.path.join(SHOTS, "jobs-1280-dark.png"), full_page=True)
                # Custom notifications: the editor lists the hub's destinations; the pick is saved in the spec.
                for name in ["ops", "pager"]:
                    created = page.request.put(
                        f"{base}/api/notifications/destinations/webhook/{name}",
                        data=json.dumps({"url": "http://127.0.0.1:9/hook"}),
                        headers={"x-csrf-token": csrf, "content-type": "application/json"},
                    )
                    assert created.ok, created.text()
                page.locator("tr", has_text="Documents").get_by_role("link", name="Edit").click()
                expect(page.locator("textarea[name=paths]")).to_have_value(source)
                page.get_by_label("Notifications").select_option("custom")
                picker = page.get_by_role("group", name="Notify")
                expect(picker).to_contain_text("pager")
                picker.get_by_label("ops").check()
                page.screenshot(path=os.path.join(SHOTS, "editor-1280-dark.png"), full_page=True)
                page.get_by_role("button", name="Save").click()
                expect(page.locator("tr", has_text="Documents")).to_be_visible()
                listed = next(job for job in page.request.get(base + "/api/jobs").json()["items"] if job["name"] == "Documents")
                saved = page.request.get(f"{base}/api/jobs/{listed['id']}").json()
                assert saved["spec"]["notifications"] == {"mode": "custom", "webhook": ["ops"]}, saved["spec"]["notifications"]
                page.goto(base + "/runs")
                expect(page.locator("table.list tbody tr")).to_have_count(2)
                expect(page.locator("table.list")).to_contain_text("Documents")
                page.get_by_label("Job name").fill("broken")
                expect(page.locator("table.list tbody tr")).to_have_count(1)
                expect(page.locator("table.list")).to_contain_text("Broken")
                page.get_by_label("Job name").fill("")

                # A phone.
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=os.path.join(SHOTS, "jobs-390.png"), full_page=True)
                page.goto(f"{base}/runs/{run_id}")
                expect(page.get_by_test_id("log")).to_contain_text("complete")
                page.screenshot(path=os.path.join(SHOTS, "run-390.png"), full_page=True)
                page.goto(base + "/jobs/new")
                page.screenshot(path=os.path.join(SHOTS, "editor-390.png"), full_page=True)
                page.goto(f"{base}/runs/{run_id}")
                page.set_viewport_size({"width": 1280, "height": 800})

                # The API restarts while a run streams: the page reconnects by itself and ends with every event once.
                database = os.path.join(scratch, "app.db")
                with sqlite3.connect(database) as connection:
                    connection.execute("CREATE TABLE t (x BLOB)")
                    connection.executemany("INSERT INTO t VALUES (randomblob(3500))", [()] * 3000)
                response = page.request.post(
                    base + "/api/jobs",
                    data=json.dumps({"name": "App database", "spec": {"v": 1, "type": "sqlite", "source": {"path": database}, "target": target}}),
                    headers={"x-csrf-token": csrf, "content-type": "application/json"},
                )
                assert response.status == 201, response.text()
                slow = page.request.post(f"{base}/api/jobs/{response.json()['id']}/run", headers={"x-csrf-token": csrf}).json()["run_id"]
                page.goto(f"{base}/runs/{slow}")
                expect(page.get_by_test_id("connection")).to_have_text("live", timeout=20000)
                expect(page.locator(".progress-panel")).to_contain_text("pages", timeout=20000)
                api.terminate()
                api.wait(timeout=20)
                expect(page.get_by_test_id("connection")).to_contain_text("reconnecting", timeout=10000)
                time.sleep(1.5)
                api = start_api()
                wait_ready(base)
                expect(page.get_by_test_id("log")).to_contain_text("complete", timeout=90000)
                stored = page.request.get(f"{base}/api/runs/{slow}/events?limit=500").json()
                shown = page.eval_on_selector_all("[data-testid=log] .log-row", "rows => rows.map(row => Number(row.dataset.seq))")
                assert shown == [event["seq"] for event in stored], f"after a restart the page shows {shown}, the database holds {[event['seq'] for event in stored]}"

                # An expired session: the next request returns to sign-in, and signing in comes back here.
                with sqlite3.connect(os.path.join(data, "bastion.db")) as connection:
                    connection.execute("DELETE FROM sessions")
                page.get_by_role("link", name="Runs").click()
                expect(page.get_by_role("heading", name="Sign in to Bastion")).to_be_visible()
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()

                # Sign out; a wrong password is refused with the server's message and request id.
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_role("heading", name="Sign in to Bastion")).to_be_visible()
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", "wrong password!")
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("alert")).to_contain_text("request")
                # Then the right one starts at the overview.
                page.fill("input[name=password]", PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()

                # Ten failures lock the address: the page says how long to wait, and the button waits too.
                page.get_by_role("button", name="Sign out").click()
                for _ in range(10):
                    page.fill("input[name=username]", "admin")
                    page.fill("input[name=password]", "wrong password!")
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_timeout(150)
                expect(page.get_by_role("status")).to_contain_text("try again in", timeout=10000)
                expect(page.get_by_role("button", name="Sign in")).to_be_disabled()

                assert not page_errors, f"errors in the page: {page_errors}"
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "failure.png"), full_page=True)
                sys.stderr.write(f"ui_test: the page at the failure: {page.url} (screenshot {os.path.join(SHOTS, 'failure.png')})\n")
                raise
            browser.close()
        print(f"ui_test: ok; screenshots in {SHOTS}: {', '.join(sorted(os.listdir(SHOTS)))}")
    except Exception:
        if pages:
            try:
                pages[0].screenshot(path=os.path.join(SHOTS, "failure.png"), full_page=True)
                sys.stderr.write(f"ui_test: the page at the failure: {pages[0].url}, {os.path.join(SHOTS, 'failure.png')}\n")
            except Exception:
                pass
        logs.flush()
        sys.stderr.write(open(os.path.join(scratch, "processes.log")).read()[-4000:])
        raise
    finally:
        stop([worker, api])
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
