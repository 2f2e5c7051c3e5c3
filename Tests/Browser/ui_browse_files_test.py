#!/usr/bin/env python3
"""Browser test of the snapshot browser's files (docs/ui.md, "Snapshot browser: files, versions, search") against the
real api and worker, in Debian's Chromium.

A tree with a text file that looks like HTML, a PNG, a binary file, Markdown files at two depths and a folder of 300
entries is backed up; then, at 1280 and 390 px, in English and Chinese, light and dark:
- a text file's preview shows its text as text (the HTML in it is not rendered), an image shows through a blob URL,
  a binary file offers only the download; the download (Playwright's) is byte-identical to the source;
- in the folder of 300, the keyboard goes to the last row and Enter opens its versions: the dialog is on screen (not
  below the list), holds the focus, and Escape closes it with the focus back on the row; a version restores into the
  wizard with that one file picked;
- the glob `*.md` finds both Markdown files;
- axe-core finds no serious or critical violation in the preview and the versions dialog.
Screenshots: .build/ui-screenshots/browse-files-*.png

Usage: python3 Tests/Browser/ui_browse_files_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")

TEXT = "# Notes\n\n<b>not bold</b> <script>window.injected = 1</script>\n中文 line\n"

WORDS = {
    "en": {"preview": "Preview", "download": "Download", "restore": "Restore", "close": "Close", "more": "Show more", "search": "Search names",
           "none": "No preview for this file", "selection": "Selection", "versions": "Versions"},
    "zh-CN": {"preview": "预览", "download": "下载", "restore": "恢复", "close": "关闭", "more": "显示更多", "search": "搜索名称",
              "none": "此文件无法预览", "selection": "所选内容", "versions": "版本"},
}

CONFIGS = [("1280-en-light", 1280, 800, "en", "light"), ("390-en-dark", 390, 844, "en", "dark"),
           ("1280-zh-dark", 1280, 800, "zh-CN", "dark"), ("390-zh-light", 390, 844, "zh-CN", "light")]


def png(width, height):
    """A small valid PNG (RGB, a gradient)."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 10 % 256, y * 15 % 256, 128)) for y in range(height))
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


axe = Axe()
serious = []


def audit(page, name):
    results = axe.run(page).response
    for violation in results["violations"]:
        if violation["impact"] in ("serious", "critical"):
            serious.append((name, violation["id"], [node["target"] for node in violation["nodes"]][:5]))


