#!/usr/bin/env python3
"""Remote targets in Debian's Chromium against the real binaries and a real WebDAV server (`rclone serve webdav` on
127.0.0.1): Settings stores WebDAV credentials (never shown again) and its Test connection reports each step, a wrong
password fails at its step with webdav_auth_failed; the job editor's target choice, credential picker and Test
connection; a backup through it lands on the server with complete.json; the maintenance list is shown. The job keeps
incremental snapshots: the second is shown as incremental on the first, which is shown as its base.

Screenshots: .build/ui-screenshots/settings-1280-light.png, settings-390.png, editor-target-1280-light.png,
snapshots-chain-1280-light.png, snapshots-chain-390.png."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
DAV_USER = "backup"
DAV_PASSWORD = "dav password 42"


def wait_port(port, timeout=15):
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def main():
    scratch = tempfile.mkdtemp(prefix="btt-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    dav_root = os.path.join(scratch, "dav")
    os.makedirs(os.path.join(source, "docs"))
    os.makedirs(dav_root)
    with open(os.path.join(source, "docs", "letter.txt"), "w") as out:
        out.write("dear reader\n" * 100)
    port = free_port()
    dav_port = free_port()
    base = f"http://127.0.0.1:{port}"
    dav_url = f"http://127.0.0.1:{dav_port}/bastion/"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    processes = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        processes.append(subprocess.Popen(
            ["rclone", "serve", "webdav", dav_root, "--addr", f"127.0.0.1:{dav_port}", "--user", DAV_USER, "--pass", DAV_PASSWORD,
             "--config", "/dev/null"], stdout=logs, stderr=subprocess.STDOUT))
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")], stdout=logs, stderr=subprocess.STDOUT
        ))
        wait_ready(base)
        wait_port(dav_port)
        for name, arguments in [("bastion-worker", ["--worker-id", "ui-worker"]), ("bastion-janitor", [])]:
            processes.append(subprocess.Popen([os.path.join(BIN, name), *common, *arguments], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("dialog", lambda dialog: dialog.accept())
            try:
                set_up_admin(page, base)

                # Settings: a wrong password first: the test stops at its step with the code.
                page.get_by_role("link", name="Settings").click()
                expect(page.get_by_role("heading", name="Target credentials")).to_be_visible()
                form = page.get_by_role("form", name="WebDAV credentials")
                form.locator("input[name=webdavName]").fill("nas")
                form.locator("input[name=webdavUser]").fill(DAV_USER)
                form.locator("input[name=webdavPassword]").fill("wrong password")
                form.locator("input[name=webdavTestUrl]").fill(dav_url)
                form.get_by_role("button", name="Save").click()
                expect(page.get_by_role("table", name="Target credentials").get_by_role("cell", name="nas", exact=True)).to_be_visible()
                form.get_by_role("button", name="Test connection").click()
                expect(form.locator(".test-step[data-state=failed]")).to_contain_text("webdav_auth_failed")
                expect(form.locator(".test-step[data-step=write]")).to_have_attribute("data-state", "skipped")

                # The right password: every step passes; the saved password is nowhere in the page.
                form.locator("input[name=webdavPassword]").fill(DAV_PASSWORD)
                form.get_by_role("button", name="Save").click()
                expect(form.locator("input[name=webdavPassword]")).to_have_value("")
                form.get_by_role("button", name="Test connection").click()
                expect(form.locator(".test-step[data-state=ok]")).to_have_count(5)
                assert DAV_PASSWORD not in page.content()
                assert not os.path.exists(os.path.join(dav_root, "bastion", ".bastion-test")), "the test leaves nothing behind"
                expect(page.get_by_role("heading", name="Maintenance: incomplete runs")).to_be_visible()
                page.screenshot(path=os.path.join(SHOTS, "settings-1280-light.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=os.path.join(SHOTS, "settings-390.png"), full_page=True)
                page.set_viewport_size({"width": 1280, "height": 800})

                # The editor: WebDAV, the credentials, Test connection, then create and run.
                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "Letters")
                page.fill("textarea[name=paths]", source)
                page.locator("select[name=targetType]").select_option("webdav")
                page.fill("input[name=baseUrl]", dav_url)
                page.locator("select[name=secretName]").select_option("nas")
                page.locator("select[name=snapshots]").select_option("incremental")
                page.fill("input[name=fullEvery]", "7")
                page.get_by_role("button", name="Test connection").click()
                expect(page.locator(".test-step[data-state=ok]")).to_have_count(5)
                page.locator(".target-test").scroll_into_view_if_needed()
                page.screenshot(path=os.path.join(SHOTS, "editor-target-1280-light.png"), full_page=True)
                page.get_by_role("button", name="Create job").click()
                page.get_by_role("link", name="Letters").click()
                expect(page.get_by_text("WebDAV " + dav_url)).to_be_visible()
                page.get_by_role("button", name="Backup now").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                run = page.url.rstrip("/").split("/")[-1]
                job_dirs = os.listdir(os.path.join(dav_root, "bastion"))
                found = [d for d in job_dirs if os.path.exists(os.path.join(dav_root, "bastion", d, run, "complete.json"))]
                assert found, f"the snapshot is on the WebDAV server: {job_dirs}"
                expect(page.get_by_text("Snapshot written to " + dav_url)).to_be_visible()
                expect(page.get_by_text("Full snapshot (the first of a chain)")).to_be_visible()

                # A second backup holds only what changed, on the first.
                with open(os.path.join(source, "docs", "postscript.txt"), "w") as out:
                    out.write("p.s.\n")
                page.go_back()
                page.get_by_role("button", name="Backup now").click()
                expect(page.get_by_text("Incremental snapshot, level 1")).to_be_visible(timeout=60000)
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                page.go_back()
                expect(page.get_by_text("incremental, a full one every 7")).to_be_visible()
                page.get_by_role("link", name="Snapshots", exact=True).click()
                rows = page.locator("table.snapshots tbody tr")
                expect(rows).to_have_count(2)
                expect(rows.nth(0)).to_contain_text("incremental 1")
                expect(rows.nth(1)).to_contain_text("full")
                expect(rows.nth(1)).to_contain_text("base of 1")
                page.screenshot(path=os.path.join(SHOTS, "snapshots-chain-1280-light.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=os.path.join(SHOTS, "snapshots-chain-390.png"), full_page=True)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"the snapshot list on a phone is {width} px wide"
                page.set_viewport_size({"width": 1280, "height": 800})
                assert not page_errors, f"errors in the page: {page_errors}"
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "failure-targets.png"), full_page=True)
                sys.stderr.write(f"ui_targets_test: the page at the failure: {page.url}\n")
                raise
            browser.close()
        print(f"ui_targets_test: ok; screenshots in {SHOTS}")
    except Exception:
        logs.flush()
        sys.stderr.write(open(os.path.join(scratch, "processes.log")).read()[-4000:])
        raise
    finally:
        stop(processes)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
