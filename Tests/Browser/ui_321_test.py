#!/usr/bin/env python3
"""Issue #26 in Debian's Chromium against the real binaries, a real WebDAV server (`rclone serve webdav`), a real SMTP
server (aiosmtpd) and a small HTTP server standing in for ntfy and the ping service. Each setting is made in the
browser, then the API is asked what it saved, then it is seen on a page:

- the job editor: a copy target on WebDAV (Test connection through it) and one in a local directory, GFS retention
  rules, the WebDAV copy's bandwidth limit with a weekly hour range (none offered for a local directory), pings (a healthchecks URL and
  three URLs), drills; the spec saved is exactly what was typed, and the editor shows it all back;
- the snapshot list: each location with its status; a copy that failed (its directory is a file) has Retry, which
  copies it once the cause is gone; the overview shows the missing copy as attention meanwhile;
- the retention preview says which rule keeps each snapshot;
- Drill now, and the overview's last drill;
- restore: the location picker (default: primary) and a restore to a WebDAV folder, read from the WebDAV copy;
- browse (entries, search, versions), verify and compare read at the WebDAV copy when it is picked;
- Settings: an e-mail destination (password never shown back) and an ntfy one, each with Test reaching its server;
  the templates with their placeholders; the key's recovery passphrase (twice) and its escrow status;
- Recovery on a second, fresh hub: scan the primary target, import with the passphrase, and see the snapshots.

Screenshots (desktop 1280 and 390 px): .build/ui-screenshots/321-*.png."""
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse

from playwright.sync_api import expect, sync_playwright

from harness import PASSWORD, ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
DAV_USER = "backup"
DAV_PASSWORD = "dav password 42"
SMTP_PASSWORD = "smtp secret never shown"
PASSPHRASE = "correct staple battery horse 26"


