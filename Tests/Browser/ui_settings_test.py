#!/usr/bin/env python3
"""Settings, complete (issue #27 item 1), in Debian's Chromium against the real binaries and a small real HTTP
server standing in for a webhook receiver. Each page is driven as a person would:

- Notifications: the global and per-channel switches; a webhook destination created in the form and pointed at the
  receiver; Test shows the receiver's acceptance, then (receiver answering 500) its refusal with the answer; a failed
  backup's notification that the receiver refused appears in the delivery queue (filtered by channel and status),
  Retry now sends it once the receiver accepts again; a second one is canceled; the template preview shows a sample.
- Keys: a key created by name; Export… asks first (the confirmation says it reveals the private key and shows the
  `age -d -i` command), then shows the identity, which decrypts with plain `age` what was encrypted to the key.
- System: versions, hub time zone, database and WAL size, the running worker and janitor, the OpenAPI and metrics
  links, and the runtime settings with their sources: the port from a flag, the hub time zone and the janitor's
  retention days from the environment, the rest defaults.

Screenshots (1280 light, 1280 dark, 390; English and Chinese): .build/ui-screenshots/settings-*.png."""
import http.server
import json
import os
import subprocess
import tempfile
import threading
import time

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")


class Receiver(http.server.BaseHTTPRequestHandler):
    """The webhook receiver: records each POST and answers 200, or 500 with a message while `failing`."""

    received = []
    failing = False

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        Receiver.received.append({"path": self.path, "body": body})
        status, answer = (500, b"receiver is down for maintenance") if Receiver.failing else (200, b"thanks")
        self.send_response(status)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def poll(what, check, timeout=90):
    """Calls check until it returns a true value; the timeout only bounds a wait for background work."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def shots(page, name):
    """1280 light, 1280 dark and 390 (light) of the whole page."""
    page.screenshot(path=os.path.join(SHOTS, f"settings-{name}-1280-light.png"), full_page=True)
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    page.screenshot(path=os.path.join(SHOTS, f"settings-{name}-1280-dark.png"), full_page=True)
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(SHOTS, f"settings-{name}-390.png"), full_page=True)
    # Each card on its own too: a whole page at 390 px is too long to read in one picture.
    for index, card in enumerate(page.locator("section.card").all()):
        card.screenshot(path=os.path.join(SHOTS, f"settings-{name}-390-card{index}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def main():
    scratch = tempfile.mkdtemp(prefix="bsettings-")
    data, target = os.path.join(scratch, "data"), os.path.join(scratch, "target")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    logs = open(os.path.join(scratch, "processes.log"), "w")
    os.makedirs(SHOTS, exist_ok=True)
    processes = []
    # One value from a flag (--port), one from the environment (the hub time zone; the janitor's retention days).
    environment = dict(os.environ, BASTION_HUB_TIMEZONE="Asia/Shanghai", BASTION_RUN_RETENTION_DAYS="90")
    common = ["--data-dir", data, "--log-level", "warning"]
    try:
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "bastion-api"), *common, "--port", str(port), "--ui-dir", os.path.join(ROOT, "Public")],
            stdout=logs, stderr=subprocess.STDOUT, env=environment))
        wait_ready(base)
        processes.append(subprocess.Popen([os.path.join(BIN, "bastion-worker"), *common, "--worker-id", "settings-worker"],
                                          stdout=logs, stderr=subprocess.STDOUT, env=environment))
        processes.append(subprocess.Popen([os.path.join(BIN, "bastion-janitor"), *common], stdout=logs, stderr=subprocess.STDOUT, env=environment))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
            page = context.new_page()
            page_errors = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            set_up_admin(page, base)
            headers = api_headers(page, base)

            # ── Notifications: the switches.
            page.goto(base + "/settings")
            page.get_by_role("link", name="Notifications").click()
            expect(page.get_by_role("heading", name="Sending")).to_be_visible()
            page.locator("input[name=channel-ntfy]").uncheck()
            poll("the ntfy switch saved", lambda: page.request.get(base + "/api/notifications/settings").json()["channels"]["ntfy"]["enabled"] is False)
            page.locator("input[name=notifyEnabled]").uncheck()
            expect(page.get_by_text("Notifications are off")).to_be_visible()
            poll("the global switch saved", lambda: page.request.get(base + "/api/notifications/settings").json()["enabled"] is False)
            page.locator("input[name=notifyEnabled]").check()
            page.locator("input[name=channel-ntfy]").check()
            poll("both switches on", lambda: (lambda s: s["enabled"] and s["channels"]["ntfy"]["enabled"])(page.request.get(base + "/api/notifications/settings").json()))

            # A webhook destination, created in its form.
            form = page.get_by_role("form", name="Webhook")
            form.locator("input[name=webhookName]").fill("ops-hook")
            form.locator("input[name=webhookUrl]").fill(hook_url)
            form.get_by_role("button", name="Save").click()
            row = page.locator('tr[data-destination="webhook/ops-hook"]')
            expect(row).to_be_visible()
            listed = page.request.get(base + "/api/notifications/destinations").json()
            assert [(item["channel"], item["name"], item["enabled"]) for item in listed] == [("webhook", "ops-hook", True)], listed

            # Test: accepted, then refused with the receiver's answer.
            row.get_by_role("button", name="Test").click()
            expect(row.get_by_test_id("test-result")).to_contain_text("Delivered")
            assert len(Receiver.received) == 1 and Receiver.received[0]["path"] == "/hook", Receiver.received
            Receiver.failing = True
            row.get_by_role("button", name="Test").click()
            expect(row.get_by_test_id("test-result")).to_contain_text("Not delivered")
            expect(row.get_by_test_id("test-result")).to_contain_text("HTTP 500: receiver is down for maintenance")
            shots(page, "notifications")

            # A failed backup notifies the webhook; the receiver refuses: the queue shows it, Retry now sends it.
            spec = {"v": 1, "type": "filesystem", "source": {"paths": ["/nonexistent/bastion-settings"]},
                    "target": {"type": "local_dir", "base_dir": target}}
            created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Broken box", "spec": spec}), headers=headers)
            assert created.status == 201, created.text()
            job = created.json()["id"]

            def refused_notification():
                items = page.request.get(base + "/api/notifications/queue?channel=webhook").json()["items"]
                return next((item for item in items if item["attempts"] >= 1 and item["status"] == "queued" and item["last_error"]), None)

            page.request.post(f"{base}/api/jobs/{job}/run", headers=headers)
            first = poll("the refused notification", refused_notification)
            page.locator("select[name=queueChannel]").select_option("webhook")
            page.locator("select[name=queueStatus]").select_option("queued")
            queued = page.locator(f'tr[data-notification="{first["id"]}"]')
            expect(queued).to_be_visible()
            expect(queued).to_contain_text("queued")
            expect(queued).to_contain_text("HTTP 500: receiver is down for maintenance")
            expect(queued).to_contain_text("ops-hook")
            page.locator("select[name=queueStatus]").select_option("sent")
            expect(queued).to_have_count(0)
            page.locator("select[name=queueStatus]").select_option("")
            shots(page, "queue")
            Receiver.failing = False
            before = len(Receiver.received)
            queued.get_by_role("button", name="Retry now").click()
            poll("the retried notification sent",
                 lambda: page.request.get(base + "/api/notifications/queue?status=sent").json()["items"])
            assert len(Receiver.received) == before + 1, Receiver.received
            assert json.loads(Receiver.received[-1]["body"]).get("job_name") == "Broken box" or "Broken box" in Receiver.received[-1]["body"]
            page.get_by_role("button", name="Refresh").click()
            expect(queued).to_have_attribute("data-status", "sent")
            expect(queued.get_by_role("button", name="Retry now")).to_have_count(0)

            # A second refused notification, canceled.
            Receiver.failing = True
            page.request.post(f"{base}/api/jobs/{job}/run", headers=headers)
            second = poll("a second refused notification", lambda: (lambda item: item if item and item["id"] != first["id"] else None)(refused_notification()))
            page.get_by_role("button", name="Refresh").click()
            pending = page.locator(f'tr[data-notification="{second["id"]}"]')
            pending.get_by_role("button", name="Cancel").click()
            expect(pending).to_have_attribute("data-status", "canceled")
            stored = page.request.get(base + "/api/notifications/queue?status=canceled").json()["items"]
            assert [item["id"] for item in stored] == [second["id"]], stored
            Receiver.failing = False

            # The template preview: a sample filled in, the variables listed.
            expect(page.get_by_test_id("preview-variables")).to_contain_text("{{job_name}}")
            expect(page.get_by_test_id("template-preview").first).to_contain_text("nas-photos")
            page.locator("select[name=previewTemplate]").select_option("wecom")
            expect(page.get_by_test_id("template-preview").first).to_contain_text("> Job: nas-photos")

            # ── Keys: create one, export it behind the confirmation, decrypt with plain age.
            page.get_by_role("link", name="Encryption keys").click()
            page.locator("input[name=keyName]").fill("offsite-test")
            page.get_by_role("button", name="Create key").click()
            key_row = page.locator('tr[data-key-row="offsite-test"]')
            expect(key_row).to_contain_text("age1")
            recipient = key_row.locator(".recipient").inner_text().strip()
            again = page.request.post(base + "/api/keys", data=json.dumps({"name": "offsite-test"}), headers=headers)
            assert again.status == 409 and again.json()["error"] == "key_exists", again.text()
            key_row.get_by_role("button", name="Export…").click()
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text("This shows the private key")
            expect(dialog).to_contain_text("age -d -i key.txt")
            page.keyboard.press("Escape")
            expect(dialog).to_have_count(0)
            expect(page.get_by_test_id("exported-identity")).to_have_count(0)
            key_row.get_by_role("button", name="Export…").click()
            shots(page, "keys-confirm")
            page.get_by_role("dialog").get_by_role("button", name="Show the private key").click()
            identity = page.get_by_test_id("exported-identity").inner_text().strip()
            assert identity.startswith("AGE-SECRET-KEY-1"), identity
            key_file = os.path.join(scratch, "key.txt")
            with open(key_file, "w") as out:
                out.write(identity + "\n")
            sealed = subprocess.run(["age", "-r", recipient], input=b"only the key opens this\n", capture_output=True, check=True).stdout
            opened = subprocess.run(["age", "-d", "-i", key_file], input=sealed, capture_output=True, check=True).stdout
            assert opened == b"only the key opens this\n", opened
            shots(page, "keys")

            # ── System: figures, processes, runtime sources.
            page.get_by_role("link", name="System").click()
            expect(page.get_by_test_id("system-timezone")).to_have_text("Asia/Shanghai")
            expect(page.get_by_test_id("system-version")).to_contain_text("Bastion")
            expect(page.get_by_test_id("system-database")).to_contain_text("bastion.db")
            expect(page.get_by_test_id("system-database")).to_contain_text("WAL")
            expect(page.locator('tr[data-peer="settings-worker"]')).to_contain_text("worker")
            expect(page.locator("tr[data-peer^=janitor-]")).to_contain_text("janitor")
            expect(page.get_by_role("link", name="OpenAPI document")).to_have_attribute("href", "/api/openapi.json")
            expect(page.get_by_role("link", name="Prometheus metrics")).to_have_attribute("href", "/metrics")
            port_row = page.locator('tr[data-setting="api.port"]')
            expect(port_row).to_have_attribute("data-source", "flag")
            expect(port_row).to_contain_text(str(port))
            expect(port_row).to_contain_text("restart required")
            zone_row = page.locator('tr[data-setting="api.hub_timezone"]')
            expect(zone_row).to_have_attribute("data-source", "env")
            expect(zone_row).to_contain_text("environment")
            expect(page.locator('tr[data-setting="api.trusted_proxies"]')).to_have_attribute("data-source", "default")
            expect(page.locator('tr[data-setting="api.data_dir"]')).to_have_attribute("data-source", "flag")
            retention = page.locator('tr[data-setting="janitor.run_retention_days"]')
            expect(retention).to_have_attribute("data-source", "env")
            expect(retention).to_contain_text("90")
            expect(page.locator('tr[data-setting="janitor.incomplete_cleanup_days"]')).to_have_attribute("data-source", "default")
            info = page.request.get(base + "/api/system").json()
            assert info["database"]["size_bytes"] > 0, info["database"]
            assert [worker["id"] for worker in info["bus"]["workers"]] == ["settings-worker"], info["bus"]
            shots(page, "system")

            # ── The same pages in Chinese.
            page.evaluate("localStorage.setItem('bastion.lang', 'zh-CN')")
            for tab, heading in [("notifications", "发送开关"), ("keys", "加密密钥"), ("system", "运行参数")]:
                page.goto(f"{base}/settings?tab={tab}")
                expect(page.get_by_role("heading", name=heading).first).to_be_visible()
                shots(page, f"{tab}-zh")
            page.evaluate("localStorage.setItem('bastion.lang', 'en')")

            assert not page_errors, page_errors
            browser.close()
        print("ui_settings_test: ok")
    finally:
        stop(processes)
        receiver.shutdown()


if __name__ == "__main__":
    main()
