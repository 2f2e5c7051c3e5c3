#!/usr/bin/env python3
"""Browser test of the jobs list at scale (docs/ui.md, "Jobs at scale") against the real api, worker and janitor.

500 jobs are created through the API (filesystem and sqlite, some archived) -> the list shows one page of 50 with
the total, filters by type, latest-run status and archived state, searches by name, pages, and keeps its filters in
the URL -> "select all that match" walks every page of a filter -> a selection made by keyboard is bulk-archived and
the result says how many -> a bulk Run now of an archived job names it and why it failed -> two jobs are bulk-run
with no worker up: the jobs list, the runs list and the overview show them queued, then (worker started) success,
without a reload (lib/liveRefresh.ts). axe-core finds no serious or critical violation on the list with a selection
and a result at 1280 (light, dark) and 390 px; at 390 px the page does not scroll sideways.
Screenshots (.build/ui-screenshots/jobs-scale-*): 1280 light and dark, 390, in English and Chinese.

Usage: python3 Tests/Browser/ui_jobs_scale_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
axe = Axe()


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"jobs-scale-{name}.png"), full_page=True)


def audit(page, where):
    """No serious or critical axe-core violation; prints them with their nodes otherwise."""
    page.wait_for_load_state("networkidle")
    results = axe.run(page).response
    bad = [violation for violation in results["violations"] if violation["impact"] in ("serious", "critical")]
    for violation in bad:
        print(f"{where}: {violation['impact']} {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            print("   ", node["target"], node.get("failureSummary", "")[:200])
    assert not bad, f"{where}: {len(bad)} serious/critical axe violations"


def no_sideways_scroll(page, where):
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{where}: the page scrolls sideways ({width} > {viewport})"


def main():
    scratch = tempfile.mkdtemp(prefix="bjs-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    target = os.path.join(scratch, "target")
    os.makedirs(source)
    with open(os.path.join(source, "hello.txt"), "w") as handle:
        handle.write("hello\n" * 100)
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
        # The janitor now; the worker only once the two bulk-run jobs are seen queued.
        processes.append(subprocess.Popen([os.path.join(BIN, "bastion-janitor"), *common], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light", locale="en-US")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            try:
                set_up_admin(page, base)
                headers = api_headers(page, base)
                fs_target = {"type": "local_dir", "base_dir": target}

                # 500 jobs: two that back up a real directory, 498 of two types; every 12th archived.
                started = time.time()
                ids = {}
                for name in ("ok-alpha", "ok-beta"):
                    spec = {"v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": fs_target}
                    created = page.request.post(base + "/api/jobs", data=json.dumps({"name": name, "spec": spec}), headers=headers)
                    assert created.status == 201, created.text()
                    ids[name] = created.json()["id"]
                archived_names = []
                for index in range(498):
                    if index % 3 == 0:
                        name = f"files-{index:03d}"
                        spec = {"v": 1, "type": "filesystem", "source": {"paths": [os.path.join(scratch, "missing")]}, "target": fs_target}
                    else:
                        name = f"db-{index:03d}"
                        spec = {"v": 1, "type": "sqlite", "source": {"path": os.path.join(scratch, "missing.db")}, "target": fs_target}
                    created = page.request.post(base + "/api/jobs", data=json.dumps({"name": name, "spec": spec}), headers=headers)
                    assert created.status == 201, created.text()
                    ids[name] = created.json()["id"]
                    if index % 12 == 1:
                        archived_names.append(name)
                archived = page.request.post(
                    base + "/api/jobs/bulk", data=json.dumps({"action": "archive", "ids": [ids[name] for name in archived_names]}), headers=headers
                )
                assert archived.status == 200 and archived.json()["done"] == len(archived_names), archived.text()
                active = 500 - len(archived_names)
                sqlite_active = sum(1 for name in ids if name.startswith("db-") and name not in archived_names)
                print(f"created 500 jobs ({len(archived_names)} archived) in {time.time() - started:.1f} s")

                # One page of 50, the total, and the pager.
                page.goto(base + "/jobs")
                rows = page.locator("table.jobs-table tbody tr")
                expect(rows).to_have_count(50)
                toolbar = page.get_by_role("toolbar", name="Selected jobs")
                expect(toolbar).to_contain_text(f"{active} jobs")
                pages = -(-active // 50)
                expect(page.get_by_text(f"Page 1 of {pages}")).to_be_visible()
                page.get_by_role("button", name="Next").click()
                expect(page.get_by_text(f"Page 2 of {pages}")).to_be_visible()
                assert "page=2" in page.url, page.url
                by_name = sorted(name for name in ids if name not in archived_names)
                expect(rows.first.locator("td.name-col strong")).to_have_text(by_name[50])

                # Filters: type, archived state, latest-run status; the search; all in the URL, kept by a reload.
                page.get_by_label("Type").select_option("sqlite")
                expect(toolbar).to_contain_text(f"{sqlite_active} jobs")
                expect(page.get_by_text("Page 1 of")).to_be_visible()
                page.get_by_label("Search jobs").fill("db-01")
                expect(rows).to_have_count(6)  # db-010 011 013 014 016 017 019, 013 archived
                assert re.search(r"q=db-01", page.url) and "type=sqlite" in page.url, page.url
                page.reload()
                expect(rows).to_have_count(6)
                expect(page.get_by_label("Search jobs")).to_have_value("db-01")
                page.get_by_label("Show").select_option("archived")
                expect(rows).to_have_count(1)
                expect(rows.first).to_contain_text("db-013")
                page.get_by_label("Show").select_option("active")
                page.get_by_label("Latest run").select_option("failed")
                expect(page.get_by_role("heading", name="No job matches")).to_be_visible()
                page.get_by_label("Latest run").select_option("never")
                expect(rows).to_have_count(6)

                # Select all that match: every page of the filter, not just this one.
                page.get_by_role("button", name="Clear filters").click()
                page.get_by_label("Type").select_option("sqlite")
                expect(toolbar).to_contain_text(f"{sqlite_active} jobs")
                page.get_by_label("Select every job on this page").check()
                expect(toolbar).to_contain_text("50 jobs selected")
                page.get_by_role("button", name=f"Select all {sqlite_active} that match").click()
                expect(toolbar).to_contain_text(f"{sqlite_active} jobs selected")
                page.get_by_role("button", name="Clear selection").click()
                expect(toolbar).to_contain_text(f"{sqlite_active} jobs")

                # A selection by keyboard, bulk-archived: the result says how many, the list follows.
                page.get_by_label("Search jobs").fill("db-01")
                expect(rows).to_have_count(6)
                page.get_by_label("Select db-010").focus()
                page.keyboard.press("Space")
                page.keyboard.press("Tab")
                expect(page.get_by_label("Select db-010")).not_to_be_focused()
                page.get_by_label("Select db-011").focus()
                page.keyboard.press("Space")
                page.get_by_label("Select db-014").focus()
                page.keyboard.press("Space")
                expect(toolbar).to_contain_text("3 jobs selected")
                archive = page.get_by_role("button", name="Archive", exact=True)
                archive.focus()
                page.keyboard.press("Enter")
                outcome = page.get_by_test_id("bulk-outcome")
                expect(outcome).to_contain_text("3 jobs archived.")
                expect(rows).to_have_count(3)
                listed = page.request.get(base + "/api/jobs?archived=archived&q=db-01").json()
                assert sorted(job["name"] for job in listed["items"]) == ["db-010", "db-011", "db-013", "db-014"], listed
                page.get_by_role("button", name="Dismiss").click()

                # Run now of an archived job: it fails, by name and why, and stays selected.
                page.get_by_label("Show").select_option("archived")
                expect(rows).to_have_count(4)
                page.get_by_label("Select db-013").check()
                page.get_by_role("button", name="Run now").first.click()
                expect(outcome).to_contain_text("1 failed (still selected)")
                expect(outcome).to_contain_text("db-013: archived: unarchive it to run it")
                expect(toolbar).to_contain_text("1 job selected")
                page.get_by_role("button", name="Unarchive", exact=True).click()
                expect(outcome).to_contain_text("1 job unarchived.")
                expect(rows).to_have_count(3)
                page.get_by_role("button", name="Dismiss").click()

                # Two jobs bulk-run with no worker: the jobs list, the runs list and the overview show them queued...
                page.get_by_role("button", name="Clear filters").click()
                page.get_by_label("Search jobs").fill("ok-")
                expect(rows).to_have_count(2)
                page.get_by_label("Select every job on this page").check()
                expect(toolbar).to_contain_text("2 jobs selected")
                page.get_by_role("button", name="Run now").first.click()
                expect(outcome).to_contain_text("Run now: 2 runs queued.")
                for row in range(2):
                    expect(rows.nth(row).get_by_test_id("latest-run")).to_contain_text("queued")
                runs_page = context.new_page()
                runs_page.goto(base + "/runs")
                expect(runs_page.locator("table.list tbody tr")).to_have_count(2)
                expect(runs_page.locator("table.list tbody")).to_contain_text("queued")
                took = time.time()
                dashboard = page.request.get(base + "/api/dashboard", timeout=120000)
                print(f"GET /api/dashboard with 500 jobs: {dashboard.status} in {time.time() - took:.1f} s")
                overview = context.new_page()
                overview.on("pageerror", lambda error: page_errors.append("overview: " + str(error)))
                overview.goto(base + "/")
                # The dashboard of 500 jobs takes a while on a debug build.
                expect(overview.get_by_text("ok-alpha", exact=True)).to_be_visible(timeout=90000)
                expect(overview.locator("table.list tbody")).to_contain_text("queued")
                shot(page, "queued-1280")

                # ...then, the worker up, success on all three without a reload.
                processes.append(subprocess.Popen(
                    [os.path.join(BIN, "bastion-worker"), *common, "--worker-id", "ui-worker"], stdout=logs, stderr=subprocess.STDOUT
                ))
                for row in range(2):
                    expect(rows.nth(row).get_by_test_id("latest-run")).to_contain_text("success", timeout=60000)
                runs_rows = runs_page.locator("table.list tbody tr")
                for row in range(2):
                    expect(runs_rows.nth(row)).to_contain_text("success", timeout=30000)
                expect(overview.locator("table.list tbody")).not_to_contain_text("queued", timeout=30000)
                expect(overview.locator("table.list tbody")).not_to_contain_text("running", timeout=30000)
                for other in (runs_page, overview):
                    other.close()

                # Look and accessibility: a selection and a result on screen, 1280 light and dark, 390, English and Chinese.
                page.get_by_label("Search jobs").fill("db-0")
                expect(toolbar).to_contain_text("jobs")
                page.get_by_label("Select db-002").check()
                page.get_by_label("Select db-004").check()
                page.get_by_role("button", name="Run now").first.click()
                expect(outcome).to_contain_text("Run now: 2 runs queued.")
                audit(page, "jobs 1280 light")
                shot(page, "1280-light")
                url = page.url
                for scheme, width, height in (("dark", 1280, 900), ("light", 390, 844)):
                    other = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme, locale="en-US", storage_state=context.storage_state())
                    view = other.new_page()
                    view.goto(url)
                    expect(view.locator("table.jobs-table tbody tr").first).to_be_visible()
                    view.get_by_label("Select db-005").check()
                    expect(view.get_by_role("toolbar", name="Selected jobs")).to_contain_text("1 job selected")
                    audit(view, f"jobs {width} {scheme}")
                    if width == 390:
                        no_sideways_scroll(view, "jobs 390")
                    shot(view, f"{width}-{scheme}")
                    # Chinese: the same page, every word of it from the catalogue.
                    view.evaluate("localStorage.setItem('bastion.lang', 'zh-CN')")
                    view.reload()
                    expect(view.get_by_role("heading", name="任务", exact=True)).to_be_visible()
                    expect(view.get_by_label("最近运行")).to_be_visible()
                    view.get_by_label("选择 db-005").check()
                    expect(view.get_by_role("toolbar", name="所选任务")).to_contain_text("已选 1 个任务")
                    view.get_by_role("button", name="归档", exact=True).click()
                    expect(view.get_by_test_id("bulk-outcome")).to_contain_text("已归档 1 个任务。")
                    if width == 390:
                        no_sideways_scroll(view, "jobs 390 zh-CN")
                    shot(view, f"{width}-{scheme}-zh")
                    # Back for the next round: the job unarchived, English again.
                    view.request.post(base + "/api/jobs/bulk", data=json.dumps({"action": "unarchive", "ids": [ids["db-005"]]}), headers=headers)
                    other.close()

                # Hostile URLs: a made-up filter falls back to the default, never an error page.
                page.goto(base + "/jobs?status=exploded&type=zip&archived=maybe&sort=random&page=-3&node=" + "x" * 400)
                expect(rows).to_have_count(50)
                expect(page.locator(".error-box")).to_have_count(0)
                assert not page_errors, page_errors
            except Exception:
                shot(page, "failure")
                raise
            finally:
                browser.close()
        print(f"ok: 500 jobs listed, filtered, searched, paged, bulk-archived, bulk-run; lists refreshed without a reload; screenshots in {SHOTS}")
    except Exception:
        logs.flush()
        with open(os.path.join(scratch, "processes.log")) as handle:
            sys.stderr.write(handle.read()[-4000:])
        raise
    finally:
        stop(processes)


if __name__ == "__main__":
    main()
