#!/usr/bin/env python3
"""Accessibility and names in the web UI, against the real api, worker and janitor, in Debian's Chromium.

1. axe-core (PyPI axe-playwright-python) audits EVERY page in the light and the dark theme at 1280 px, and in the light
   theme at 390 px: setup, login, overview, jobs, the job page's tabs, the job editor (new and edit), runs, a backup's
   and a restore's run page, browse, the versions dialog, the restore wizard, agents, settings (and its tabs), recovery.
   It prints the violations by impact per page and fails on any serious or critical one (each printed with its nodes).
2. Names: a directory holding a 250-byte name, a name with a newline and two names that are not UTF-8 and differ in
   one byte (\\xE9\\xFF, \\xE9\\xFE): at 1280 and 390 px every column of the entries table is inside the viewport, the
   page does not scroll sideways, the names show distinct readable texts (⏎, \\xE9\\xFF, \\xE9\\xFE), the long one whole
   in its title, and Copy name puts the API's form on the clipboard (the text, or the base64 bytes).
3. Keyboard only: Tab into the list, Space picks, Shift+↓ extends, Enter opens the versions dialog (focus inside, Tab
   stays inside, Escape closes and gives focus back), then Restore selected and the wizard are driven by keys and the
   restore's files are on disk.

Screenshots: .build/ui-screenshots/a11y-<page>-<1280-light|1280-dark|390-light>.png.
Set A11Y_REPORT_ONLY=1 to print the audit's figures without failing and without parts 2 and 3 (for a "before" figure).

Usage: python3 Tests/Browser/ui_a11y_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from harness import PASSWORD, ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
REPORT_ONLY = os.environ.get("A11Y_REPORT_ONLY") == "1"
LONG = ("n" * 251 + ".txt").encode()  # 255 bytes: NAME_MAX
NEWLINE = b"line1\nline2.txt"
FF = b"\xe9\xff"
FE = b"\xe9\xfe"
CONFIGS = [("1280-light", 1280, 800, "light"), ("1280-dark", 1280, 800, "dark"), ("390-light", 390, 844, "light")]
axe = Axe()
figures = {}  # page -> config -> Counter(impact)
serious = []  # (page, config, violation)
lesser = Counter()  # "impact id" of moderate and minor violations -> how many pages show it


def settle(page):
    """Waits until the page has loaded what it shows (no "Loading…" left) before it is audited."""
    page.wait_for_load_state("networkidle")
    try:
        page.wait_for_function("() => !document.body.innerText.includes('Loading…')", timeout=10000)
    except Exception:
        pass
    page.wait_for_timeout(150)


def audit(page, name, config):
    settle(page)
    results = axe.run(page).response
    counts = Counter(violation["impact"] for violation in results["violations"])
    figures.setdefault(name, {})[config] = counts
    for violation in results["violations"]:
        if violation["impact"] in ("serious", "critical"):
            serious.append((name, config, violation))
        else:
            lesser[f"{violation['impact']} {violation['id']}"] += 1
    page.screenshot(path=os.path.join(SHOTS, f"a11y-{name}-{config}.png"), full_page=True)


def wait_run(page, base, run_id, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = page.request.get(f"{base}/api/runs/{run_id}").json()["status"]
        if status not in ("queued", "running"):
            assert status == "success", f"run {run_id}: {status}"
            return
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish")


def focused(page):
    return page.evaluate(
        """() => { const e = document.activeElement; return e ? { tag: e.tagName, type: e.type || null, name: e.name || null,
             text: (e.innerText || '').trim(), label: e.getAttribute('aria-label'),
             row: e.closest('[data-testid=entries] tbody tr') ? [...e.closest('tbody').children].indexOf(e.closest('tr')) : null,
             inDialog: !!e.closest('[role=dialog]') } : null }"""
    )


def tab_until(page, predicate, key="Tab", limit=80):
    for _ in range(limit):
        page.keyboard.press(key)
        if predicate(focused(page)):
            return
    raise AssertionError(f"{key} never reached the element wanted; last {focused(page)}")


def check_credentials_header(page, config):
    """The empty credentials table's header reads as words apart, not one run-on line. 1 when the table is here."""
    if page.locator("table[aria-label='Target credentials'] thead tr").count() == 0:
        return 0
    gaps = page.eval_on_selector(
        "table[aria-label='Target credentials'] thead tr",
        """row => [...row.children].map(cell => { const range = document.createRange(); range.selectNodeContents(cell);
             const box = range.getBoundingClientRect(); return [box.left, box.right] })
           .filter(box => box[1] > box[0]).map((box, index, all) => index ? box[0] - all[index - 1][1] : 99)""",
    )
    assert min(gaps) >= 8, f"{config}: credentials header words {gaps} px apart"
    return 1