def main():
    scratch = tempfile.mkdtemp(prefix="bbf-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    target = os.path.join(scratch, "target")
    files = {
        "notes/readme.md": TEXT.encode(),
        "notes/dot.png": png(24, 16),
        "notes/data.bin": bytes(range(256)) * 64,
        "docs/sub/guide.md": b"guide\n",
        "docs/plain.txt": b"plain\n",
    }
    for index in range(300):
        files[f"many/f{index:03}.txt"] = f"file {index}\n".encode()
    for name, content in files.items():
        write(os.path.join(source, name), content)
    root = source.strip("/")
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
        processes.append(subprocess.Popen([os.path.join(BIN, "bastion-worker"), *common, "--worker-id", "w"], stdout=logs, stderr=subprocess.STDOUT))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            setup = browser.new_context(viewport={"width": 1280, "height": 800})
            page = setup.new_page()
            set_up_admin(page, base)
            headers = api_headers(page, base)
            spec = {"v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": {"type": "local_dir", "base_dir": target}}
            created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Files", "spec": spec}), headers=headers)
            assert created.status == 201, created.text()
            job = created.json()["id"]
            run = page.request.post(f"{base}/api/jobs/{job}/run", headers=headers).json()["run_id"]
            deadline = time.time() + 90
            while page.request.get(f"{base}/api/runs/{run}").json()["status"] != "success":
                assert time.time() < deadline, "the backup did not finish"
                time.sleep(0.5)
            state = setup.storage_state()
            setup.close()

            def browse(page, directory):
                page.goto(f"{base}/runs/{run}/browse?path={root}" + (f"/{directory}" if directory else ""))
                expect(page.get_by_test_id("entries")).to_be_visible()

            for config, width, height, language, scheme in CONFIGS:
                words = WORDS[language]
                context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme, locale=language,
                                              storage_state=state, accept_downloads=True)
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                try:
                    # A text file: shown as text, the HTML in it as characters.
                    browse(page, "notes")
                    page.locator("tr[data-name='readme.md']").get_by_role("button", name=f"{words['preview']} readme.md").click()
                    preview = page.get_by_test_id("preview")
                    expect(preview.get_by_test_id("preview-text")).to_have_text(TEXT.rstrip("\n"))
                    assert preview.locator("pre b, pre script").count() == 0, "the text was rendered as HTML"
                    assert page.evaluate("window.injected") is None
                    box = preview.bounding_box()
                    assert box and box["y"] >= 0 and box["y"] < height and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box
                    # The download: Playwright's, byte for byte.
                    with page.expect_download() as download:
                        preview.get_by_role("link", name=words["download"]).click()
                    saved = os.path.join(scratch, f"{config}-readme.md")
                    download.value.save_as(saved)
                    assert download.value.suggested_filename == "readme.md", download.value.suggested_filename
                    assert open(saved, "rb").read() == files["notes/readme.md"]
                    audit(page, f"preview-text-{config}")
                    page.screenshot(path=os.path.join(SHOTS, f"browse-files-text-{config}.png"))
                    page.keyboard.press("Escape")
                    expect(preview).to_have_count(0)

                    # An image: through a blob URL of its type, drawn.
                    page.locator("tr[data-name='dot.png']").get_by_role("button", name=f"{words['preview']} dot.png").click()
                    image = page.get_by_test_id("preview").locator("img.preview-image")
                    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
                    page.wait_for_function("() => document.querySelector('img.preview-image')?.naturalWidth === 24")
                    page.screenshot(path=os.path.join(SHOTS, f"browse-files-image-{config}.png"))
                    page.get_by_test_id("preview").get_by_role("button", name=words["close"]).click()

                    # A binary file: only the download, which is byte-identical.
                    page.locator("tr[data-name='data.bin']").get_by_role("button", name=f"{words['preview']} data.bin").click()
                    expect(page.get_by_test_id("preview")).to_contain_text(words["none"])
                    with page.expect_download() as download:
                        page.get_by_test_id("preview").get_by_role("link", name=words["download"]).click()
                    saved = os.path.join(scratch, f"{config}-data.bin")
                    download.value.save_as(saved)
                    assert open(saved, "rb").read() == files["notes/data.bin"]
                    page.keyboard.press("Escape")

                    # 300 entries: the last row by keyboard, Enter opens its versions where the eye is.
                    browse(page, "many")
                    page.get_by_role("button", name=words["more"]).click()
                    rows = page.locator("[data-testid=entries] tbody tr")
                    expect(rows).to_have_count(300)
                    rows.first.locator("input[type=checkbox]").focus()
                    page.keyboard.press("End")
                    last = page.locator("tr[data-name='f299.txt'] input[type=checkbox]")
                    expect(last).to_be_focused()
                    page.keyboard.press("Enter")
                    versions = page.get_by_test_id("versions")
                    expect(versions).to_be_visible()
                    box = versions.bounding_box()
                    assert box and 0 <= box["y"] < height * 0.5, f"the versions dialog is at {box} in a {height} px viewport"
                    assert page.evaluate("() => !!document.activeElement?.closest('[data-testid=versions]')"), "the dialog has the focus"
                    audit(page, f"versions-{config}")
                    page.screenshot(path=os.path.join(SHOTS, f"browse-files-versions-{config}.png"))
                    page.keyboard.press("Escape")
                    expect(versions).to_have_count(0)
                    expect(last).to_be_focused()

                    # A version into the restore wizard, that one file picked.
                    page.keyboard.press("Enter")
                    page.get_by_test_id("versions").get_by_role("button", name=re.compile("^" + words["restore"])).first.click()
                    selection = page.get_by_role("list", name=words["selection"])
                    expect(selection.locator("li")).to_have_count(1)
                    expect(selection).to_contain_text("f299.txt")

                    # The glob.
                    browse(page, "")
                    page.get_by_label(words["search"]).fill("*.md")
                    expect(rows).to_have_count(2)
                    shown = page.eval_on_selector_all("[data-testid=entries] tbody tr", "rows => rows.map(row => row.dataset.name)")
                    assert sorted(shown) == ["guide.md", "readme.md"], shown
                    page.screenshot(path=os.path.join(SHOTS, f"browse-files-glob-{config}.png"))
                    assert not errors, errors
                    print(f"ok {config}: preview text/image/binary, download, versions (position, focus, Escape), restore one, glob")
                finally:
                    context.close()
            browser.close()
        if serious:
            for item in serious:
                print("axe serious/critical:", item)
            sys.exit(1)
        print("ok ui_browse_files_test")
    finally:
        stop(processes)
        logs.close()


if __name__ == "__main__":
    main()
