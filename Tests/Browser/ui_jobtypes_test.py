#!/usr/bin/env python3
"""The job types and hooks of issue #25 in Debian's Chromium against the real binaries: Settings stores a PostgreSQL and
a MariaDB password (never shown again); the job editor creates a postgres job (server, password, two databases, no
globals), a mariadb job (all databases, scratch-restore verify), a vaultwarden job (data directory, consistency fail
with a threshold) and a filesystem job with btrfs snapshot_mode auto, a consistency policy and hooks before and after
(argv one per line, cwd, timeout, environment, continue on failure); each saved spec is read back through the API and
must be exactly what the editor said; reopening the filesystem job shows every field again and saving it unchanged
keeps the spec. The filesystem job then runs: its hooks' output is in the run's log as hook lines, and the `after`
hook sees the outcome in its environment.

Screenshots (desktop 1280 and phone 390): .build/ui-screenshots/jobtypes-*.png.

Usage: python3 Tests/Browser/ui_jobtypes_test.py   (BASTION_BIN: binaries, default .build/debug; the UI built into Public/)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
PG_PASSWORD = "pg secret 7"
MARIA_PASSWORD = "maria secret 9"


def shot(page, name):
    """A full-page screenshot at 1280 and at 390 px (back to 1280 after)."""
    page.screenshot(path=os.path.join(SHOTS, f"jobtypes-{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(SHOTS, f"jobtypes-{name}-390.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than a 390px screen"


def saved_spec(page, base, name):
    listed = next(job for job in page.request.get(base + "/api/jobs?page_size=100").json()["items"] if job["name"] == name)
    return page.request.get(f"{base}/api/jobs/{listed['id']}").json()


def create(page):
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()


def main():
    scratch = tempfile.mkdtemp(prefix="bjt-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    vw_data = os.path.join(scratch, "vaultwarden")
    backups = os.path.join(scratch, "backups")
    hook_dir = os.path.join(scratch, "hook work dir")
    for directory in (source, vw_data, backups, hook_dir):
        os.makedirs(directory)
    with open(os.path.join(source, "notes.txt"), "w") as out:
        out.write("notes\n" * 50)
    after_seen = os.path.join(scratch, "after.env")
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
        processes.append(subprocess.Popen([os.path.join(BIN, "bastion-worker"), *common, "--worker-id", "ui-worker"], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            try:
                set_up_admin(page, base)

                # Settings: the database passwords, listed by name and kind, never shown back.
                page.get_by_role("link", name="Settings").click()
                for kind, name, password, label in [("postgres", "pg-main", PG_PASSWORD, "PostgreSQL"), ("mariadb", "maria-main", MARIA_PASSWORD, "MariaDB")]:
                    form = page.get_by_role("form", name=f"{label} password")
                    form.locator(f"input[name={kind}Name]").fill(name)
                    form.locator(f"input[name={kind}Password]").fill(password)
                    form.get_by_role("button", name="Save").click()
                    row = page.get_by_role("table", name="Target credentials").get_by_role("row").filter(has_text=name)
                    expect(row).to_contain_text(label)
                    expect(form.locator(f"input[name={kind}Password]")).to_have_value("")
                assert PG_PASSWORD not in page.content() and MARIA_PASSWORD not in page.content()
                listed = page.request.get(base + "/api/secrets/postgres").json()
                assert [secret["name"] for secret in listed] == ["pg-main"], listed
                shot(page, "settings")

                # A postgres job: a server, the password, two databases, no globals.
                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "Postgres app")
                page.locator("select[name=type]").select_option("postgres")
                expect(page.get_by_text("Empty: all databases")).to_be_visible()
                page.fill("input[name=dbHost]", "127.0.0.1")
                page.fill("input[name=dbPort]", "5433")
                page.fill("input[name=dbUser]", "backup")
                page.locator("select[name=dbSecretName]").select_option("pg-main")
                page.fill("textarea[name=dbDatabases]", "app\nwiki")
                expect(page.get_by_text("2 databases: app, wiki.")).to_be_visible()
                page.locator("input[name=dbGlobals]").uncheck()
                page.fill("input[name=baseDir]", backups)
                page.get_by_role("radio", name="Manual only").check()
                page.get_by_role("button", name="Show what will be sent").click()
                expect(page.locator(".json-view")).to_contain_text('"secret_name": "pg-main"')
                shot(page, "editor-postgres")
                create(page)
                spec = saved_spec(page, base, "Postgres app")["spec"]
                assert spec["type"] == "postgres", spec
                assert spec["source"] == {"host": "127.0.0.1", "port": 5433, "user": "backup", "secret_name": "pg-main", "databases": ["app", "wiki"],
                                          "globals": False}, spec["source"]
                assert "hooks" not in spec, spec

                # A mariadb job: every database over the socket, with the scratch-restore verify.
                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "MariaDB all")
                page.locator("select[name=type]").select_option("mariadb")
                expect(page.get_by_text("Empty: all databases (information_schema")).to_be_visible()
                page.locator("select[name=dbSecretName]").select_option("maria-main")
                page.locator("input[name=verifyScratchRestore]").check()
                page.fill("input[name=baseDir]", backups)
                page.get_by_role("radio", name="Manual only").check()
                create(page)
                spec = saved_spec(page, base, "MariaDB all")["spec"]
                assert spec["type"] == "mariadb", spec
                # Stored with the server's defaults (the socket, 3306, the client's user).
                assert spec["source"] == {"host": "/run/mysqld/mysqld.sock", "port": 3306, "user": None, "secret_name": "maria-main", "databases": [],
                                          "globals": True, "verify_scratch_restore": True}, spec["source"]

                # A vaultwarden job: its data directory; files changed while read fail the run above 2.
                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "Vaultwarden")
                page.locator("select[name=type]").select_option("vaultwarden")
                page.fill("input[name=vwDataDir]", vw_data)
                page.locator("select[name=consistencyPolicy]").select_option("fail")
                page.fill("input[name=consistencyThreshold]", "2")
                page.fill("input[name=baseDir]", backups)
                page.get_by_role("radio", name="Manual only").check()
                create(page)
                spec = saved_spec(page, base, "Vaultwarden")["spec"]
                assert spec["type"] == "vaultwarden", spec
                assert spec["source"] == {"data_dir": vw_data, "consistency_policy": "fail", "consistency_fail_threshold": 2}, spec["source"]

                # A filesystem job: btrfs snapshot when possible, a consistency policy, and hooks before and after.
                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "Files with hooks")
                page.fill("textarea[name=paths]", source)
                page.locator("select[name=snapshotMode]").select_option("auto")
                page.locator("select[name=consistencyPolicy]").select_option("fail")
                page.fill("input[name=consistencyThreshold]", "1")
                expect(page.get_by_role("note")).to_contain_text("as its user")
                page.get_by_role("button", name="Add a command before the backup").click()
                before = page.get_by_role("group", name="before command 1")
                before.locator("textarea[name=beforeArgv]").fill("/bin/sh\n-c\necho hello from before; echo to stderr >&2; pwd")
                before.locator("input[name=beforeCwd]").fill(hook_dir)
                before.locator("input[name=beforeTimeout]").fill("60")
                before.locator("textarea[name=beforeEnv]").fill("GREETING=hi there\nBROKEN")
                expect(before.get_by_role("alert")).to_contain_text("Line 2")
                expect(page.get_by_role("button", name="Create job")).to_be_disabled()
                before.locator("textarea[name=beforeEnv]").fill("GREETING=hi there\nURL=http://x/?a=b")
                expect(page.get_by_role("button", name="Create job")).to_be_enabled()
                page.get_by_role("checkbox", name="Back up even if a command before fails").check()
                page.get_by_role("button", name="Add a command after the backup").click()
                after = page.get_by_role("group", name="after command 1")
                after.locator("textarea[name=afterArgv]").fill(f"/bin/sh\n-c\nenv > '{after_seen}'; echo after saw $BASTION_STATUS")
                page.fill("input[name=baseDir]", backups)
                page.get_by_role("radio", name="Manual only").check()
                page.locator("fieldset.hooks").scroll_into_view_if_needed()
                shot(page, "editor-hooks")
                create(page)
                job = saved_spec(page, base, "Files with hooks")
                spec = job["spec"]
                assert spec["source"]["snapshot_mode"] == "auto", spec["source"]
                assert spec["source"]["consistency_policy"] == "fail" and spec["source"]["consistency_fail_threshold"] == 1, spec["source"]
                expected_hooks = {
                    "before": [{"argv": ["/bin/sh", "-c", "echo hello from before; echo to stderr >&2; pwd"], "cwd": hook_dir, "timeout_seconds": 60,
                                "env": {"GREETING": "hi there", "URL": "http://x/?a=b"}}],
                    # Stored with the defaults filled in (cwd /, 300 s, no extra environment).
                    "after": [{"argv": ["/bin/sh", "-c", f"env > '{after_seen}'; echo after saw $BASTION_STATUS"], "cwd": "/", "timeout_seconds": 300, "env": {}}],
                    "continue_on_before_failure": True,
                }
                assert spec["hooks"] == expected_hooks, json.dumps(spec["hooks"], indent=2)

                # Reopened, the editor shows it all; saved unchanged, the spec stays the same.
                page.goto(f"{base}/jobs/{job['id']}/edit")
                expect(page.locator("select[name=snapshotMode]")).to_have_value("auto")
                expect(page.locator("textarea[name=beforeArgv]")).to_have_value("/bin/sh\n-c\necho hello from before; echo to stderr >&2; pwd")
                expect(page.locator("textarea[name=beforeEnv]")).to_have_value("GREETING=hi there\nURL=http://x/?a=b")
                expect(page.locator("input[name=beforeCwd]")).to_have_value(hook_dir)
                page.get_by_role("button", name="Save").click()
                expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
                assert saved_spec(page, base, "Files with hooks")["spec"] == spec
                page.get_by_role("link", name="Files with hooks").click()
                expect(page.get_by_text("before: /bin/sh -c echo hello")).to_be_visible()

                # It runs: the hooks' lines are in the log, labelled by hook and stream; `after` saw the outcome.
                page.get_by_role("button", name="Backup now").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                log = page.get_by_test_id("log")
                expect(log.locator(".log-row[data-kind=hook_output]").filter(has_text="hello from before").locator(".kind")).to_have_text("before #1")
                expect(log.locator(".log-row[data-kind=hook_output]").filter(has_text="to stderr").locator(".kind")).to_have_text("before #1 stderr")
                expect(log.locator(".log-row[data-kind=hook_output]").filter(has_text=hook_dir)).to_have_count(1)
                expect(log.locator(".log-row[data-kind=hook_output]").filter(has_text="after saw success").locator(".kind")).to_have_text("after #1")
                with open(after_seen) as handle:
                    environment = dict(line.split("=", 1) for line in handle.read().splitlines() if "=" in line)
                assert environment.get("BASTION_HOOK") == "after" and environment.get("BASTION_STATUS") == "success", environment
                shot(page, "run-hooks")

                # The job page of a database job, and the editor on a phone.
                page.goto(base + "/jobs")
                page.get_by_role("link", name="Postgres app").click()
                expect(page.get_by_text("PostgreSQL databases app, wiki on 127.0.0.1:5433")).to_be_visible()
                shot(page, "job-postgres")
                assert page_errors == [], page_errors
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "jobtypes-failure.png"), full_page=True)
                sys.stderr.write(f"ui_jobtypes_test: the page at the failure: {page.url}\n")
                raise
            finally:
                browser.close()
    finally:
        stop(reversed(processes))
        logs.close()
    print("ui_jobtypes_test: ok")


if __name__ == "__main__":
    main()
