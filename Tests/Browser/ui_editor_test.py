#!/usr/bin/env python3
"""The job editor of issue #27 (docs/ui.md, "The job editor") in Debian's Chromium against the real binaries:

- a job whose schedule is the macro `@daily` (typed in the cron field, kept as typed, next runs from the hub, in
  words on the list), and hostile schedules (`@every 5m`, `@reboot`, a 10 000-character string) refused with the
  hub's words and no job created;
- a job on Monday, Wednesday and Friday at 02:30 in the simple editor (`30 2 * * 1,3,5`), no day at all refused
  before sending; reopened and reloaded, the same three days are ticked; the weekdays are reachable by keyboard;
- every save says so: a status (role=status) on the jobs list, in English and in Chinese;
- a credential stored from the editor's New credential… dialog is picked by the target;
- screenshots of each section of the editor at 1280 and 390 px, English and Chinese, light (and dark at 1280):
  .build/ui-screenshots/editor-<section>-<lang>-<width>[-dark].png; no page wider than a 390 px screen;
- axe-core: no serious or critical violation on the new and the edit page (1280 light and dark, 390; en and zh-CN).

Usage: python3 Tests/Browser/ui_editor_test.py   (BASTION_BIN: binaries, default .build/debug; the UI built into Public/)
"""
import json
import os
import subprocess
import sys
import tempfile

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, set_up_admin, launch, stop, wait_ready

BIN = binaries("debug")
# The machine running this may be busy (the setup's password hash, a debug build's first answers): wait longer.
expect.set_options(timeout=20000)
SECTIONS = ["basics", "schedule", "source", "target", "notify-retention", "copies", "pings", "drills", "hooks"]
axe = Axe()


def jobs(page, base):
    return page.request.get(base + "/api/jobs?page_size=100").json()["items"]


def job_named(page, base, name):
    listed = next(job for job in jobs(page, base) if job["name"] == name)
    return page.request.get(f"{base}/api/jobs/{listed['id']}").json()


def fill_basics(page, name, source, target):
    page.fill("input[name=name]", name)
    page.fill("textarea[name=paths]", source)
    page.fill("input[name=baseDir]", target)


def discard_draft(page):
    """The editor offers the draft an earlier visit left; the screenshots and the save want the stored job."""
    page.wait_for_load_state("networkidle")
    if page.locator(".draft-note").count():
        page.locator(".draft-note button").last.click()


def audit(page, label, problems):
    page.wait_for_load_state("networkidle")
    results = axe.run(page).response
    for violation in results["violations"]:
        if violation["impact"] in ("serious", "critical"):
            nodes = [node["target"] for node in violation["nodes"]][:5]
            problems.append(f"{label}: {violation['impact']} {violation['id']}: {violation['help']} {nodes}")


