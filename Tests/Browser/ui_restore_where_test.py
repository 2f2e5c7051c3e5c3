#!/usr/bin/env python3
"""Browser test of "restore where people want it" (docs/ui.md, "The restore wizard") against the real api, worker and
janitor, in Debian's Chromium.

A tree (home/ann/docs/…, home/ann/notes.txt, home/bob/z.txt) is backed up; the browser picks home/ann/docs and
home/ann/notes.txt and opens the wizard, which shows what the pick holds (3 files in 2 directories and their bytes)
before anything starts. Then:

1. Keyboard only, 1280 px: the original location (arrow keys in the radio group), Overwrite, Start -> the UI's own
   confirmation dialog (Escape cancels and nothing is queued; Tab, Enter confirms) -> the locally changed file is the
   snapshot's again and the deleted one is back, under the original paths.
2. 390 px: into a directory without the leading path: the prefix offered is home/ann's, the lines under it say where
   each path lands; a prefix the server would refuse (/abs, ..) is said at once and Start stays disabled; the restore
   writes exactly docs/…, notes.txt into the directory and nothing else.
3. zh-CN at 1280 and 390 px: the same wizard and dialog in Chinese. axe-core finds no serious or critical violation on
   the wizard (original, strip) and the dialog, light and dark at 1280 px and light at 390 px.

Screenshots: .build/ui-screenshots/restore-where-*.png.

Usage: python3 Tests/Browser/ui_restore_where_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
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
FILES = {
    "home/ann/docs/a.txt": "ann's a, version one\n",
    "home/ann/docs/sub/b.txt": "b\n" * 40,
    "home/ann/notes.txt": "notes\n",
    "home/bob/z.txt": "bob's\n",
}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def read(path):
    with open(path) as handle:
        return handle.read()


def tree(root):
    """Every path under root, relative, sorted; directories end in /."""
    found = []
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            found.append(os.path.relpath(os.path.join(directory, name), root) + "/")
        for name in files:
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


def focused(page):
    return page.evaluate(
        """() => { const e = document.activeElement; return e ? { tag: e.tagName, type: e.type || null, name: e.name || null,
             value: e.value || null, checked: !!e.checked, text: (e.innerText || '').trim(), inDialog: !!e.closest('dialog') } : null }"""
    )


def tab_until(page, predicate, key="Tab", limit=80):
    for _ in range(limit):
        page.keyboard.press(key)
        if predicate(focused(page)):
            return
    raise AssertionError(f"{key} never reached the element wanted; last {focused(page)}")


def audit(page, name, problems):
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            problems.append((name, violation["id"], [node["target"] for node in violation["nodes"]][:5]))


def shoot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"restore-where-{name}.png"), full_page=True)


def wait_run(page, base, run_id, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = page.request.get(f"{base}/api/runs/{run_id}").json()["status"]
        if status not in ("queued", "running"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish")


def pick(page, base, run, inside):
    """Browse to home/ann and pick docs and notes.txt, then open the wizard."""
    page.goto(f"{base}/runs/{run}/browse?path={inside}")
    expect(page.get_by_test_id("entries")).to_be_visible()
    page.locator("tr[data-name='docs'] input[type=checkbox]").click()
    page.locator("tr[data-name='notes.txt'] input[type=checkbox]").click()
    page.get_by_role("button", name=re.compile(r"[(（]2[)）]$")).click()
    expect(page.locator("ul.selection li")).to_have_count(2)


def main():
    scratch = tempfile.mkdtemp(prefix="brw-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "src")
    target = os.path.join(scratch, "target")
    for name, text in FILES.items():
        write(os.path.join(source, name), text)
    inside = source.strip("/") + "/home/ann"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    processes = []
    problems = []
    os.makedirs(SHOTS, exist_ok=True)
    ok = False
    try:
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")], stdout=logs, stderr=subprocess.STDOUT
        ))
        wait_ready(base)
        for name, arguments in [("bastion-worker", ["--worker-id", "ui-worker"]), ("bastion-janitor", [])]:
            processes.append(subprocess.Popen([os.path.join(BIN, name), *common, *arguments], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            # window.confirm is never used: a native dialog fails the test.
            page.on("dialog", lambda dialog: (page_errors.append("native dialog: " + dialog.message), dialog.dismiss()))
            set_up_admin(page, base)
            headers = api_headers(page, base)
            spec = {"v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": {"type": "local_dir", "base_dir": target}}
            created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Home", "spec": spec}), headers=headers)
            assert created.status == 201, created.text()
            job = created.json()["id"]
            queued = page.request.post(f"{base}/api/jobs/{job}/run", headers=headers)
            backup = queued.json()["run_id"]
            assert wait_run(page, base, backup) == "success"

            # The wizard counts the pick before it starts: a.txt, sub/b.txt, notes.txt in docs and docs/sub.
            pick(page, base, backup, inside)
            size = len(FILES["home/ann/docs/a.txt"]) + len(FILES["home/ann/docs/sub/b.txt"]) + len(FILES["home/ann/notes.txt"])
            expect(page.locator(".restore-count")).to_have_text(f"To restore: 3 files in 2 directories, {size} B.")
            shoot(page, "pick-1280-light")

            # 1. Keyboard only: the original location, Overwrite, confirmation.
            write(os.path.join(source, "home/ann/docs/a.txt"), "edited since the backup\n")
            os.unlink(os.path.join(source, "home/ann/notes.txt"))
            page.locator("body").focus()
            tab_until(page, lambda item: item and item["name"] == "destinationType")
            assert focused(page)["value"] == "local_fs", focused(page)
            page.keyboard.press("ArrowRight")
            assert focused(page)["value"] == "original" and focused(page)["checked"], focused(page)
            original = page.locator(".restore-original")
            expect(original).to_contain_text("Each file goes back to the place it was backed up from: under / on the hub.")
            expect(original.locator("li").first).to_contain_text(f"→ /{inside}/docs")
            tab_until(page, lambda item: item and item["name"] == "conflict")
            assert focused(page)["value"] == "fail", focused(page)
            expect(page.get_by_text("The restore stops at the first file that still exists there.")).to_be_visible()
            page.keyboard.press("ArrowDown")
            page.keyboard.press("ArrowDown")
            assert focused(page)["value"] == "overwrite", focused(page)
            expect(page.get_by_text("Files that still exist are replaced by the snapshot's version")).to_be_visible()
            expect(page.get_by_text("You will be asked to confirm before the restore starts.")).to_be_visible()
            tab_until(page, lambda item: item and item["text"] == "Restore to the original location")
            page.keyboard.press("Enter")
            dialog = page.get_by_role("dialog", name="Overwrite files at their original location?")
            expect(dialog).to_be_visible()
            expect(dialog).to_contain_text("The snapshot's version of 3 files replaces what is now under / on the hub.")
            assert focused(page)["inDialog"] and focused(page)["text"] == "Cancel", focused(page)
            shoot(page, "confirm-1280-light")
            audit(page, "confirm-1280-light", problems)
            # Escape cancels: nothing is queued, the file stays as edited, focus is back on Start.
            page.keyboard.press("Escape")
            expect(dialog).to_have_count(0)
            assert "/restore" in page.url and read(os.path.join(source, "home/ann/docs/a.txt")) == "edited since the backup\n"
            runs = page.request.get(f"{base}/api/runs?job_id={job}").json()
            items = runs["items"] if isinstance(runs, dict) else runs
            assert [run["kind"] for run in items] == ["backup"], items
            assert focused(page)["text"] == "Restore to the original location", focused(page)
            page.keyboard.press("Enter")
            expect(dialog).to_be_visible()
            page.keyboard.press("Tab")
            assert focused(page)["text"] == "Overwrite and restore", focused(page)
            page.keyboard.press("Enter")
            expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
            assert read(os.path.join(source, "home/ann/docs/a.txt")) == FILES["home/ann/docs/a.txt"], "overwritten with the snapshot's version"
            assert read(os.path.join(source, "home/ann/notes.txt")) == FILES["home/ann/notes.txt"], "the deleted file is back"
            print("keyboard: Tab to the destination, → original, Tab, ↓↓ overwrite, Enter, Escape cancels, Enter, Tab, Enter: restored")

            # 2. At 390 px: into a directory without the leading path.
            page.set_viewport_size({"width": 390, "height": 844})
            pick(page, base, backup, inside)
            out = os.path.join(scratch, "restore", "docs-here")
            page.fill("input[name=destination]", out)
            page.get_by_label("Without the leading path").check()
            prefix = page.locator("input[name=prefix]")
            expect(prefix).to_have_value(inside)
            mapping = page.get_by_role("list", name="Where the picked paths are restored")
            expect(mapping.locator("li").nth(0)).to_contain_text(f"→ {out}/docs")
            expect(mapping.locator("li").nth(1)).to_contain_text(f"→ {out}/notes.txt")
            start = page.get_by_role("button", name="Start restore")
            for hostile, said in [("/" + inside, "Leave out the leading /"), (inside + "/../x", "cannot contain .."), (inside + "/docs", "must be below")]:
                prefix.fill(hostile)
                expect(page.get_by_role("alert")).to_contain_text(said)
                expect(start).to_be_disabled()
            prefix.fill(inside)
            expect(start).to_be_enabled()
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, "the wizard scrolls sideways at 390 px"
            shoot(page, "strip-390-light")
            audit(page, "strip-390-light", problems)
            start.click()
            expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
            assert tree(out) == ["docs/", "docs/a.txt", "docs/sub/", "docs/sub/b.txt", "notes.txt"], tree(out)
            assert read(os.path.join(out, "docs/sub/b.txt")) == FILES["home/ann/docs/sub/b.txt"]

            # Light and dark at 1280 px: the wizard with each choice, audited.
            page.set_viewport_size({"width": 1280, "height": 900})
            pick(page, base, backup, inside)
            page.get_by_label("Without the leading path").check()
            audit(page, "strip-1280-light", problems)
            page.get_by_role("button", name="Toggle dark mode").click()
            shoot(page, "strip-1280-dark")
            audit(page, "strip-1280-dark", problems)
            page.locator("input[name=destinationType][value=original]").check()
            page.locator("input[name=conflict][value=overwrite]").check()
            shoot(page, "original-1280-dark")
            audit(page, "original-1280-dark", problems)
            page.get_by_role("button", name="Restore to the original location").click()
            expect(page.get_by_role("dialog")).to_be_visible()
            shoot(page, "confirm-1280-dark")
            audit(page, "confirm-1280-dark", problems)
            page.get_by_role("button", name="Cancel").click()
            page.get_by_role("button", name="Toggle dark mode").click()
            audit(page, "original-1280-light", problems)
            page.set_viewport_size({"width": 390, "height": 844})
            audit(page, "original-390-light", problems)
            shoot(page, "original-390-light")

            # 3. Chinese.
            page.evaluate("() => localStorage.setItem('bastion.lang', 'zh-CN')")
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900 if width == 1280 else 844})
                pick(page, base, backup, inside)
                expect(page.locator(".restore-count")).to_have_text(f"将恢复：2 个目录中的 3 个文件，共 {size} B。")
                page.locator("input[name=destinationType][value=original]").check()
                page.locator("input[name=conflict][value=overwrite]").check()
                expect(page.locator(".restore-original")).to_contain_text("每个文件都恢复到备份时所在的位置：/（中心）。")
                shoot(page, f"original-{width}-zh")
                page.get_by_role("button", name="恢复到原位置").click()
                dialog = page.get_by_role("dialog", name="覆盖原位置上的文件？")
                expect(dialog).to_contain_text("快照中的 3 个文件将替换 /（中心）下的现有内容。")
                shoot(page, f"confirm-{width}-zh")
                dialog.get_by_role("button", name="取消").click()
                page.locator("input[name=destinationType][value=local_fs]").check()
                page.get_by_label("去掉前导路径").check()
                shoot(page, f"strip-{width}-zh")
            page.evaluate("() => localStorage.setItem('bastion.lang', 'en')")

            assert not problems, "\n".join(f"{name}: {rule} {nodes}" for name, rule, nodes in problems)
            assert not page_errors, page_errors
            browser.close()
            ok = True
    finally:
        stop(reversed(processes))
        logs.close()
        if not ok:
            with open(os.path.join(scratch, "processes.log")) as handle:
                sys.stderr.write(handle.read()[-4000:])
    print("ui_restore_where_test: ok")


if __name__ == "__main__":
    main()
