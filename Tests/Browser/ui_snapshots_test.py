#!/usr/bin/env python3
"""Browser test of the web UI's snapshot pages against the real api, worker and janitor, in Debian's Chromium.

A generated tree is backed up twice with changes in between (the second from the overview's Backup now) -> the job's
snapshots list sizes -> the browser goes three levels down, a click and a shift-click pick two files and a directory ->
the restore wizard restores them into a temporary directory (the bytes on disk are checked, and nothing else is there)
-> Compare shows exactly what was added, removed and changed -> a file's versions -> Restore everything matches the
tree -> Verify -> retention's preview, then a snapshot deleted (the janitor removes it at once) -> a failing job is first
on the overview. Screenshots (.build/ui-screenshots/): browse, compare and overview, light and dark, and at 390 px.

Usage: python3 Tests/Browser/ui_snapshots_test.py   (BASTION_BIN: binaries, default .build/debug; UI built into Public/)
"""
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from playwright.sync_api import expect, sync_playwright

from harness import ROOT, SHOTS, api_headers, binaries, free_port, launch, set_up_admin, stop, wait_ready

BIN = binaries("debug")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def same_tree(left, right):
    """Every file under left has a byte-identical twin under right, and nothing more is there."""
    names = lambda root: sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)
    assert names(left) == names(right), f"{names(left)} != {names(right)}"
    for name in names(left):
        assert filecmp.cmp(os.path.join(left, name), os.path.join(right, name), shallow=False), name


