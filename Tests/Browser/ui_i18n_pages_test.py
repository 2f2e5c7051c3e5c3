#!/usr/bin/env python3
"""Browser test: the settings, job editor, job page (every tab), agents and recovery pages in Simplified Chinese.

Against the real binaries: an encrypted filesystem job with hooks, retention, drills and a weekday schedule backs up
twice (so the job page has history, snapshots, a retention preview and a comparison, and Settings lists its key);
then, with `bastion.lang` = zh-CN, each page must show its Chinese headings and none of the English sentences of the
catalogue's areas for these pages (docs/ui.md, "Languages"). Screenshots of every page at 1280 px light and dark and
at 390 px: .build/ui-screenshots/zh-*.png.

Usage: python3 Tests/Browser/ui_i18n_pages_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")
# The catalogue areas of the pages under test (web/src/i18n/en.ts): their keys start with these.
PREFIXES = ("agents.", "recovery.", "settings.", "job.", "jobForm.", "schedule.", "common.a.")


def catalogue(name):
    """key -> text of a catalogue file (each entry is `"key": "text",` or split over two lines)."""
    text = open(os.path.join(ROOT, "web", "src", "i18n", name), encoding="utf-8").read()
    return {key: json.loads(value) for key, value in re.findall(r'^\s*"([\w.]+)":\s*("(?:[^"\\]|\\.)*"),?$', text, re.M)}


def english_phrases():
    """The English sentences of these pages that a Chinese page must not show: each key's longest literal piece
    (between `{placeholders}`) of at least 12 characters with a space, where the Chinese differs."""
    english, chinese = catalogue("en.ts"), catalogue("zh-CN.ts")
    phrases = set()
    for key, text in english.items():
        if not key.startswith(PREFIXES) or chinese.get(key) == text:
            continue
        piece = max(re.split(r"\{\w+\}", text), key=len).strip(" ,.;:()")
        if len(piece) >= 12 and " " in piece:
            phrases.add(piece)
    return phrases


def main():
    scratch = tempfile.mkdtemp(prefix="bui18n-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    os.makedirs(os.path.join(source, "docs"))
    for index in range(20):
        with open(os.path.join(source, "docs", f"note-{index:02}.txt"), "w") as handle:
            handle.write(f"note {index}\n" * (index + 1))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    common = ["--data-dir", data, "--log-level", "warning"]
    api = subprocess.Popen(
        [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")], stdout=logs, stderr=subprocess.STDOUT
    )
    worker = None
    os.makedirs(SHOTS, exist_ok=True)
    phrases = english_phrases()
    assert len(phrases) > 100, f"only {len(phrases)} phrases read from the catalogue"
    try:
        wait_ready(base)
        worker = subprocess.Popen([os.path.join(BIN, "bastion-worker"), *common, "--worker-id", "i18n-worker"], stdout=logs, stderr=subprocess.STDOUT)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            set_up_admin(page, base)
            headers = api_headers(page, base)
            spec = {
                "v": 1,
                "type": "filesystem",
                "source": {"paths": [source], "exclude": ["*.tmp"]},
                "target": {"type": "local_dir", "base_dir": os.path.join(scratch, "target")},
                "pipeline": {"encryption": {"type": "age_x25519", "key_name": "offsite"}},
                "retention": {"enabled": True, "keep_last": 1},
                "hooks": {"before": [{"argv": ["/bin/true"]}], "continue_on_before_failure": True},
                "drills": {"enabled": True, "schedule": "0 5 * * 6", "pick": "random", "test_restore": False},
            }
            body = {"name": "文档", "schedule": "*/15 9-17 * * 1-5", "spec": spec}
            created = page.request.post(base + "/api/jobs", data=json.dumps(body), headers=headers)
            assert created.status == 201, created.text()
            job = created.json()["id"]
            secret = page.request.put(base + "/api/secrets/webdav/nas", data=json.dumps({"username": "ann", "password": "pw", "url": "https://nas.example/dav/"}), headers=headers)
            assert secret.ok, secret.text()
            for backup in range(2):
                run = page.request.post(f"{base}/api/jobs/{job}/run", headers=headers).json()["run_id"]
                deadline = time.time() + 60
                while page.request.get(f"{base}/api/runs/{run}").json()["status"] not in ("success", "failed"):
                    assert time.time() < deadline, "the backup did not end"
                    time.sleep(0.2)
                assert page.request.get(f"{base}/api/runs/{run}").json()["status"] == "success"
                with open(os.path.join(source, "docs", f"added-{backup}.txt"), "w") as handle:
                    handle.write("added\n")

            # Chinese from here on: the stored choice, as the top bar's switch leaves it.
            page.evaluate("localStorage.setItem('bastion.lang', 'zh-CN')")
            pages = [
                # The settings tabs (docs/ui.md, "Settings pages"): one route, `?tab=` for each.
                ("settings", "/settings", ["设置", "目标凭据", "WebDAV 账户", "通知", "维护：未完成的运行"]),
                ("settings-notifications", "/settings?tab=notifications", ["消息模板"]),
                ("settings-keys", "/settings?tab=keys", ["加密密钥与灾难恢复", "密钥 offsite"]),
                ("settings-system", "/settings?tab=system", ["系统"]),
                ("job-new", "/jobs/new", ["新建任务", "基本信息", "调度计划", "备份源", "目标与安全", "通知与保留策略", "副本（其他目标）", "恢复演练", "创建任务"]),
                ("job-edit", f"/jobs/{job}/edit", ["编辑 文档", "前后执行的命令（钩子）", "删除旧快照", "定期验证备份能够恢复"]),
                ("job-overview", f"/jobs/{job}", ["立即备份", "任务内容", "健康状况", "工作日 09:00–17:59 每 15 分钟", "最近 1 个快照"]),
                ("job-history", f"/jobs/{job}?tab=history", ["开始时间", "耗时", "备份"]),
                ("job-snapshots", f"/jobs/{job}?tab=snapshots", ["对比勾选的两个", "创建时间", "可用", "浏览", "校验"]),
                ("job-retention", f"/jobs/{job}?tab=retention", ["将删除（1）", "保留（1）", "保留原因：最近 1 个之一", "立即执行"]),
                ("job-compare", f"/jobs/{job}?tab=compare", ["从", "全部变化", "新增 1"]),
                ("agents", "/agents", ["添加代理", "生成注册令牌", "还没有代理。"]),
                ("recovery", "/recovery", ["从目标恢复", "扫描目标", "本机目录"]),
            ]
            problems = []
            for viewport, scheme, suffix in (((1280, 900), "light", "1280"), ((1280, 900), "dark", "1280-dark"), ((390, 844), "light", "390")):
                page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
                page.emulate_media(color_scheme=scheme)
                for name, path, expected in pages:
                    page.goto(base + path)
                    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
                    for text in expected:
                        expect(page.locator("main")).to_contain_text(text)
                    shown = page.locator("main").inner_text()
                    left = sorted(phrase for phrase in phrases if phrase in shown)
                    if left:
                        problems.append(f"{name} ({suffix}): English left: {left}")
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    if wide > viewport[0] + 1:
                        print(f"note: {name} at {suffix} is {wide} px wide")
                    page.screenshot(path=os.path.join(SHOTS, f"zh-{name}-{suffix}.png"), full_page=True)
            assert not problems, "\n".join(problems)
            assert not page_errors, page_errors
            browser.close()
        print(f"ok: {len(pages)} pages in zh-CN at 1280 (light, dark) and 390 px, {len(phrases)} English phrases absent; screenshots in {SHOTS}")
    finally:
        stop([worker, api])
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
