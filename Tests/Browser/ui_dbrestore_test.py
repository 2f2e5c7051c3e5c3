#!/usr/bin/env python3
"""A PostgreSQL job from the editor to a restore into a new database, in Debian's Chromium against the real binaries and
a real PostgreSQL server this test starts (Debian's postgresql, its own directory, a private port, password auth over
TCP): the password saved in Settings, the job made in the editor, Backup now; the run page's Restore offers "the
files" or "into a database"; into a database, each dumped database is a row with its new name; an existing name is
refused (database_exists) and nothing is dropped; with a new name the restore succeeds and the rows are there.

Screenshots (desktop 1280 and phone 390): .build/ui-screenshots/dbrestore-*.png.

Usage: python3 Tests/Browser/ui_dbrestore_test.py   (BASTION_BIN: binaries, default .build/debug; the UI built into Public/)
"""
import glob
import os
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
PASSWORD = "pg pass ü 42"


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} in /usr/lib/postgresql/*/bin (Debian's postgresql)")
    return found[-1]


def as_postgres(*argv, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True, text=True, **kwargs)


def psql(port, socket_dir, database, sql):
    return as_postgres(pg_bin("psql"), "-h", socket_dir, "-p", str(port), "-U", "postgres", "-d", database, "-XAtqc", sql).stdout.strip()


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"dbrestore-{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(SHOTS, f"dbrestore-{name}-390.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than a 390px screen"


def main():
    scratch = tempfile.mkdtemp(prefix="bdr-")
    os.chmod(scratch, 0o755)
    data = os.path.join(scratch, "data")
    backups = os.path.join(scratch, "backups")
    os.makedirs(backups)
    pg_root = os.path.join(scratch, "pg")
    os.makedirs(pg_root)
    subprocess.run(["chown", "postgres:postgres", pg_root], check=True)
    pg_data = os.path.join(pg_root, "data")
    pwfile = os.path.join(pg_root, "pw")
    with open(pwfile, "w") as out:
        out.write(PASSWORD + "\n")
    subprocess.run(["chown", "postgres:postgres", pwfile], check=True)
    pg_port = free_port()
    as_postgres(pg_bin("initdb"), "-D", pg_data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                "--locale=C")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    processes = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        processes.append(subprocess.Popen(
            ["runuser", "-u", "postgres", "--", pg_bin("postgres"), "-D", pg_data, "-p", str(pg_port), "-k", pg_root, "-c", "listen_addresses=127.0.0.1"],
            stdout=logs, stderr=subprocess.STDOUT,
        ))
        deadline = time.time() + 30
        while subprocess.run([pg_bin("pg_isready"), "-h", pg_root, "-p", str(pg_port)], capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("postgres did not start")
            time.sleep(0.2)
        psql(pg_port, pg_root, "postgres", "CREATE DATABASE app")
        psql(pg_port, pg_root, "app", "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'nötiz ' || g FROM generate_series(1, 500) g")

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
                page.get_by_role("link", name="Settings").click()
                form = page.get_by_role("form", name="PostgreSQL password")
                form.locator("input[name=postgresName]").fill("pg-main")
                form.locator("input[name=postgresPassword]").fill(PASSWORD)
                form.get_by_role("button", name="Save").click()
                expect(page.get_by_role("table", name="Target credentials").get_by_role("row").filter(has_text="pg-main")).to_contain_text("PostgreSQL")

                page.goto(base + "/jobs/new")
                page.fill("input[name=name]", "App database")
                page.locator("select[name=type]").select_option("postgres")
                page.fill("input[name=dbHost]", "127.0.0.1")
                page.fill("input[name=dbPort]", str(pg_port))
                page.fill("input[name=dbUser]", "postgres")
                page.locator("select[name=dbSecretName]").select_option("pg-main")
                page.fill("textarea[name=dbDatabases]", "app")
                page.fill("input[name=baseDir]", backups)
                page.get_by_role("radio", name="Manual only").check()
                page.get_by_role("button", name="Create job").click()
                page.get_by_role("link", name="App database").click()
                page.get_by_role("button", name="Backup now").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=120000)

                # Restore: the files, or into a database (one row per dumped database).
                page.get_by_role("button", name="Restore").click()
                expect(page.get_by_role("radiogroup", name="Restore")).to_be_visible()
                expect(page.locator("input[name=destination]")).to_be_visible()
                restore_page = page.url

                def fill(new_name):
                    page.get_by_role("radio", name="Into a database").check()
                    name_field = page.get_by_role("textbox", name="New name for app")
                    expect(name_field).to_have_value("app_restored")
                    page.fill("input[name=restoreHost]", "127.0.0.1")
                    page.fill("input[name=restorePort]", str(pg_port))
                    page.fill("input[name=restoreUser]", "postgres")
                    page.locator("select[name=restoreSecret]").select_option("pg-main")
                    name_field.fill(new_name)

                # An existing name is refused (by the request, or by the run it starts) and nothing is dropped.
                fill("app")
                page.get_by_role("button", name="Restore into the database").click()
                expect(page.locator(".error-box, .error-text").filter(has_text="database_exists").first).to_be_visible(timeout=120000)
                assert psql(pg_port, pg_root, "app", "SELECT count(*) FROM notes") == "500"
                if page.url != restore_page:
                    page.goto(restore_page)
                    fill("app_restored")
                else:
                    page.get_by_role("textbox", name="New name for app").fill("app_restored")
                page.get_by_role("checkbox", name="Replace a database that already exists").check()
                expect(page.get_by_role("alert").filter(has_text="dropped first")).to_be_visible()
                page.get_by_role("checkbox", name="Replace a database that already exists").uncheck()
                shot(page, "restore")
                page.get_by_role("button", name="Restore into the database").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=120000)
                assert psql(pg_port, pg_root, "app_restored", "SELECT count(*), min(body), max(id) FROM notes") == "500|nötiz 1|500"
                shot(page, "run")
                assert page_errors == [], page_errors
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "dbrestore-failure.png"), full_page=True)
                sys.stderr.write(f"ui_dbrestore_test: the page at the failure: {page.url}\n")
                raise
            finally:
                browser.close()
    finally:
        stop(reversed(processes))
        logs.close()
    print("ui_dbrestore_test: ok")


if __name__ == "__main__":
    main()