def main():
    scratch = tempfile.mkdtemp(prefix="bsn-")
    data = os.path.join(scratch, "data")
    source = os.path.join(scratch, "source")
    target = os.path.join(scratch, "target")
    for name, text in {
        "a/b/c/deep1.txt": "deep one\n" * 50,
        "a/b/c/deep2.txt": "deep two\n" * 70,
        "a/b/c/sub/inner.txt": "inner\n",
        "a/b/c/not-picked.txt": "stays behind\n",
        "a/b/other.txt": "other\n",
        "edit.txt": "first version\n",
        "gone.txt": "deleted before the second backup\n",
        "top.txt": "top\n",
    }.items():
        write(os.path.join(source, name), text)
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
        for name, arguments in [("bastion-worker", ["--worker-id", "ui-worker"]), ("bastion-janitor", [])]:
            processes.append(subprocess.Popen([os.path.join(BIN, name), *common, *arguments], stdout=logs, stderr=subprocess.STDOUT))
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
                spec = {
                    "v": 1, "type": "filesystem", "source": {"paths": [source]}, "target": {"type": "local_dir", "base_dir": target},
                    "retention": {"enabled": True, "keep_last": 1},
                }
                created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Photos", "schedule": "0 3 * * *", "spec": spec}), headers=headers)
                assert created.status == 201, created.text()
                job = created.json()["id"]

                # The first backup from the job page; the second, after changes, from the overview's card.
                page.goto(f"{base}/jobs/{job}")
                page.get_by_role("button", name="Backup now").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                first = page.url.rstrip("/").split("/")[-1]
                write(os.path.join(source, "edit.txt"), "second version, longer\n")
                os.unlink(os.path.join(source, "gone.txt"))
                write(os.path.join(source, "new/fresh.txt"), "fresh\n")
                page.get_by_role("link", name="Overview").click()
                page.locator("[data-job=Photos]").get_by_role("button", name="Backup now").click()
                page.locator("[data-job=Photos]").get_by_role("link", name="open run").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                second = page.url.rstrip("/").split("/")[-1]

                # The job's snapshots, with their sizes.
                page.goto(f"{base}/jobs/{job}?tab=snapshots")
                rows = page.locator("table.snapshots tbody tr")
                expect(rows).to_have_count(2)
                expect(page.locator(f"tr[data-run='{second}'] td[data-label=Files]")).to_have_text("8")

                # The browser: from the top, down to the source, then three levels down (a, b, c).
                page.locator(f"tr[data-run='{second}']").get_by_role("link", name="Browse").click()
                for name in source.strip("/").split("/") + ["a", "b", "c"]:
                    page.get_by_test_id("entries").get_by_role("link", name=name, exact=True).click()
                expect(page.locator(".breadcrumbs")).to_contain_text("a / b / c")
                names = page.eval_on_selector_all("[data-testid=entries] tbody tr", "rows => rows.map(row => row.dataset.name)")
                assert names == ["sub", "deep1.txt", "deep2.txt", "not-picked.txt"], names
                # A click on the directory, a shift-click two rows down: the directory and two files.
                page.locator("tr[data-name='sub'] input[type=checkbox]").click()
                page.locator("tr[data-name='deep2.txt'] input[type=checkbox]").click(modifiers=["Shift"])
                expect(page.get_by_role("button", name="Restore selected (3)")).to_be_enabled()
                page.screenshot(path=os.path.join(SHOTS, "browse-1280-light.png"), full_page=True)
                page.get_by_role("button", name="Restore selected (3)").click()

                # The wizard restores exactly the pick.
                expect(page.get_by_role("heading", name="Restore")).to_be_visible()
                expect(page.get_by_role("list", name="Selection").locator("li")).to_have_count(3)
                picked_out = os.path.join(scratch, "restored-pick")
                page.fill("input[name=destination]", picked_out)
                page.get_by_label("Keep existing").check()
                page.get_by_role("button", name="Start restore").click()
                expect(page.locator(".run-summary")).to_contain_text("restore", timeout=20000)
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                restored = os.path.join(picked_out, source.strip("/"), "a", "b", "c")
                for name in ["deep1.txt", "deep2.txt", "sub/inner.txt"]:
                    assert filecmp.cmp(os.path.join(source, "a/b/c", name), os.path.join(restored, name), shallow=False), name
                assert not os.path.exists(os.path.join(restored, "not-picked.txt")), "only the pick is restored"
                assert not os.path.exists(os.path.join(picked_out, source.strip("/"), "top.txt"))

                # Compare: exactly what changed between the two backups.
                page.goto(f"{base}/jobs/{job}?tab=compare")
                expect(page.get_by_test_id("totals")).to_contain_text("2 added")
                changes = page.eval_on_selector_all("[data-testid=changes] tr", "rows => rows.map(row => row.dataset.change + ' ' + row.dataset.path)")
                prefix = source.strip("/") + "/"
                assert sorted(change.replace(prefix, "") for change in changes) == [
                    "added new", "added new/fresh.txt", "changed edit.txt", "removed gone.txt"
                ], changes
                expect(page.get_by_test_id("totals")).to_contain_text("1 removed")
                expect(page.get_by_test_id("totals")).to_contain_text("1 changed")
                page.get_by_label("Change").select_option("removed")
                expect(page.locator("[data-testid=changes] tr")).to_have_count(1)
                page.get_by_label("Change").select_option("all")
                page.screenshot(path=os.path.join(SHOTS, "compare-1280-light.png"), full_page=True)
                page.get_by_role("button", name="Toggle dark mode").click()
                page.screenshot(path=os.path.join(SHOTS, "compare-1280-dark.png"), full_page=True)
                page.get_by_role("button", name="Toggle dark mode").click()

                # A file's versions, from the browser.
                page.goto(f"{base}/runs/{second}/browse?path={source.strip('/')}")
                page.locator("tr[data-name='edit.txt']").get_by_role("button", name="Versions").click()
                versions = page.get_by_role("dialog", name="Versions")
                expect(versions.locator("tbody tr")).to_have_count(2)
                expect(versions.locator("tbody tr").nth(0)).to_contain_text("changed")
                expect(versions.locator("tbody tr").nth(1)).to_contain_text("added")

                # Restore everything: the tree as it was at the second backup.
                page.goto(f"{base}/runs/{second}")
                page.get_by_role("button", name="Restore").click()
                expect(page.get_by_text("Everything in the snapshot.")).to_be_visible()
                everything_out = os.path.join(scratch, "restored-all")
                page.fill("input[name=destination]", everything_out)
                page.get_by_role("button", name="Start restore").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                same_tree(source, os.path.join(everything_out, source.strip("/")))

                # Verify, from the snapshot's run page.
                page.goto(f"{base}/runs/{second}")
                page.get_by_role("button", name="Verify").click()
                page.get_by_role("dialog").get_by_role("button", name="Verify").click()
                expect(page.locator(".run-summary")).to_contain_text("verify", timeout=20000)
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)

                # Retention (keep the last 1) would delete the first; deleting it by hand leaves nothing to delete.
                page.goto(f"{base}/jobs/{job}?tab=retention")
                expect(page.get_by_role("heading", name="Would delete (1)")).to_be_visible()
                page.goto(f"{base}/jobs/{job}?tab=snapshots")
                page.locator(f"tr[data-run='{first}']").get_by_role("button", name="Delete").click()
                page.get_by_role("dialog").get_by_role("button", name="Delete").click()
                expect(page.get_by_role("status")).to_contain_text("queued for deletion")
                for _ in range(30):
                    page.reload()
                    if page.locator(f"tr[data-run='{first}'] .badge.snapshot-deleted").count() == 1:
                        break
                    page.wait_for_timeout(500)
                expect(page.locator(f"tr[data-run='{first}'] .badge.snapshot-deleted")).to_be_visible()
                assert not os.path.exists(os.path.join(target, job, first)), "the janitor removed the snapshot's files"
                page.goto(f"{base}/jobs/{job}?tab=retention")
                expect(page.get_by_role("heading", name="Would delete (0)")).to_be_visible()

                # An agent: the Agents page makes a token and shows the command; run there, the agent comes online,
                # backs up a job assigned to it, and is revoked from the page.
                page.goto(base + "/agents")
                page.fill("input[name=agentName]", "far-host")
                page.get_by_role("button", name="Create enrolment token").click()
                command = page.get_by_test_id("enroll-command").inner_text()
                page.screenshot(path=os.path.join(SHOTS, "agents-enrol-1280-light.png"), full_page=True)
                assert command.startswith("BASTION_ENROLL_TOKEN=") and f" bastion-agent --hub-url {base}/ " in command, command
                enroll_token = command.split("BASTION_ENROLL_TOKEN=")[1].split()[0]
                agent = subprocess.Popen(
                    [os.path.join(BIN, "bastion-agent"), "--hub-url", base, "--data-dir", os.path.join(scratch, "agent"),
                     "--name", "far-host", "--heartbeat-seconds", "1"],
                    stdout=logs, stderr=subprocess.STDOUT, env={**os.environ, "BASTION_ENROLL_TOKEN": enroll_token},
                )
                processes.append(agent)
                expect(page.locator("tr[data-agent=far-host]")).to_contain_text("online", timeout=20000)
                agent_id = next(item["id"] for item in page.request.get(base + "/api/agents").json() if item["name"] == "far-host")
                page.goto(base + "/jobs/new")
                expect(page.locator("select[name=agent] option", has_text="agent far-host")).to_have_count(1)
                remote_source = os.path.join(scratch, "remote-source")
                write(os.path.join(remote_source, "notes.txt"), "on another host\n")
                remote_spec = {"v": 1, "type": "filesystem", "source": {"paths": [remote_source]}, "target": {"type": "local_dir", "base_dir": os.path.join(scratch, "agent-target")}}
                created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Far host", "agent_id": agent_id, "spec": remote_spec}), headers=headers)
                assert created.status == 201, created.text()
                page.goto(f"{base}/jobs/{created.json()['id']}")
                page.get_by_role("button", name="Backup now").click()
                expect(page.locator(".badge.status-success")).to_be_visible(timeout=60000)
                expect(page.locator(".run-summary")).to_contain_text("agent " + agent_id[:8])
                remote_run = page.url.rstrip("/").split("/")[-1]
                assert os.path.exists(os.path.join(scratch, "agent-target", created.json()["id"], remote_run, "complete.json"))
                page.goto(base + "/agents")
                expect(page.locator("tr[data-agent=far-host]")).to_contain_text("online")
                page.screenshot(path=os.path.join(SHOTS, "agents-1280-light.png"), full_page=True)
                page.locator("tr[data-agent=far-host]").get_by_role("button", name="Rotate key").click()
                page.get_by_role("dialog").get_by_role("button", name="Rotate key").click()
                expect(page.locator("tr[data-agent=far-host]")).to_contain_text("online", timeout=20000)
                page.locator("tr[data-agent=far-host]").get_by_role("button", name="Revoke").click()
                page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
                expect(page.locator("tr[data-agent=far-host]")).to_contain_text("revoked")
                assert agent.wait(timeout=20) == 3, "a revoked agent stops"

                # A failing job: first on the overview.
                broken = dict(spec, source={"paths": ["/nonexistent/bastion-ui"]}, retention={})
                created = page.request.post(base + "/api/jobs", data=json.dumps({"name": "Archive box", "spec": broken}), headers=headers)
                page.request.post(f"{base}/api/jobs/{created.json()['id']}/run", headers=headers)
                page.goto(base + "/")
                expect(page.locator(".job-card").first).to_have_attribute("data-job", "Archive box", timeout=30000)
                expect(page.locator(".job-card").first).to_contain_text("last backup failed")
                expect(page.locator("[data-job=Photos] .strip .day-success")).to_have_count(1)
                page.screenshot(path=os.path.join(SHOTS, "overview-1280-light.png"), full_page=True)

                # Dark, and a phone.
                page.get_by_role("button", name="Toggle dark mode").click()
                page.screenshot(path=os.path.join(SHOTS, "overview-1280-dark.png"), full_page=True)
                page.goto(f"{base}/runs/{second}/browse?path={source.strip('/')}/a/b/c")
                expect(page.locator("tr[data-name='deep1.txt']")).to_be_visible()
                page.screenshot(path=os.path.join(SHOTS, "browse-1280-dark.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=os.path.join(SHOTS, "browse-390.png"), full_page=True)
                page.goto(base + "/")
                expect(page.locator(".job-card").first).to_be_visible()
                page.screenshot(path=os.path.join(SHOTS, "overview-390.png"), full_page=True)
                page.set_viewport_size({"width": 1280, "height": 800})
                assert not page_errors, f"errors in the page: {page_errors}"
            except Exception:
                page.screenshot(path=os.path.join(SHOTS, "failure-snapshots.png"), full_page=True)
                sys.stderr.write(f"ui_snapshots_test: the page at the failure: {page.url}\n")
                raise
            browser.close()
        print(f"ui_snapshots_test: ok; screenshots in {SHOTS}")
    except Exception:
        logs.flush()
        sys.stderr.write(open(os.path.join(scratch, "processes.log")).read()[-4000:])
        raise
    finally:
        stop(processes)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