def section_shots(page, lang, width, dark):
    """One screenshot per section of the editor (every section is a fieldset.card of .editor-grid, in order)."""
    cards = page.locator(".editor-grid > fieldset.card")
    expect(cards).to_have_count(len(SECTIONS))
    suffix = f"{lang}-{width}" + ("-dark" if dark else "")
    for index, section in enumerate(SECTIONS):
        cards.nth(index).screenshot(path=os.path.join(SHOTS, f"editor-{section}-{suffix}.png"))
    page.screenshot(path=os.path.join(SHOTS, f"editor-page-{suffix}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the editor ({suffix}) is {overflow}px wider than the screen"


def main():
    scratch = tempfile.mkdtemp(prefix="bed-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    target = os.path.join(scratch, "target")
    os.makedirs(source)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    processes = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), "--data-dir", data, "--log-level", "warning", "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")],
            stdout=logs, stderr=subprocess.STDOUT,
        ))
        wait_ready(base)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light", locale="en-US")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            try:
                set_up_admin(page, base)
                headers = api_headers(page, base)

                # The hub: macros are schedules; any other @ word, and junk, is a 400 with the field named.
                ok = page.request.post(base + "/api/schedules/preview", data=json.dumps({"schedule": "@daily", "timezone": "Europe/Berlin", "count": 3}), headers=headers)
                assert ok.status == 200 and len(ok.json()["next"]) == 3, ok.text()
                for bad in ["@every 5m", "@reboot", "@daily 5", "@", "@" + "x" * 10000, "0 0 * * 1,,3"]:
                    refused = page.request.post(base + "/api/schedules/preview", data=json.dumps({"schedule": bad}), headers=headers)
                    assert refused.status == 400 and refused.json()["error"] == "invalid_schedule", (bad[:20], refused.status, refused.text()[:200])
                    assert len(refused.text()) < 1000, "the refusal does not echo a long schedule back whole"

                # A job on @daily, typed in the cron field.
                page.goto(base + "/jobs/new")
                expect(page.get_by_role("heading", name="New job")).to_be_visible()
                fill_basics(page, "Daily macro", source, target)
                page.get_by_label("Cron", exact=True).check()
                preview = page.get_by_test_id("schedule-preview")
                # Hostile first: the hub's words under the field, Create refused by the hub, nothing stored.
                page.fill("input[name=cron]", "@every 5m")
                expect(preview).to_contain_text("unknown schedule macro")
                page.get_by_role("button", name="Create job").click()
                expect(page.get_by_role("alert").first).to_contain_text("unknown schedule macro")
                expect(page.get_by_role("heading", name="New job")).to_be_visible()
                assert jobs(page, base) == [], "a refused job was stored"
                page.fill("input[name=cron]", "@daily")
                expect(preview.locator("li")).to_have_count(5)
                expect(preview).to_contain_text("00:00:00")
                page.get_by_role("button", name="Create job").click()
                expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
                status = page.get_by_role("status").filter(has_text="Daily macro")
                expect(status).to_contain_text("Job “Daily macro” created.")
                assert job_named(page, base, "Daily macro")["schedule"] == "@daily"
                expect(page.locator("tr", has_text="Daily macro")).to_contain_text("every day at 00:00")
                # Going elsewhere ends the note.
                page.get_by_role("navigation").get_by_role("link", name="Runs").click()
                expect(page.get_by_test_id("flash")).to_have_text("")

                # Monday, Wednesday and Friday at 02:30 in the simple editor.
                page.goto(base + "/jobs/new")
                fill_basics(page, "Three days", source, target)
                page.get_by_label("Repeat", exact=True).select_option("weekly")
                days = page.get_by_role("group", name="Days of the week")
                expect(days.get_by_role("checkbox")).to_have_count(7)
                expect(days.get_by_label("Monday")).to_be_checked()
                # Keyboard: Tab from Repeat reaches Monday, Space unticks it; no day left is refused before sending.
                page.get_by_label("Repeat", exact=True).focus()
                page.keyboard.press("Tab")
                expect(days.get_by_label("Monday")).to_be_focused()
                page.keyboard.press("Space")
                expect(days.get_by_label("Monday")).not_to_be_checked()
                expect(days.get_by_role("alert")).to_have_text("Pick at least one day of the week.")
                expect(page.get_by_role("button", name="Create job")).to_be_disabled()
                for day in ["Monday", "Wednesday", "Friday"]:
                    days.get_by_label(day).check()
                page.get_by_label("Hour", exact=True).fill("2")
                page.get_by_label("Minute", exact=True).fill("30")
                expect(preview.locator("code")).to_have_text("30 2 * * 1,3,5")
                expect(preview.locator("li")).to_have_count(5)
                page.get_by_role("button", name="Create job").click()
                expect(page.get_by_role("status").filter(has_text="Three days")).to_contain_text("Job “Three days” created.")
                stored = job_named(page, base, "Three days")
                assert stored["schedule"] == "30 2 * * 1,3,5", stored["schedule"]
                expect(page.locator("tr", has_text="Three days")).to_contain_text("at 02:30 on Monday, Wednesday, Friday")

                # Reopened, and reloaded: the same three days, in the simple editor.
                page.goto(f"{base}/jobs/{stored['id']}/edit")
                for _ in range(2):
                    expect(page.get_by_label("Repeat", exact=True)).to_have_value("weekly")
                    days = page.get_by_role("group", name="Days of the week")
                    ticked = [day for day in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] if days.get_by_label(day).is_checked()]
                    assert ticked == ["Monday", "Wednesday", "Friday"], ticked
                    expect(page.get_by_label("Hour", exact=True)).to_have_value("2")
                    expect(page.get_by_label("Minute", exact=True)).to_have_value("30")
                    page.reload()
                # A Sunday too, saved: the note says "saved", the hub has four days.
                page.get_by_role("group", name="Days of the week").get_by_label("Sunday").check()
                page.get_by_role("button", name="Save").click()
                expect(page.get_by_role("status").filter(has_text="Three days")).to_contain_text("Job “Three days” saved.")
                assert job_named(page, base, "Three days")["schedule"] == "30 2 * * 0,1,3,5"
                page.get_by_role("button", name="Dismiss").click()
                expect(page.get_by_test_id("flash")).to_have_text("")

                # A WebDAV credential from the editor: stored by the hub, then picked by the target.
                page.goto(f"{base}/jobs/{stored['id']}/edit")
                page.locator("select[name=targetType]").select_option("webdav")
                page.get_by_role("button", name="New credential…").click()
                dialog = page.get_by_role("dialog", name="New credential")
                dialog.locator("input[name=webdavName]").fill("nas")
                dialog.locator("input[name=webdavUser]").fill("ann")
                dialog.locator("input[name=webdavPassword]").fill("s3cret pass")
                dialog.locator("input[name=webdavTestUrl]").fill("http://127.0.0.1:9/dav/")
                dialog.get_by_role("button", name="Save").click()
                expect(dialog).to_have_count(0)
                expect(page.locator("select[name=secretName]")).to_have_value("nas")
                assert [secret["name"] for secret in page.request.get(base + "/api/secrets/webdav").json()] == ["nas"]
                assert "s3cret pass" not in page.content()
                page.get_by_role("link", name="Cancel").click()

                # Each section, filled out a little, at both widths, in both languages; axe on the new and edit pages.
                problems = []
                for lang in ["en", "zh-CN"]:
                    page.evaluate(f"localStorage.setItem('bastion.lang', '{lang}')")
                    for width, height, dark in [(1280, 900, False), (390, 844, False), (1280, 900, True)]:
                        page.set_viewport_size({"width": width, "height": height})
                        page.emulate_media(color_scheme="dark" if dark else "light")
                        page.goto(f"{base}/jobs/{stored['id']}/edit")
                        expect(page.locator("html")).to_have_attribute("lang", lang)
                        expect(page.get_by_role("group", name="星期" if lang == "zh-CN" else "Days of the week")).to_be_visible()
                        page.locator("select[name=targetType]").select_option("webdav")
                        page.locator(".copies > button").last.click()
                        page.locator(".pings > button").last.click()
                        page.locator("input[name=drillsEnabled]").check()
                        page.locator("[data-testid=hooks-before] > button").click()
                        page.locator("input[name=retentionEnabled]").check()
                        section_shots(page, lang, width, dark)
                        audit(page, f"edit {lang} {width}{' dark' if dark else ''}", problems)
                        page.goto(base + "/jobs/new")
                        discard_draft(page)
                        audit(page, f"new {lang} {width}{' dark' if dark else ''}", problems)
                    # The save note in this language.
                    page.set_viewport_size({"width": 390, "height": 844})
                    page.emulate_media(color_scheme="light")
                    page.goto(f"{base}/jobs/{stored['id']}/edit")
                    discard_draft(page)
                    page.locator("button.primary").click()
                    note = "已保存任务“Three days”。" if lang == "zh-CN" else "Job “Three days” saved."
                    expect(page.get_by_role("status").filter(has_text="Three days")).to_contain_text(note)
                    page.screenshot(path=os.path.join(SHOTS, f"editor-saved-{lang}-390.png"), full_page=True)
                assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
                assert page_errors == [], page_errors
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "editor-failure.png"), full_page=True)
                sys.stderr.write(f"ui_editor_test: the page at the failure: {page.url}\n")
                raise
            finally:
                browser.close()
    finally:
        stop(reversed(processes))
        logs.close()
    print("ui_editor_test: ok")


if __name__ == "__main__":
    main()