class Recorder(http.server.BaseHTTPRequestHandler):
    """ntfy and the ping service: records each request (method, path, body) and answers 200."""

    received = []

    def _record(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        Recorder.received.append({"method": self.command, "path": self.path, "body": body, "headers": dict(self.headers)})
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_HEAD = _record

    def log_message(self, *args):
        pass


def wait_port(port, timeout=15):
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def poll(what, check, timeout=90):
    """Calls check until it returns a true value (returned); fails with what after timeout. Not a timed assertion:
    the timeout only bounds a wait for something the servers do in the background."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def shoot(page, name):
    """A desktop and a 390 px screenshot of the whole page."""
    page.screenshot(path=os.path.join(SHOTS, f"321-{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(SHOTS, f"321-{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def start_hub(data, port, logs):
    common = ["--data-dir", data, "--log-level", "warning"]
    processes = [subprocess.Popen([os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")], stdout=logs, stderr=subprocess.STDOUT)]
    wait_ready(f"http://127.0.0.1:{port}")
    for name, arguments in [("bastion-worker", ["--worker-id", f"ui-worker-{port}"]), ("bastion-janitor", [])]:
        processes.append(subprocess.Popen([os.path.join(BIN, name), *common, *arguments], stdout=logs, stderr=subprocess.STDOUT))
    return processes


def main():
    scratch = tempfile.mkdtemp(prefix="b321-")
    source = os.path.join(scratch, "source")
    primary = os.path.join(scratch, "primary")
    local_copy = os.path.join(scratch, "usb")
    dav_root = os.path.join(scratch, "dav")
    for directory in (os.path.join(source, "docs"), dav_root):
        os.makedirs(directory)
    with open(os.path.join(source, "docs", "letter.txt"), "w") as out:
        out.write("dear reader\n" * 100)
    with open(os.path.join(source, "notes.md"), "w") as out:
        out.write("# notes\n")
    # The local copy's directory is a file: its copy fails until the file is gone.
    with open(local_copy, "w") as out:
        out.write("not a directory\n")
    port, port2, dav_port, smtp_port = free_port(), free_port(), free_port(), free_port()
    base, base2 = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port2}"
    dav_url = f"http://127.0.0.1:{dav_port}/"
    recorder = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{recorder.server_address[1]}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    smtp_log = open(os.path.join(scratch, "smtp.log"), "w")
    processes = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        processes.append(subprocess.Popen(
            ["rclone", "serve", "webdav", dav_root, "--addr", f"127.0.0.1:{dav_port}", "--user", DAV_USER, "--pass", DAV_PASSWORD, "--config", "/dev/null"],
            stdout=logs, stderr=subprocess.STDOUT))
        processes.append(subprocess.Popen(["python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}"], stdout=smtp_log, stderr=subprocess.STDOUT))
        processes += start_hub(os.path.join(scratch, "data"), port, logs)
        wait_port(dav_port)
        wait_port(smtp_port)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("dialog", lambda dialog: dialog.accept())
            try:
                set_up_admin(page, base)
                headers = api_headers(page, base)

                # WebDAV credentials for the copy target and the WebDAV restore.
                page.goto(base + "/settings")
                form = page.get_by_role("form", name="WebDAV credentials")
                form.locator("input[name=webdavName]").fill("nas")
                form.locator("input[name=webdavUser]").fill(DAV_USER)
                form.locator("input[name=webdavPassword]").fill(DAV_PASSWORD)
                form.locator("input[name=webdavTestUrl]").fill(dav_url)
                form.get_by_role("button", name="Save").click()
                expect(page.get_by_role("table", name="Target credentials").get_by_role("cell", name="nas", exact=True)).to_be_visible()

                # --- The job editor: everything #26 adds to a job. ---
                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "Letters")
                page.fill("textarea[name=paths]", source)
                page.fill("input[name=baseDir]", primary)
                page.locator("select[name=encryption]").select_option("age")
                page.locator("select[name=snapshots]").select_option("incremental")
                page.fill("input[name=fullEvery]", "7")
                # The primary is a local directory: it is not paced, so the editor offers no bandwidth for it.
                expect(page.locator("input[name=bwLimit]")).to_have_count(0)
                # Copy 1: WebDAV, tested through the editor's own Test connection; its bandwidth: 20 MiB/s, 2 MiB/s on
                # weekdays 8-18 (Berlin time).
                page.get_by_role("button", name="Add a copy target").click()
                copy1 = page.get_by_role("group", name="Copy 1")
                copy1.locator("select[name='copies.0.targetType']").select_option("webdav")
                copy1.locator("input[name='copies.0.baseUrl']").fill(dav_url + "copies/")
                copy1.locator("select[name='copies.0.secretName']").select_option("nas")
                copy1.get_by_role("button", name="Test connection").click()
                expect(copy1.locator(".test-step[data-state=ok]")).to_have_count(5)
                copy1.locator("input[name='copies.0.bwLimit']").fill("20")
                copy1.get_by_role("button", name="Add hours with another limit").first.click()
                copy1.locator("input[name='copies.0.bwRule0Limit']").fill("2")
                copy1.locator("input[name='copies.0.bwTimezone']").fill("Europe/Berlin")
                grid = copy1.get_by_role("table", name="Bandwidth by hour").first
                expect(grid).to_be_visible()
                expect(grid.locator("tbody tr").nth(0).locator("td").nth(8)).to_have_attribute("data-limit", "2097152")
                expect(grid.locator("tbody tr").nth(6).locator("td").nth(8)).to_have_attribute("data-limit", "20971520")
                # Copy 2: a local directory (a file for now: its copy fails).
                page.get_by_role("button", name="Add a copy target").click()
                page.get_by_role("group", name="Copy 2").locator("input[name='copies.1.baseDir']").fill(local_copy)
                # Retention, GFS.
                page.locator("input[name=retentionEnabled]").check()
                for field, value in [("keepLast", "3"), ("keepHourly", "24"), ("keepDaily", "7"), ("keepWeekly", "4"), ("keepMonthly", "12"), ("keepYearly", "-1")]:
                    page.fill(f"input[name={field}]", value)
                page.fill("input[name=keepWithin]", "1y2m3d4h")
                # Pings: a healthchecks-style URL, and three URLs.
                page.get_by_role("button", name="Add a ping").click()
                page.fill("input[name='pings.0.url']", hook_url + "/hc/check-1")
                page.get_by_role("button", name="Add a ping").click()
                page.locator("select[name='pings.1.mode']").select_option("urls")
                page.fill("input[name='pings.1.startUrl']", hook_url + "/own/start")
                page.fill("input[name='pings.1.successUrl']", hook_url + "/own/ok")
                page.fill("input[name='pings.1.failureUrl']", hook_url + "/own/fail")
                # Drills.
                page.locator("input[name=drillsEnabled]").check()
                page.fill("input[name=drillSchedule]", "0 5 * * 6")
                expect(page.get_by_text("every Saturday at 05:00", exact=False)).to_be_visible()
                page.locator("select[name=drillPick]").select_option("random")
                page.locator("input[name=drillTestRestore]").check()
                shoot(page, "editor")
                page.get_by_role("button", name="Create job").click()
                expect(page.get_by_role("link", name="Letters")).to_be_visible()

                listed = next(job for job in page.request.get(base + "/api/jobs?page_size=100").json()["items"] if job["name"] == "Letters")
                job_id = listed["id"]
                spec = page.request.get(f"{base}/api/jobs/{job_id}").json()["spec"]
                assert "bandwidth" not in spec["target"], spec["target"]
                copies = [copy["target"] for copy in spec["copies"]]
                assert copies[0]["type"] == "webdav" and copies[0]["base_url"] == dav_url + "copies/" and copies[0]["secret_name"] == "nas", copies
                assert copies[0]["bandwidth"] == {
                    "limit_bps": 20971520, "timezone": "Europe/Berlin",
                    "schedule": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 8, "end_hour": 18, "limit_bps": 2097152}],
                }, copies
                assert copies[1]["type"] == "local_dir" and copies[1]["base_dir"] == local_copy, copies
                retention = {key: value for key, value in spec["retention"].items() if key.startswith("keep_")}
                assert retention == {"keep_last": 3, "keep_hourly": 24, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "keep_yearly": -1,
                                     "keep_within": "1y2m3d4h"}, spec["retention"]
                assert spec["pings"] == [{"url": hook_url + "/hc/check-1"},
                                         {"start_url": hook_url + "/own/start", "success_url": hook_url + "/own/ok", "failure_url": hook_url + "/own/fail"}], spec
                assert spec["drills"] == {"enabled": True, "schedule": "0 5 * * 6", "pick": "random", "test_restore": True}, spec

                # The editor shows it all back; saving unchanged keeps the spec as it was.
                page.goto(f"{base}/jobs/{job_id}/edit")
                expect(page.locator("input[name=bwLimit]")).to_have_count(0)
                expect(page.locator("input[name='copies.0.baseUrl']")).to_have_value(dav_url + "copies/")
                expect(page.locator("input[name='copies.0.bwLimit']")).to_have_value("20")
                expect(page.locator("input[name='copies.0.bwRule0Limit']")).to_have_value("2")
                expect(page.locator("input[name=keepYearly]")).to_have_value("-1")
                expect(page.locator("input[name=keepWithin]")).to_have_value("1y2m3d4h")
                expect(page.locator("input[name='pings.1.failureUrl']")).to_have_value(hook_url + "/own/fail")
                expect(page.locator("select[name=drillPick]")).to_have_value("random")
                page.get_by_role("button", name="Save").click()
                expect(page.get_by_role("link", name="Letters")).to_be_visible()
                assert page.request.get(f"{base}/api/jobs/{job_id}").json()["spec"] == spec, "a save without changes keeps the spec"
                page.goto(f"{base}/jobs/{job_id}")
                for words in ["Copy 1", "WebDAV " + dav_url + "copies/", "20 MiB/s; mon,tue,wed,thu,fri 8–18 h: 2 MiB/s", "the last 3 snapshots, hourly for 24 hours",
                              "every Saturday at 05:00"]:
                    expect(page.get_by_text(words, exact=False).first).to_be_visible()

                # --- A backup: the copies run; the WebDAV one arrives, the local one fails. ---
                run_id = page.request.post(f"{base}/api/jobs/{job_id}/run", headers=headers).json()["run_id"]

                def locations():
                    snapshot = next((item for item in page.request.get(f"{base}/api/jobs/{job_id}/snapshots").json() if item["run_id"] == run_id), None)
                    return {location["id"]: location for location in (snapshot or {}).get("locations", [])}

                settled = poll("the copies to settle", lambda: (lambda found: found if len(found) == 3 and all(
                    location["status"] in ("present", "failed") for location in found.values()) else None)(locations()))
                statuses = sorted((location["type"], location["status"]) for location in settled.values())
                assert statuses == [("local_dir", "failed"), ("local_dir", "present"), ("webdav", "present")], statuses
                failed_id = next(key for key, location in settled.items() if location["status"] == "failed")
                dav_id = next(key for key, location in settled.items() if location["type"] == "webdav")
                assert os.path.exists(os.path.join(dav_root, "copies", job_id, run_id, "complete.json")), "the copy is on the WebDAV server"
                page.goto(f"{base}/jobs/{job_id}?tab=snapshots")
                row = page.locator(f"tr[data-run='{run_id}']")
                expect(row.locator(f"li[data-location='{dav_id}']")).to_have_attribute("data-status", "present")
                expect(row.locator(f"li[data-location='{failed_id}']")).to_have_attribute("data-status", "failed")
                expect(row.locator("li[data-location='primary']")).to_contain_text("present")
                # The overview: the failed copy needs attention.
                page.goto(base + "/")
                card = page.locator("article[data-job='Letters']")
                expect(card.get_by_test_id("attention")).to_contain_text("1 failed copy")
                expect(page.locator(".banner-card.danger")).to_contain_text("Letters")
                shoot(page, "overview-attention")
                # Retry once the cause is gone: the copy arrives.
                os.remove(local_copy)
                page.goto(f"{base}/jobs/{job_id}?tab=snapshots")
                shoot(page, "snapshots-failed-copy")
                row.locator(f"li[data-location='{failed_id}']").get_by_role("button", name="Retry").click()
                expect(page.get_by_text("Copy queued again.")).to_be_visible()
                poll("the retried copy", lambda: locations().get(failed_id, {}).get("status") == "present")
                assert os.path.exists(os.path.join(local_copy, job_id, run_id, "complete.json"))
                page.reload()
                expect(row.locator(f"li[data-location='{failed_id}']")).to_have_attribute("data-status", "present")
                shoot(page, "snapshots-locations")

                # Pings: start then success for both.
                poll("the success pings", lambda: {"/hc/check-1", "/own/ok"} <= {item["path"] for item in Recorder.received})
                paths = [item["path"] for item in Recorder.received]
                assert paths.index("/hc/check-1/start") < paths.index("/hc/check-1") and paths.index("/own/start") < paths.index("/own/ok"), paths

                # --- The retention preview says which rule keeps each snapshot. ---
                page.goto(f"{base}/jobs/{job_id}?tab=retention")
                reasons = page.locator(".retention-keep .reasons").first
                expect(reasons).to_contain_text("one of the last 3")
                expect(reasons).to_have_attribute("data-reasons", re.compile(r"\bkeep_last\b.*\bkeep_daily\b"))
                expect(page.get_by_text("daily (", exact=False).first).to_be_visible()
                shoot(page, "retention-preview")

                # --- A drill now; the overview shows it. ---
                page.goto(f"{base}/jobs/{job_id}")
                page.get_by_role("button", name="Drill now").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=90000)
                drill = page.request.get(base + "/api/dashboard").json()["jobs"][0]["last_drill"]
                assert drill and drill["status"] == "success", drill
                page.goto(base + "/")
                expect(card.get_by_test_id("last-drill")).to_contain_text("passed")
                expect(card.get_by_test_id("attention")).to_have_count(0)
                shoot(page, "overview-drill")

                # --- Settings: e-mail and ntfy, templates, Test (the Notifications tab). ---
                page.goto(base + "/settings?tab=notifications")
                email = page.get_by_role("form", name="E-mail destination")
                email.locator("input[name=emailName]").fill("admins")
                email.locator("input[name=emailHost]").fill("127.0.0.1")
                email.locator("select[name=emailTls]").select_option("none")
                email.locator("input[name=emailPort]").fill(str(smtp_port))
                email.locator("input[name=emailUser]").fill("bastion")
                email.locator("input[name=emailPassword]").fill(SMTP_PASSWORD)
                email.locator("input[name=emailFrom]").fill("bastion@example.org")
                email.locator("input[name=emailTo]").fill("ops@example.org, me@example.org")
                email.get_by_role("button", name="Save").click()
                expect(email.get_by_text("Saved admins.")).to_be_visible()
                expect(email.locator("input[name=emailPassword]")).to_have_value("")
                listed = {f"{item['channel']}/{item['name']}": item for item in page.request.get(base + "/api/notifications/destinations").json()}
                stored = listed["email/admins"]["config"]
                assert stored["host"] == "127.0.0.1" and stored["port"] == smtp_port and stored["tls"] == "none", stored
                assert stored["to"] == ["ops@example.org", "me@example.org"] and stored["has_password"] is True, stored
                assert SMTP_PASSWORD not in json.dumps(stored)
                ntfy = page.get_by_role("form", name="ntfy destination")
                ntfy.locator("input[name=ntfyName]").fill("phone")
                ntfy.locator("input[name=ntfyUrl]").fill(hook_url + "/ntfy/backups")
                ntfy.locator("select[name=ntfyPriority]").select_option("4")
                ntfy.locator("input[name=ntfyTags]").fill("backup, warning")
                ntfy.get_by_role("button", name="Save").click()
                expect(ntfy.get_by_text("Saved phone.")).to_be_visible()
                listed = {f"{item['channel']}/{item['name']}": item for item in page.request.get(base + "/api/notifications/destinations").json()}
                stored = listed["ntfy/phone"]["config"]
                assert stored["server"] == "127.0.0.1" and stored["priority"] == 4 and stored["tags"] == ["backup", "warning"], stored
                expect(page.locator("tr[data-destination='ntfy/phone']")).to_contain_text("127.0.0.1, priority 4")
                templates = page.get_by_role("form", name="Message templates")
                expect(templates.get_by_test_id("template-variables")).to_contain_text("{{job_name}}")
                templates.locator("input[name=emailSubject]").fill("[Bastion] {{job_name}} {{status}}")
                templates.locator("textarea[name=emailBody]").fill("Job {{job_name}}: {{status}}")
                templates.locator("input[name=ntfyTitle]").fill("{{job_name}}: {{status}}")
                templates.locator("textarea[name=ntfyBody]").fill("{{error}}")
                templates.get_by_role("button", name="Save templates").click()
                expect(templates.get_by_text("Templates saved.")).to_be_visible()
                saved = page.request.get(base + "/api/notifications/settings").json()["templates"]
                assert saved["email"] == {"subject": "[Bastion] {{job_name}} {{status}}", "body": "Job {{job_name}}: {{status}}"}, saved
                assert saved["ntfy"] == {"title": "{{job_name}}: {{status}}", "body": "{{error}}"}, saved
                # Test: the ntfy server receives a POST; the SMTP server a message.
                page.locator("tr[data-destination='ntfy/phone']").get_by_role("button", name="Test").click()
                expect(page.locator("tr[data-destination='ntfy/phone'] .test-result")).to_contain_text("Delivered")
                assert any(item["method"] == "POST" and item["path"] == "/ntfy/backups" for item in Recorder.received)
                page.locator("tr[data-destination='email/admins']").get_by_role("button", name="Test").click()
                expect(page.locator("tr[data-destination='email/admins'] .test-result")).to_contain_text("Delivered")
                smtp_log.flush()
                poll("the test e-mail", lambda: "ops@example.org" in open(os.path.join(scratch, "smtp.log")).read())
                # Edit shows the stored values back, the password only as "saved".
                page.reload()
                page.locator("tr[data-destination='email/admins']").get_by_role("button", name="Edit").click()
                email = page.get_by_role("form", name="E-mail destination")
                expect(email.locator("input[name=emailHost]")).to_have_value("127.0.0.1")
                expect(email.locator("input[name=emailPassword]")).to_have_attribute("placeholder", "saved (leave empty to keep it)")
                assert SMTP_PASSWORD not in page.content()

                # --- The key's recovery passphrase (the Encryption keys tab). ---
                page.goto(base + "/settings?tab=keys")
                keys = page.get_by_role("form", name="Key default")
                expect(keys.get_by_test_id("escrow-status")).to_contain_text("No recovery copy")
                keys.locator("input[name=escrow-default]").fill(PASSPHRASE)
                keys.locator("input[name=escrow-default-repeat]").fill(PASSPHRASE + "x")
                expect(keys.get_by_text("The two passphrases differ.")).to_be_visible()
                keys.locator("input[name=escrow-default-repeat]").fill(PASSPHRASE)
                keys.get_by_role("button", name="Set the recovery passphrase").click()
                # Sealing with scrypt takes seconds: the button says it is writing meanwhile.
                expect(keys.get_by_test_id("escrow-status")).to_contain_text("Recovery copy set", timeout=90000)
                escrow = next(key for key in page.request.get(base + "/api/keys").json() if key["name"] == "default")["escrow"]
                assert escrow and escrow["targets_written"] >= 1, escrow
                expect(keys.locator("input[name=escrow-default]")).to_have_value("")
                assert PASSPHRASE not in page.content()
                shoot(page, "settings")

                # --- A fresh hub recovers from the primary target. ---
                processes += start_hub(os.path.join(scratch, "data2"), port2, logs)
                fresh = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light").new_page()
                fresh.on("pageerror", lambda error: page_errors.append(str(error)))
                set_up_admin(fresh, base2)
                expect(fresh.get_by_role("link", name="Recover jobs from a target")).to_be_visible()
                fresh.get_by_role("link", name="Recover jobs from a target").click()
                fresh.fill("input[name=recoveryBaseDir]", primary)
                fresh.get_by_role("button", name="Scan the target").click()
                found = fresh.get_by_test_id("recovery-jobs").locator("[data-job='Letters']")
                expect(found).to_contain_text("1 snapshot")
                expect(found).to_contain_text("whose recovery copy is there")
                fresh.fill("input[name=recoveryPassphrase]", PASSPHRASE)
                shoot(fresh, "recovery")
                fresh.get_by_role("button", name="Import 1 job").click()
                # Opening the key's recovery copy (scrypt) takes seconds.
                expect(fresh.get_by_text("Imported.")).to_be_visible(timeout=90000)
                fresh.get_by_role("link", name="Jobs", exact=True).first.click()
                fresh.get_by_role("link", name="Letters").click()
                fresh.get_by_role("link", name="Snapshots", exact=True).click()
                expect(fresh.locator(f"tr[data-run='{run_id}']")).to_be_visible()
                # --- Restore from the WebDAV copy to a WebDAV folder (last: item 8 of the issue). ---
                page.goto(f"{base}/runs/{run_id}/restore?all=1")
                expect(page.locator(f"input[name=location][value='primary']")).to_be_checked()
                page.locator(f"input[name=location][value='{dav_id}']").check()
                page.locator("input[name=destinationType][value=webdav]").check()
                page.fill("input[name=webdavUrl]", dav_url + "restored/")
                page.locator("select[name=webdavSecret]").select_option("nas")
                shoot(page, "restore-webdav")
                page.get_by_role("button", name="Start restore").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=90000)
                restore_run = page.url.rstrip("/").split("/")[-1]
                operation = page.request.get(f"{base}/api/runs/{restore_run}").json()["operation"]
                assert operation.get("location_id") == dav_id, operation
                restored = os.path.join(dav_root, "restored", source.lstrip("/"), "docs", "letter.txt")
                with open(restored) as handle:
                    assert handle.read() == "dear reader\n" * 100
                assert os.path.exists(os.path.join(dav_root, "restored", ".bastion-meta", f"restore-{restore_run}.json"))

                # --- Browse, verify and compare at a copy (item 1 of the issue). ---
                def asked(response, route, location):
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.url).query)
                    return route in response.url and query.get("location") == [location] and response.status == 200

                top = source.strip("/")
                page.goto(f"{base}/runs/{run_id}/browse?path={urllib.parse.quote(top)}")
                picker = page.locator("fieldset.location-picker")
                expect(picker.locator("input[name=location][value='primary']")).to_be_checked()
                with page.expect_response(lambda response: asked(response, "/entries?", dav_id)):
                    picker.locator(f"input[name=location][value='{dav_id}']").check()
                assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query) == {"path": [top], "location": [dav_id]}, page.url
                # A reload keeps the pick; a directory opened keeps it too.
                with page.expect_response(lambda response: asked(response, "/entries?", dav_id)):
                    page.reload()
                expect(picker.locator(f"input[name=location][value='{dav_id}']")).to_be_checked()
                with page.expect_response(lambda response: asked(response, "/entries?", dav_id)):
                    page.locator("tr[data-name='docs'] a").click()
                expect(page.locator("tr[data-name='letter.txt']")).to_be_visible()
                assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query).get("location") == [dav_id], page.url
                with page.expect_response(lambda response: asked(response, "/versions?", dav_id)):
                    page.locator("tr[data-name='letter.txt']").get_by_role("button", name="Versions").click()
                expect(page.get_by_role("dialog", name="Versions")).to_be_visible()
                with page.expect_response(lambda response: asked(response, "/entries?", dav_id)):
                    page.get_by_placeholder("Search names below here").fill("letter")
                expect(page.locator("tr[data-name='letter.txt']")).to_be_visible()
                shoot(page, "browse-copy")
                # Verify at the copy, from the snapshot list's "Where" column: the run reads the copy.
                page.goto(f"{base}/jobs/{job_id}?tab=snapshots")
                expect(row.locator("li[data-location='primary']").get_by_role("button", name="Verify here")).to_be_visible()
                shoot(page, "snapshots-verify-here")
                row.locator(f"li[data-location='{dav_id}']").get_by_role("button", name="Verify here").click()
                page.get_by_role("dialog").get_by_role("button", name="Verify").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=90000)
                verify_run = page.url.rstrip("/").split("/")[-1]
                verified = page.request.get(f"{base}/api/runs/{verify_run}").json()
                assert verified["kind"] == "verify" and verified["operation"].get("location_id") == dav_id, verified
                # Compare at the copy: a second backup (one file more), copied to both copy targets.
                with open(os.path.join(source, "docs", "postscript.txt"), "w") as out:
                    out.write("p.s.\n")
                second = page.request.post(f"{base}/api/jobs/{job_id}/run", headers=headers).json()["run_id"]
                poll("the second backup's copies", lambda: (lambda found: found if len(found) == 3 and all(
                    location["status"] == "present" for location in found.values()) else None)(
                    {location["id"]: location for location in next((item for item in page.request.get(f"{base}/api/jobs/{job_id}/snapshots").json()
                                                                    if item["run_id"] == second), {}).get("locations", [])}))
                page.goto(f"{base}/jobs/{job_id}?tab=compare&from={run_id}&to={second}")
                choice = page.get_by_label("Read both from")
                expect(choice).to_have_value("primary")
                expect(choice.locator("option")).to_have_count(3)
                with page.expect_response(lambda response: asked(response, "/diff?", dav_id)):
                    choice.select_option(dav_id)
                added = page.locator("tr[data-change='added']")
                expect(added).to_have_count(1)
                expect(added).to_have_attribute("data-path", top + "/docs/postscript.txt")
                shoot(page, "compare-copy")
                shown = added.get_by_role("link", name="Show")
                assert urllib.parse.parse_qs(urllib.parse.urlsplit(shown.get_attribute("href")).query).get("location") == [dav_id]

                assert page_errors == [], page_errors
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "321-failure.png"), full_page=True)
                for index, other in enumerate(context.pages + [p for c in browser.contexts if c is not context for p in c.pages]):
                    other.screenshot(path=os.path.join(SHOTS, f"321-failure-{index}.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        recorder.shutdown()
        stop(processes)
        logs.close()
        smtp_log.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print("ui_321_test: OK (copies, retention rules, bandwidth, pings, drills, restore location and WebDAV, e-mail, ntfy, templates, escrow, recovery)")


if __name__ == "__main__":
    main()
