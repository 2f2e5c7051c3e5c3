"""What the browser tests and the browser benchmark share: where things are, free ports, waiting for the API, the
first-admin setup in the page, and a Chromium from Debian under Playwright."""
import os
import shutil
import subprocess
import socket
import time
import urllib.request

from playwright.sync_api import expect

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHOTS = os.path.join(ROOT, ".build", "ui-screenshots")
PASSWORD = "correct horse battery staple"


def binaries(default):
    """The directory of the bastion binaries: BASTION_BIN, else .build/<default>."""
    return os.path.abspath(os.environ.get("BASTION_BIN", os.path.join(ROOT, ".build", default)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/api/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("bastion-api did not become ready")


def launch(playwright):
    """Debian's Chromium (Playwright's own browser download cannot work here)."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"])


def set_up_admin(page, base):
    """First visit: the setup page creates the admin and lands on the overview."""
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Welcome to Bastion")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()


def api_headers(page, base):
    """Headers for API calls made with this page's session (the CSRF token of its session)."""
    csrf = page.request.get(base + "/api/session").json()["csrf_token"]
    return {"x-csrf-token": csrf, "content-type": "application/json"}


def stop(processes):
    """Terminates the processes (None entries skipped), killing any that has not exited after 10 s."""
    for process in processes:
        if process is None:
            continue
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
