#!/usr/bin/env python3
"""Browser test of the run page's outcome, its connection badge, the UI's own confirmations and the job page's tabs
(docs/ui.md, "Run pages", "Dialogs", "The job page") against the real api, worker, janitor and agent.

1. An incremental job backs up (5 new files), then, after one file changed, one removed and one added, again: its run
   page says "Files: 1 new, 1 changed, 3 unchanged, 1 removed" and the bytes stored; a restore over what is already
   there says the files restored and skipped; a verify the files checked; each in English and in Chinese.
2. A run that ends while its page is open: the badge says live, then ended (never live once it ended); opened after
   the end it says ended.
3. Every action that asked through window.confirm asks in the UI's own dialog, driven by keys: Enter on the button
   opens it with focus inside, Tab stays inside, Escape closes it with nothing done and focus back on the button,
   Enter again and Tab to the action and Enter does it: cancel a run, verify, apply retention, delete a snapshot,
   delete a credential, rotate and revoke an agent. The browser's own dialog never opens.
4. The job page's five tabs open at 1280 and 390 px without sideways scrolling; axe-core finds no serious or critical
   violation on them (light and dark at 1280, light at 390), on the run pages, or with a confirmation open.
5. The job page follows its runs: a backup started from its Backup now goes queued -> running -> success on the
   History tab (back from the run page, never reloaded), with its outcome line; the Snapshots and Overview tabs have
   it. The runs list shows each finished run's outcome (backup, incremental backup, restore, verify) on one line with
   the whole in its title, in English and Chinese, at 1280 and 390 px without sideways scrolling, axe-clean.
Screenshots: .build/ui-screenshots/pages-*.png.

Usage: python3 Tests/Browser/ui_pages_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
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
TABS = [("overview", "Overview"), ("history", "History"), ("snapshots", "Snapshots"), ("retention", "Retention"), ("compare", "Compare")]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def wait_run(page, base, run, statuses=("success",), timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = page.request.get(f"{base}/api/runs/{run}").json()
        if found["status"] not in ("queued", "running"):
            assert found["status"] in statuses, found
            return found
        time.sleep(0.1)
    raise AssertionError(f"run {run} did not finish")


def run_job(page, base, headers, job):
    started = page.request.post(f"{base}/api/jobs/{job}/run", headers=headers)
    assert started.status == 200, started.text()
    return started.json()["run_id"]


def create_job(page, base, headers, name, spec):
    created = page.request.post(base + "/api/jobs", data=json.dumps({"name": name, "spec": spec}), headers=headers)
    assert created.status == 201, created.text()
    return created.json()["id"]


def audit(page, name):
    """axe-core on what the page shows now: no serious or critical violation."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)
    violations = [v for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not violations, (name, [(v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3]) for v in violations])


def focused_in_dialog(page):
    return page.evaluate("() => !!document.activeElement && !!document.activeElement.closest('dialog[open]')")