def check_names(page, viewport_width, config):
    """The weird names show distinct readable texts and every column stays inside the viewport."""
    rows = page.locator("[data-testid=entries] tbody tr")
    shown = page.eval_on_selector_all(
        "[data-testid=entries] tbody td:nth-child(2) > .name, [data-testid=entries] tbody td:nth-child(2) > a > .name",
        "names => names.map(name => ({ text: name.innerText, title: name.title }))",
    )
    texts = [item["text"] for item in shown]
    for wanted in ["line1⏎line2.txt", "\\xE9\\xFF", "\\xE9\\xFE", LONG.decode()]:
        assert wanted in texts, f"{config}: {wanted!r} not among {texts}"
    assert len(set(texts)) == len(texts), f"{config}: two names read the same: {texts}"
    long_title = next(item["title"] for item in shown if item["text"] == LONG.decode())
    assert long_title == LONG.decode(), "the long name is whole in its title"
    boxes = page.eval_on_selector_all(
        "[data-testid=entries] tr",
        """rows => rows.map(row => [...row.children].map(cell => { const box = cell.getBoundingClientRect();
             return getComputedStyle(cell).display === 'none' ? null : [Math.round(box.left), Math.round(box.right)] }))""",
    )
    for row in boxes:
        for box in row:
            if box is not None:
                assert box[0] >= 0 and box[1] <= viewport_width, f"{config}: a column at {box} leaves the {viewport_width} px viewport"
    # Sizes line up in one column on every row (the table keeps its columns), and nothing scrolls sideways.
    size_lefts = {row[2][0] for row in boxes[1:] if len(row) > 2 and row[2] is not None}
    assert len(size_lefts) == 1, f"{config}: the size column is not one column: {size_lefts}"
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.eval_on_selector_all(
        "body *", f"items => items.filter(item => item.getBoundingClientRect().right > {viewport_width}).map(item => item.tagName + '.' + item.className).slice(0, 6)"
    )
    assert scroll <= viewport_width, f"{config}: the page is {scroll} px wide in a {viewport_width} px viewport: {wide}"
    print(f"names {config}: {len(texts)} rows, columns inside {viewport_width} px, texts {sorted(texts, key=len)[:4]}")
    return rows