def confirm_by_keys(page, opener, action, unchanged, shot=None):
    """Enter on `opener` -> the dialog, focus inside; Tab goes round inside; Escape -> closed, `unchanged()` holds, focus
    back on the opener; Enter -> the dialog again, Tab to `action`, Enter."""
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_have_count(1)
    expect(dialog.get_by_role("button", name=action, exact=True)).to_be_visible()
    assert focused_in_dialog(page)
    for _ in range(4):
        page.keyboard.press("Tab")
        assert focused_in_dialog(page), "Tab left the dialog"
    page.keyboard.press("Shift+Tab")
    assert focused_in_dialog(page), "Shift+Tab left the dialog"
    if shot:
        audit(page, shot)
        page.screenshot(path=os.path.join(SHOTS, f"pages-{shot}.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert opener.evaluate("(element) => element === document.activeElement"), "focus did not return to the button"
    unchanged()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(1)
    # Focus starts on the dismissing button (a destructive action is never one Enter away); Tab reaches the action.
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name=action, exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)


def main():
    scratch = tempfile.mkdtemp(prefix="bpg-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    slow_source = os.path.join(scratch, "slow-source")
    for index in range(5):
        write(os.path.join(source, f"file{index}.txt"), f"file {index}\n" * (50 * (index + 1)))
    write(os.path.join(slow_source, "one.txt"), "one\n")
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
            browser_dialogs = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("dialog", lambda dialog: (browser_dialogs.append(dialog.message), dialog.dismiss()))
            try:
                set_up_admin(page, base)
                headers = api_headers(page, base)
                spec = {
                    "v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": {"type": "local_dir", "base_dir": os.path.join(scratch, "target")},
                    "pipeline": {"incremental": {"full_every": 10}},
                }
                job = create_job(page, base, headers, "Pages", spec)

                # 1. What each run did.
                first = run_job(page, base, headers, job)
                wait_run(page, base, first)
                page.goto(f"{base}/runs/{first}")
                outcome = page.get_by_test_id("run-outcome")
                expect(outcome).to_contain_text("Files: 5 new, 0 changed, 0 unchanged, 0 removed")
                expect(outcome).to_contain_text("stored on the target")

                write(os.path.join(source, "file0.txt"), "changed, and longer than before\n" * 40)
                os.unlink(os.path.join(source, "file4.txt"))
                write(os.path.join(source, "added.txt"), "added\n")
                second = run_job(page, base, headers, job)
                stored = wait_run(page, base, second)["summary"]["metrics"]["transfer_total_bytes"]
                page.goto(f"{base}/runs/{second}")
                expect(outcome).to_contain_text("Files: 1 new, 1 changed, 3 unchanged, 1 removed")
                expect(outcome).to_contain_text("stored on the target")
                assert stored > 0, stored
                # The progress's "5 of 5 files" is how far it got, not what it did: a finished run says the outcome.
                expect(page.locator(".progress-text")).not_to_contain_text(" of ")
                audit(page, "run-backup")
                page.screenshot(path=os.path.join(SHOTS, "pages-run-incremental-1280-light.png"), full_page=True)

                restored = os.path.join(scratch, "restored")
                runs = {}
                for attempt in range(2):
                    body = {"destination": {"type": "local_fs", "directory": restored}, "conflict_policy": "skip"}
                    queued = page.request.post(f"{base}/api/runs/{second}/restore", data=json.dumps(body), headers=headers)
                    assert queued.status in (200, 201, 202), queued.text()
                    runs[attempt] = queued.json()["run_id"]
                    wait_run(page, base, runs[attempt])
                restore_run = runs[1]
                summary = page.request.get(f"{base}/api/runs/{restore_run}").json()["summary"]
                assert summary["skipped"] > 0, summary
                page.goto(f"{base}/runs/{restore_run}")
                expect(outcome).to_have_text(f"Files: {summary['restored_files']} restored, {summary['skipped']} skipped")
                audit(page, "run-restore")

                queued = page.request.post(f"{base}/api/runs/{second}/verify", headers=headers)
                assert queued.status in (200, 201, 202), queued.text()
                verify_run = queued.json()["run_id"]
                checked = wait_run(page, base, verify_run)["summary"]["files_total"]
                assert checked >= 5, checked
                page.goto(f"{base}/runs/{verify_run}")
                expect(outcome).to_have_text(f"Files: {checked} checked")
                expect(page.locator(".progress-text")).not_to_contain_text("0 of 0")
                audit(page, "run-verify")

                page.evaluate("localStorage.setItem('bastion.lang', 'zh-CN')")
                page.goto(f"{base}/runs/{second}")
                expect(outcome).to_contain_text("文件：新增 1 个，修改 1 个，未变 3 个，删除 1 个")
                expect(outcome).to_contain_text("目标上存储了")
                expect(page.locator(".run-summary")).to_contain_text("执行结果")
                page.screenshot(path=os.path.join(SHOTS, "pages-run-incremental-1280-light-zh.png"), full_page=True)
                page.goto(f"{base}/runs/{restore_run}")
                expect(outcome).to_have_text(f"文件：恢复 {summary['restored_files']} 个，跳过 {summary['skipped']} 个")
                page.goto(f"{base}/runs/{verify_run}")
                expect(outcome).to_have_text(f"文件：校验 {checked} 个")
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=os.path.join(SHOTS, "pages-run-verify-390-light-zh.png"), full_page=True)
                page.set_viewport_size({"width": 1280, "height": 800})
                page.evaluate("localStorage.setItem('bastion.lang', 'en')")

                # 2. The connection badge of a run that ends while its page is open, and of one opened after.
                slow_spec = {
                    "v": 1, "type": "filesystem", "source": {"paths": [slow_source]},
                    "target": {"type": "local_dir", "base_dir": os.path.join(scratch, "slow-target")},
                    "hooks": {"before": [{"argv": ["/bin/sleep", "3"]}]},
                    "retention": {"enabled": True, "keep_last": 1},
                }
                slow = create_job(page, base, headers, "Slow", slow_spec)
                live_run = run_job(page, base, headers, slow)
                page.goto(f"{base}/runs/{live_run}")
                connection = page.get_by_test_id("connection")
                expect(connection).to_have_text("live", timeout=20000)
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                expect(connection).to_have_text("ended", timeout=5000)
                page.wait_for_timeout(1500)
                expect(connection).to_have_text("ended")
                page.reload()
                expect(page.get_by_test_id("run-outcome")).to_be_visible()
                expect(connection).to_have_text("ended")
                page.wait_for_timeout(1500)
                expect(connection).to_have_text("ended")

                # 5. The job page follows its runs (lib/liveRefresh.ts): a backup started from it goes queued -> running ->
                #    success on the History tab without a reload, with its outcome line; the other tabs have it too; the
                #    runs list says what each run did.
                follow_source = os.path.join(scratch, "follow-source")
                write(os.path.join(follow_source, "one.txt"), "one\n")
                follow_spec = dict(slow_spec, source={"paths": [follow_source]}, hooks={"before": [{"argv": ["/bin/sleep", "4"]}]}, retention={"enabled": False})
                follow = create_job(page, base, headers, "Follow", follow_spec)
                page.goto(f"{base}/jobs/{follow}?tab=history")
                expect(page.get_by_text("No runs yet.")).to_be_visible()
                page.evaluate("window.followMarker = 'same document'")
                ahead = run_job(page, base, headers, follow)  # holds the one worker: the next run waits, queued
                page.get_by_role("button", name="Backup now").click()
                page.wait_for_url(f"{base}/runs/**")
                followed = page.url.rstrip("/").split("/")[-1]
                assert followed != ahead
                page.go_back()
                expect(page).to_have_url(f"{base}/jobs/{follow}?tab=history")
                badge = page.locator(f"tr[data-run='{followed}'] .badge")
                expect(badge).to_have_text("queued")
                expect(badge).to_have_text("running", timeout=30000)
                expect(badge).to_have_text("success", timeout=60000)
                line = page.locator(f"tr[data-run='{followed}']").get_by_test_id("run-outcome-line")
                expect(line.locator("[aria-hidden=true]")).to_have_text(re.compile(r"^1 file, 4 B read · [\d.]+ (B|KiB) stored$"))
                expect(line).to_have_attribute("title", re.compile(r"^What it did: Files: 1 stored, 4 B read .*; [\d.]+ (B|KiB) stored on the target$"))
                expect(page.locator(f"tr[data-run='{ahead}'] .badge")).to_have_text("success")
                page.screenshot(path=os.path.join(SHOTS, "pages-job-follow-1280-light.png"), full_page=True)
                page.locator("nav.tabs").get_by_role("link", name="Snapshots").click()
                expect(page.locator(f"table.snapshots tr[data-run='{followed}']")).to_be_visible()
                page.locator("nav.tabs").get_by_role("link", name="Overview").click()
                expect(page.locator(".fact", has_text="Last success").locator(f"a[href='/runs/{followed}']")).to_be_visible()
                assert page.evaluate("window.followMarker") == "same document", "the page was reloaded"

                # The runs list: each finished run's outcome on one line, the whole in its title, at 1280 and 390 px.
                page.locator("nav.nav").get_by_role("link", name="Runs", exact=True).click()
                expect(page.locator(f"tr[data-run='{followed}']").get_by_test_id("run-outcome-line")).to_contain_text("1 file, 4 B read")
                incremental_line = page.locator(f"tr[data-run='{second}']").get_by_test_id("run-outcome-line")
                expect(incremental_line.locator("[aria-hidden=true]")).to_have_text(re.compile(r"^1 new, 1 changed, 1 removed · .+ stored$"))
                expect(incremental_line).to_have_attribute("title", re.compile(r"Files: 1 new, 1 changed, 3 unchanged, 1 removed; .+ stored on the target$"))
                expect(page.locator(f"tr[data-run='{restore_run}']").get_by_test_id("run-outcome-line")).to_contain_text(
                    f"{summary['restored_files']} restored, {summary['skipped']} skipped"
                )
                expect(page.locator(f"tr[data-run='{verify_run}']").get_by_test_id("run-outcome-line")).to_contain_text(f"{checked} checked")
                expect(page.locator(f"tr[data-run='{live_run}']").get_by_test_id("run-outcome-line")).to_be_visible()
                audit(page, "runs-1280-light")
                page.screenshot(path=os.path.join(SHOTS, "pages-runs-1280-light.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 1, ("runs 390", overflow)
                cut = page.evaluate(
                    "() => [...document.querySelectorAll('.list-outcome')].filter((line) => line.getBoundingClientRect().right > window.innerWidth).length"
                )
                assert cut == 0, f"{cut} outcome lines reach past the screen"
                audit(page, "runs-390-light")
                page.screenshot(path=os.path.join(SHOTS, "pages-runs-390-light.png"), full_page=True)
                page.evaluate("localStorage.setItem('bastion.lang', 'zh-CN')")
                page.reload()
                expect(incremental_line.locator("[aria-hidden=true]")).to_have_text(re.compile(r"^新增 1，修改 1，删除 1 · 存储 .+$"))
                expect(incremental_line).to_have_attribute("title", re.compile(r"^执行结果：文件：新增 1 个，修改 1 个，未变 3 个，删除 1 个；目标上存储了 .+$"))
                page.screenshot(path=os.path.join(SHOTS, "pages-runs-390-light-zh.png"), full_page=True)
                page.goto(f"{base}/jobs/{follow}?tab=history")
                expect(page.locator(f"tr[data-run='{followed}']").get_by_test_id("run-outcome-line")).to_contain_text("1 个文件，读取 4 B")
                page.screenshot(path=os.path.join(SHOTS, "pages-job-follow-390-light-zh.png"), full_page=True)
                page.evaluate("localStorage.setItem('bastion.lang', 'en')")
                page.set_viewport_size({"width": 1280, "height": 800})

                # 3. Confirmations in the UI's own dialog, by keys.
                long_spec = dict(slow_spec, hooks={"before": [{"argv": ["/bin/sleep", "60"]}]}, retention={"enabled": False})
                long_job = create_job(page, base, headers, "Long", long_spec)
                long_run = run_job(page, base, headers, long_job)
                page.goto(f"{base}/runs/{long_run}")
                expect(connection).to_have_text("live", timeout=20000)

                def still_running():
                    found = page.request.get(f"{base}/api/runs/{long_run}").json()
                    assert found["status"] in ("queued", "running") and not found.get("cancel_requested_at"), found

                confirm_by_keys(page, page.get_by_role("button", name="Cancel", exact=True), "Cancel the run", still_running, shot="confirm-cancel-run")
                wait_run(page, base, long_run, statuses=("canceled",), timeout=90)
                expect(page.locator(".badge.status-canceled")).to_be_visible(timeout=20000)

                second_slow = run_job(page, base, headers, slow)
                wait_run(page, base, second_slow)

                # Verify, from the job page's snapshot row (it opens the verify's run page).
                page.goto(f"{base}/jobs/{slow}?tab=snapshots")
                row = page.locator(f"tr[data-run='{second_slow}']")
                verifies = lambda: len([r for r in page.request.get(f"{base}/api/jobs/{slow}/runs").json() if r["kind"] == "verify"])
                before = verifies()
                confirm_by_keys(page, row.get_by_role("button", name="Verify", exact=True), "Verify", lambda: assert_true(verifies() == before, "verify started"))
                page.wait_for_url(f"{base}/runs/**")
                wait_run(page, base, page.url.rstrip("/").split("/")[-1])

                # Retention: keep the last 1 -> the first slow snapshot goes.
                page.goto(f"{base}/jobs/{slow}?tab=retention")
                expect(page.get_by_role("heading", name="Would delete (1)")).to_be_visible()

                def present(run):
                    return next(item for item in page.request.get(f"{base}/api/jobs/{slow}/snapshots").json() if item["run_id"] == run)["status"] == "present"

                confirm_by_keys(page, page.get_by_role("button", name="Apply now"), "Apply now", lambda: assert_true(present(live_run), "retention ran"))
                expect(page.get_by_role("status")).to_contain_text("Queued 1 snapshot")

                # Delete a snapshot.
                page.goto(f"{base}/jobs/{slow}?tab=snapshots")
                row = page.locator(f"tr[data-run='{second_slow}']")
                confirm_by_keys(page, row.get_by_role("button", name="Delete", exact=True), "Delete", lambda: assert_true(present(second_slow), "deleted"), shot="confirm-delete-snapshot")
                expect(page.get_by_role("status")).to_contain_text("queued for deletion")

                # A credential, from Settings.
                saved = page.request.put(f"{base}/api/secrets/webdav/nas", data=json.dumps({"username": "u", "password": "p", "url": "https://nas.example/dav"}), headers=headers)
                assert saved.status in (200, 201), saved.text()
                page.goto(f"{base}/settings")
                credential_row = page.locator("tr", has_text="nas")
                expect(credential_row).to_be_visible()
                listed = lambda: [item["name"] for item in page.request.get(f"{base}/api/secrets/webdav").json()]
                confirm_by_keys(page, credential_row.get_by_role("button", name="Delete"), "Delete", lambda: assert_true("nas" in listed(), "credential deleted"))
                expect(page.locator("tr", has_text="nas")).to_have_count(0)
                assert listed() == []

                # An agent: rotate its key, then revoke it.
                token = page.request.post(f"{base}/api/agents/enrollment-tokens", data=json.dumps({"remaining_uses": 1, "ttl_seconds": 600}), headers=headers)
                assert token.status in (200, 201), token.text()
                agent = subprocess.Popen(
                    [os.path.join(BIN, "bastion-agent"), "--hub-url", base, "--data-dir", os.path.join(scratch, "agent"), "--name", "far-host", "--heartbeat-seconds", "1"],
                    stdout=logs, stderr=subprocess.STDOUT, env={**os.environ, "BASTION_ENROLL_TOKEN": token.json()["token"]},
                )
                processes.append(agent)
                page.goto(f"{base}/agents")
                agent_row = page.locator("tr[data-agent=far-host]")
                expect(agent_row).to_contain_text("online", timeout=20000)
                state = lambda: next(item for item in page.request.get(f"{base}/api/agents").json() if item["name"] == "far-host")
                confirm_by_keys(page, agent_row.get_by_role("button", name="Rotate key"), "Rotate key", lambda: assert_true(state()["revoked_at"] is None, "revoked"))
                expect(agent_row).to_contain_text("online", timeout=20000)
                confirm_by_keys(
                    page, agent_row.get_by_role("button", name="Revoke"), "Revoke", lambda: assert_true(state()["revoked_at"] is None, "revoked"), shot="confirm-revoke-agent"
                )
                expect(agent_row).to_contain_text("revoked", timeout=20000)
                assert state()["revoked_at"] is not None

                # 4. The job page's tabs, at both widths and in both themes.
                for width, height, scheme in ((1280, 800, "light"), (1280, 800, "dark"), (390, 844, "light")):
                    page.set_viewport_size({"width": width, "height": height})
                    page.emulate_media(color_scheme=scheme)
                    page.evaluate(f"localStorage.setItem('bastion.theme', '{scheme}')")
                    for tab, label in TABS:
                        page.goto(f"{base}/jobs/{job}" + ("" if tab == "overview" else f"?tab={tab}"))
                        expect(page.locator("nav.tabs a.active")).to_have_text(label)
                        marker = {
                            "overview": page.get_by_role("heading", name="What it does"),
                            "history": page.locator("table.list tbody tr").first,
                            "snapshots": page.locator("table.snapshots tbody tr").first,
                            "retention": page.get_by_role("heading", name="Would delete (0)"),
                            "compare": page.get_by_test_id("totals"),
                        }[tab]
                        expect(marker).to_be_visible()
                        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
                        assert overflow <= 1, (tab, width, overflow)
                        audit(page, f"job-{tab}-{width}-{scheme}")
                        page.screenshot(path=os.path.join(SHOTS, f"pages-job-{tab}-{width}-{scheme}.png"), full_page=True)
                # Tabs by keyboard: each is a link in the Tab order.
                page.set_viewport_size({"width": 1280, "height": 800})
                page.goto(f"{base}/jobs/{job}")
                for tab, label in TABS[1:]:
                    page.locator("nav.tabs").get_by_role("link", name=label).focus()
                    page.keyboard.press("Enter")
                    expect(page).to_have_url(f"{base}/jobs/{job}?tab={tab}")

                assert not browser_dialogs, browser_dialogs
                assert not page_errors, page_errors
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "pages-failure.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        stop(processes)
        logs.close()
    print("ui_pages_test: OK")


def assert_true(condition, what):
    assert condition, what


if __name__ == "__main__":
    sys.exit(main())