def main():
    scratch = tempfile.mkdtemp(prefix="bay-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    target = os.path.join(scratch, "target")
    os.makedirs(os.path.join(source, "docs"))
    for name, body in {b"notes.md": b"# notes\n", b"docs/readme.txt": b"read me\n"}.items():
        with open(os.path.join(source.encode(), name), "wb") as handle:
            handle.write(body)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    processes = []
    os.makedirs(SHOTS, exist_ok=True)
    ok = False
    try:
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.environ.get("BASTION_UI_DIR", os.path.join(ROOT, "Public"))], stdout=logs, stderr=subprocess.STDOUT
        ))
        wait_ready(base)
        for name, arguments in [("bastion-worker", ["--worker-id", "a11y-worker"]), ("bastion-janitor", [])]:
            processes.append(subprocess.Popen([os.path.join(BIN, name), *common, *arguments], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            contexts = {}
            for config, width, height, scheme in CONFIGS:
                contexts[config] = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
            page_errors = []
            pages = {config: context.new_page() for config, context in contexts.items()}
            for page in pages.values():
                page.on("pageerror", lambda error: page_errors.append(str(error)))
            # Setup: before there is an admin, in every configuration; then the admin is made in the first.
            for config, page in pages.items():
                page.goto(base + "/setup")
                expect(page.get_by_role("heading", name="Welcome to Bastion")).to_be_visible()
                audit(page, "setup", config)
            first = pages["1280-light"]
            set_up_admin(first, base)
            headers = api_headers(first, base)
            spec = {"v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": {"type": "local_dir", "base_dir": target}}
            created = first.request.post(base + "/api/jobs", data=json.dumps({"name": "Names", "schedule": "0 3 * * *", "spec": spec}), headers=headers)
            assert created.status == 201, created.text()
            job = created.json()["id"]
            earlier = first.request.post(f"{base}/api/jobs/{job}/run", headers=headers).json()["run_id"]
            wait_run(first, base, earlier)
            # The second backup adds the names (Compare lists them as added).
            for name, body in {LONG: b"long\n", NEWLINE: b"newline\n", FF: b"ff\n", FE: b"fe\n"}.items():
                with open(os.path.join(source.encode(), name), "wb") as handle:
                    handle.write(body)
            backup = first.request.post(f"{base}/api/jobs/{job}/run", headers=headers).json()["run_id"]
            wait_run(first, base, backup)
            restored_all = os.path.join(scratch, "restored-all")
            restore = first.request.post(
                f"{base}/api/runs/{backup}/restore", data=json.dumps({"destination": {"type": "local_fs", "directory": restored_all}}), headers=headers
            )
            assert restore.status in (200, 201, 202), restore.text()
            restore_run = restore.json()["run_id"]
            wait_run(first, base, restore_run)
            inside = source.strip("/")

            # Login: signed out, in every configuration; then each signs in through the page.
            for config, page in pages.items():
                page.context.clear_cookies()
                page.goto(base + "/login")
                expect(page.locator("input[name=password]")).to_be_visible()
                audit(page, "login", config)
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.locator("form button[type=submit]").click()
                expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()

            every = [
                ("overview", "/"),
                ("jobs", "/jobs"),
                ("job-overview", f"/jobs/{job}"),
                ("job-history", f"/jobs/{job}?tab=history"),
                ("job-snapshots", f"/jobs/{job}?tab=snapshots"),
                ("job-retention", f"/jobs/{job}?tab=retention"),
                ("job-compare", f"/jobs/{job}?tab=compare"),
                ("job-new", "/jobs/new"),
                ("job-edit", f"/jobs/{job}/edit"),
                ("runs", "/runs"),
                ("run-backup", f"/runs/{backup}"),
                ("run-restore", f"/runs/{restore_run}"),
                ("browse", f"/runs/{backup}/browse?path={inside}"),
                ("restore-wizard", f"/runs/{backup}/restore?all=1"),
                ("agents", "/agents"),
                ("settings", "/settings"),
                ("recovery", "/recovery"),
            ]
            credentials_checked = 0
            for config, page in pages.items():
                for name, path in every:
                    page.goto(base + path)
                    audit(page, name, config)
                    if name == "run-backup":
                        expect(page.get_by_test_id("connection")).to_have_text("ended")  # a finished run is not "live"
                    if name == "job-overview":
                        # The tab strip is whole on a phone (it wraps; nothing is cut or scrolled away).
                        width = page.viewport_size["width"]
                        rights = page.eval_on_selector_all("nav.tabs a", "links => links.map(link => link.getBoundingClientRect().right)")
                        assert len(rights) == 5 and max(rights) <= width, f"{config}: tabs end at {rights}"
                        assert page.eval_on_selector("nav.tabs", "nav => nav.scrollWidth <= nav.clientWidth"), f"{config}: the tab strip scrolls"
                    if name == "settings":
                        credentials_checked += check_credentials_header(page, config)
                    if name == "browse":
                        page.locator("tr[data-name='notes.md']").get_by_role("button", name="Versions").click()
                        expect(page.get_by_role("dialog")).to_be_visible()
                        audit(page, "versions-dialog", config)
                        page.keyboard.press("Escape")
                    if name == "settings":
                        # Settings' own tabs, when it has them.
                        tabs = page.eval_on_selector_all(".settings nav.tabs a, nav.tabs[aria-label] a", "links => links.map(link => link.getAttribute('href'))")
                        for href in tabs:
                            if href and href != "/settings":
                                page.goto(base + href)
                                audit(page, "settings-" + href.split("=")[-1].split("/")[-1], config)
                                credentials_checked += check_credentials_header(page, config)

            assert credentials_checked >= len(pages), "the credentials table was found in settings in every configuration"
            print("\naxe-core violations by impact (critical / serious / moderate / minor):")
            for name, by_config in figures.items():
                cells = []
                for config, counts in by_config.items():
                    cells.append(f"{config} {counts['critical']}/{counts['serious']}/{counts['moderate']}/{counts['minor']}")
                print(f"  {name:18} " + "  ".join(cells))
            print("  moderate and minor (not failing), pages x configurations:", dict(lesser))
            for name, config, violation in serious:
                nodes = "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"]) for node in violation["nodes"][:4])
                print(f"SERIOUS {name} {config}: [{violation['impact']}] {violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes: {nodes})")
                for node in violation["nodes"][:2]:
                    print(f"    {node.get('failureSummary', '').splitlines()[-1] if node.get('failureSummary') else ''} :: {node['html'][:160]}")
            if REPORT_ONLY:
                ok = True
                return
            assert not serious, f"{len(serious)} serious or critical violations (above)"

            # Names at 1280 and at 390 px.
            for config in ("1280-light", "390-light"):
                page = pages[config]
                page.goto(f"{base}/runs/{backup}/browse?path={inside}")
                expect(page.get_by_test_id("entries")).to_be_visible()
                check_names(page, 1280 if config.startswith("1280") else 390, config)
                page.screenshot(path=os.path.join(SHOTS, f"names-{config}.png"), full_page=True)
                # The same in Chinese (the language is remembered in localStorage), with the versions dialog open.
                page.evaluate("() => localStorage.setItem('bastion.lang', 'zh-CN')")
                page.reload()
                expect(page.get_by_test_id("entries")).to_be_visible()
                check_names(page, 1280 if config.startswith("1280") else 390, config + "-zh")
                page.screenshot(path=os.path.join(SHOTS, f"names-{config}-zh.png"), full_page=True)
                page.locator("tr[data-name='notes.md']").locator("td.actions button:not([data-copy])").last.click()  # Versions, after Preview
                page.screenshot(path=os.path.join(SHOTS, f"names-versions-{config}-zh.png"), full_page=True)
                page.keyboard.press("Escape")
                page.evaluate("() => localStorage.setItem('bastion.lang', 'en')")
                page.reload()
                expect(page.get_by_test_id("entries")).to_be_visible()
            # Compare: the four added names read differently, and nothing scrolls sideways at 390 px.
            for config in ("1280-light", "390-light"):
                page = pages[config]
                page.goto(f"{base}/jobs/{job}?tab=compare")
                expect(page.get_by_test_id("totals")).to_contain_text("4")
                texts = page.eval_on_selector_all("[data-testid=changes] tr .name", "names => names.map(name => name.innerText.split('/').pop())")
                for wanted in ["line1⏎line2.txt", "\\xE9\\xFF", "\\xE9\\xFE", LONG.decode()]:
                    assert wanted in texts, f"compare {config}: {wanted!r} not among {texts}"
                width = 1280 if config.startswith("1280") else 390
                assert page.evaluate("() => document.documentElement.scrollWidth") <= width, f"compare {config} scrolls sideways"
                page.screenshot(path=os.path.join(SHOTS, f"names-compare-{config}.png"), full_page=True)
            page = pages["1280-light"]
            page.goto(f"{base}/runs/{backup}/browse?path={inside}")
            expect(page.get_by_test_id("entries")).to_be_visible()
            page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            for name, wanted in [(FF, base64.b64encode(FF).decode()), (NEWLINE, NEWLINE.decode())]:
                readable = "\\xE9\\xFF" if name == FF else "line1⏎line2.txt"
                page.get_by_role("button", name=f"Copy the name {readable}").click()
                assert page.evaluate("() => navigator.clipboard.readText()") == wanted, f"copy of {readable}"
            print("copy: \\xE9\\xFF gives", base64.b64encode(FF).decode(), "and the newline name its text")
            # A non-UTF-8 file's versions are read by its bytes: added in the second backup, not in the first; the readable name.
            page.locator("[data-testid=entries] tbody tr", has=page.locator(".name[data-readable='\\\\xE9\\\\xFF']")).get_by_role("button", name="Versions").click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text("\\xE9\\xFF")
            expect(dialog.locator("tbody tr")).to_have_count(2)
            expect(dialog.locator("tbody tr").nth(0)).to_contain_text("added")
            expect(dialog.locator("tbody tr").nth(1)).to_contain_text("not there")
            page.keyboard.press("Escape")

            # Keyboard only: into the list, pick, extend, versions dialog, restore wizard.
            page.goto(f"{base}/runs/{backup}/browse?path={inside}")
            expect(page.get_by_test_id("entries")).to_be_visible()
            page.locator("body").focus()
            tab_until(page, lambda item: item and item["row"] is not None and item["type"] == "checkbox")
            assert focused(page)["row"] == 0, "Tab enters the list on its first row"
            page.keyboard.press("ArrowDown")
            assert focused(page)["row"] == 1
            page.keyboard.press("Space")
            expect(page.get_by_role("button", name="Restore selected (1)")).to_be_enabled()
            page.keyboard.press("Shift+ArrowDown")
            page.keyboard.press("Shift+ArrowDown")
            expect(page.get_by_role("button", name="Restore selected (3)")).to_be_enabled()
            assert focused(page)["row"] == 3
            picked = page.eval_on_selector_all("[data-testid=entries] tbody tr.picked td:nth-child(2) .name", "names => names.map(name => name.dataset.readable)")
            assert len(picked) == 3, picked
            # Enter on a file row opens its versions: focus is in the dialog and stays there; Escape gives it back.
            while page.evaluate("() => document.activeElement.closest('tr').querySelector('button[data-copy]') && !document.activeElement.closest('tr').querySelector('td.actions button:not([data-copy])')"):
                page.keyboard.press("ArrowDown")
            row = focused(page)["row"]
            page.keyboard.press("Enter")
            dialog = page.get_by_role("dialog")
            expect(dialog).to_be_visible()
            assert focused(page)["inDialog"], "focus moves into the dialog"
            for key in ["Tab"] * 9 + ["Shift+Tab"] * 9:
                page.keyboard.press(key)
                assert focused(page)["inDialog"], f"{key} left the dialog"
            page.keyboard.press("Escape")
            expect(dialog).to_have_count(0)
            assert focused(page)["row"] == row, "focus returns to the row"
            tab_until(page, lambda item: item and item["text"] == "Restore selected (3)", key="Shift+Tab")
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name="Restore")).to_be_visible()
            tab_until(page, lambda item: item and item["name"] == "destination")
            picked_out = os.path.join(scratch, "restored-by-keys")
            page.keyboard.type(picked_out)
            tab_until(page, lambda item: item and item["text"] == "Start restore")
            page.keyboard.press("Enter")
            expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
            restored = sorted(os.listdir(os.path.join(picked_out.encode(), inside.encode())))
            assert len(restored) == 3 and all(os.path.exists(os.path.join(source.encode(), name)) for name in restored), restored
            print("keyboard: Tab, ↓, Space, Shift+↓ ×2, Enter (versions), Tab ×9 / Shift+Tab ×9 inside, Escape, Restore selected, wizard:", len(restored), "restored")
            assert not page_errors, page_errors
            ok = True
    finally:
        stop(reversed(processes))
        logs.close()
        if ok:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept {scratch} (processes.log)", file=sys.stderr)
    print("ui_a11y_test: OK" if not REPORT_ONLY else "ui_a11y_test: report only")


if __name__ == "__main__":
    main()
