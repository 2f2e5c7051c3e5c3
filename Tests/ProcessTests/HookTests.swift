import Foundation
import TestClients
import Testing

/// Job hooks through the real binaries (docs/hooks.md): the API saves the job, a worker (or an agent) runs its backup
/// with the hooks around it, and what the hooks did is read back from the files they wrote, `/proc` and the run's log.
@Suite(.serialized) struct HookTests {
    /// A filesystem job named `name` with `hooks`, on the hub or on `agent`; its source is `<scratch>/source`.
    func createJob(_ fixture: RunsFixture, name: String, hooks: [String: Any], agent: String? = nil, target: String? = nil) async throws -> String {
        let source = fixture.scratch.path + "/source"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: source + "/a.txt"))
        var body: [String: Any] = [
            "name": name,
            "spec": [
                "v": 1, "type": "filesystem", "source": ["paths": [source]],
                "target": ["type": "local_dir", "base_dir": target ?? fixture.targetDir], "hooks": hooks,
            ],
        ]
        if let agent { body["agent_id"] = agent }
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: body)
        return try #require(created.json?["id"] as? String, "\(created.status) \(String(decoding: created.body, as: UTF8.self))")
    }

    /// A directory for what the hooks write.
    func hookDir(_ fixture: RunsFixture) throws -> String {
        let dir = fixture.scratch.path + "/hooks"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A hook that appends `name` to `<dir>/order` and writes its environment and working directory, then runs `then`.
    func recorder(_ dir: String, _ name: String, then: String = "") -> [String] {
        ["/bin/sh", "-c", "echo \(name) >> \(dir)/order; env > \(dir)/env-\(name); pwd > \(dir)/pwd-\(name); \(then)"]
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// `NAME=value` lines of an `env` dump.
    func environment(_ dir: String, _ name: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in (read("\(dir)/env-\(name)") ?? "").split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            result[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return result
    }

    /// Waits for the run to end; its final row.
    func finish(_ fixture: RunsFixture, _ run: String) async throws -> [String: Any] {
        _ = await eventually(timeout: .seconds(90)) { ["success", "failed", "canceled"].contains(await fixture.status(run) ?? "") }
        return try await fixture.run(run)
    }

    /// Every event of the run, read in pages.
    func allEvents(_ fixture: RunsFixture, _ run: String) async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        while true {
            let after = events.last?["seq"] as? Int ?? 0
            let page = try await HTTP.get(fixture.base + "/api/runs/\(run)/events?after_seq=\(after)&limit=500")
            let items = (try JSONSerialization.jsonObject(with: page.body) as? [[String: Any]]) ?? []
            if items.isEmpty { return events }
            events += items
        }
    }

    func fields(_ event: [String: Any]) -> [String: Any] { event["fields"] as? [String: Any] ?? [:] }

    /// `/proc/<pid>/stat`'s state letter, or nil when there is no such process.
    static func state(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    /// Live processes (not zombies) whose process group is `group`.
    static func groupMembers(_ group: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
                return false
            }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
        }
    }

    @Test func hooksRunInOrderAroundTheBackupWithACleanEnvironmentAndTheirOutputInTheLog() async throws {
        let fixture = try await RunsFixture()
        // A secret in the worker's environment must not reach a hook.
        try await fixture.startWorker("w1", environment: ["HOOK_TEST_SECRET": "s3cret"])
        let dir = try hookDir(fixture)
        let hooks: [String: Any] = [
            "before": [
                [
                    "argv": recorder(dir, "before1", then: "echo 'out line'; echo 'err line' >&2; printf '%05000d\\n' 0"), "cwd": dir,
                    "env": ["FOO": "bar baz", "LANG": "C"], "timeout_seconds": 60,
                ],
                ["argv": recorder(dir, "before2")],
            ],
            "after": [
                ["argv": recorder(dir, "after1", then: "seq 1 3000")],
                ["argv": recorder(dir, "after2")],
            ],
        ]
        let job = try await createJob(fixture, name: "hooked job", hooks: hooks)
        // The stored spec keeps the hooks with their defaults.
        let stored = try await HTTP.get(fixture.base + "/api/jobs/\(job)").json?["spec"] as? [String: Any]
        let storedAfter = ((stored?["hooks"] as? [String: Any])?["after"] as? [[String: Any]])?.first
        #expect(storedAfter?["timeout_seconds"] as? Int == 300 && storedAfter?["cwd"] as? String == "/", "\(String(describing: stored))")

        let run = try await fixture.enqueue(job).id
        let finished = try await finish(fixture, run)
        #expect(finished["status"] as? String == "success", "\(finished)")
        #expect(read("\(dir)/order") == "before1\nbefore2\nafter1\nafter2\n")
        #expect(FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(run)/complete.json"))

        // The environment: PATH, HOME, LANG, the hook's env and the BASTION_ variables; nothing of the worker's.
        let before = environment(dir, "before1")
        let shellOwn: Set<String> = ["PWD", "OLDPWD", "SHLVL", "_"]
        #expect(
            Set(before.keys).subtracting(shellOwn)
                == ["PATH", "HOME", "LANG", "FOO", "BASTION_JOB_ID", "BASTION_JOB_NAME", "BASTION_RUN_ID", "BASTION_HOOK"],
            "\(before)"
        )
        #expect(before["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(before["FOO"] == "bar baz" && before["LANG"] == "C" && before["BASTION_HOOK"] == "before")
        #expect(before["BASTION_JOB_ID"] == job && before["BASTION_RUN_ID"] == run && before["BASTION_JOB_NAME"] == "hooked job")
        #expect(environment(dir, "before2")["LANG"] == "C.UTF-8", "a hook's env is its own")
        let after = environment(dir, "after1")
        #expect(after["BASTION_HOOK"] == "after" && after["BASTION_STATUS"] == "success" && after["BASTION_ERROR"] == "")
        #expect(after["BASTION_SNAPSHOT"] == "\(fixture.targetDir)/\(job)/\(run)", "\(after)")
        #expect(after["HOOK_TEST_SECRET"] == nil && before["HOOK_TEST_SECRET"] == nil)
        #expect(read("\(dir)/pwd-before1") == dir + "\n" && read("\(dir)/pwd-before2") == "/\n")

        // The log: start and exit events of each hook, its lines by stream, long lines split, a bounded total.
        let events = try await allEvents(fixture, run)
        let hookEvents = events.filter { $0["kind"] as? String == "hook" }
        #expect(hookEvents.count == 8, "\(hookEvents)")
        let exits = hookEvents.filter { fields($0)["phase"] as? String == "exit" }
        #expect(exits.count == 4 && exits.allSatisfy { fields($0)["exit_code"] as? Int == 0 && fields($0)["duration_ms"] as? Int != nil }, "\(exits)")
        let output = events.filter { $0["kind"] as? String == "hook_output" }
        let first = output.filter { fields($0)["hook"] as? String == "before" && fields($0)["index"] as? Int == 0 }
        #expect(first.contains { $0["message"] as? String == "out line" && fields($0)["stream"] as? String == "stdout" }, "\(first)")
        #expect(first.contains { $0["message"] as? String == "err line" && fields($0)["stream"] as? String == "stderr" }, "\(first)")
        let zeros = first.compactMap { $0["message"] as? String }.filter { $0.hasPrefix("000") }
        #expect(zeros.map(\.count) == [4096, 904], "a 5000-byte line in two pieces")
        let counted = output.filter { fields($0)["hook"] as? String == "after" && fields($0)["index"] as? Int == 0 }
        #expect(counted.filter { fields($0)["stream"] as? String == "stdout" }.count == 2000, "at most 2000 lines a hook")
        #expect(counted.last?["level"] as? String == "warn" && fields(counted.last ?? [:])["truncated"] as? Bool == true)
        // before hooks end before the snapshot is packed; after hooks start once it is written.
        let kinds = events.map { $0["kind"] as? String ?? "" }
        let packaging = try #require(kinds.firstIndex(of: "packaging"))
        let phases = events.indices.map { fields(events[$0])["hook"] as? String }
        #expect(events.indices.filter { phases[$0] == "before" }.allSatisfy { $0 < packaging })
        #expect(events.indices.filter { phases[$0] == "after" }.allSatisfy { $0 > packaging })
        #expect(events.indices.filter { kinds[$0] == "hook" && $0 < packaging }.count == 4)
    }

    @Test func aFailingBeforeHookAbortsTheRunWithHookFailedUnlessTheJobContinuesAndAfterHooksAlwaysRun() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let dir = try hookDir(fixture)
        let failing = try await createJob(
            fixture,
            name: "failing",
            hooks: [
                "before": [["argv": ["/bin/sh", "-c", "echo 'cannot stop app' >&2; exit 3"]], ["argv": recorder(dir, "never")]],
                "after": [["argv": recorder(dir, "afterFailed")]],
            ]
        )
        let run = try await fixture.enqueue(failing).id
        let finished = try await finish(fixture, run)
        #expect(finished["status"] as? String == "failed" && finished["error"] as? String == "hook_failed", "\(finished)")
        #expect(read("\(dir)/order") == "afterFailed\n", "the second before hook never ran; the after hook did")
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(failing)/\(run)"), "no snapshot written")
        let after = environment(dir, "afterFailed")
        #expect(after["BASTION_STATUS"] == "failed" && after["BASTION_ERROR"] == "hook_failed" && after["BASTION_SNAPSHOT"] == "", "\(after)")
        let events = try await allEvents(fixture, run)
        #expect(events.contains { $0["kind"] as? String == "hook_output" && $0["message"] as? String == "cannot stop app" })
        #expect(events.contains { $0["kind"] as? String == "hook" && fields($0)["exit_code"] as? Int == 3 && $0["level"] as? String == "error" })

        // A command that cannot start fails the same way; with continue_on_before_failure the run goes on.
        let continuing = try await createJob(
            fixture,
            name: "continuing",
            hooks: [
                "before": [["argv": ["/nonexistent/hook"]], ["argv": recorder(dir, "beforeContinued")]],
                "after": [["argv": recorder(dir, "afterContinued")]], "continue_on_before_failure": true,
            ]
        )
        let second = try await fixture.enqueue(continuing).id
        let done = try await finish(fixture, second)
        #expect(done["status"] as? String == "success", "\(done)")
        #expect(read("\(dir)/order") == "afterFailed\nbeforeContinued\nafterContinued\n")
        #expect(environment(dir, "afterContinued")["BASTION_STATUS"] == "success")
        let log = try await allEvents(fixture, second)
        #expect(
            log.contains { ($0["fields"] as? [String: Any])?["spawn_error"] as? String == "/nonexistent/hook: No such file or directory" },
            "\(log)"
        )
        #expect(log.contains { $0["level"] as? String == "warn" && ($0["message"] as? String ?? "").contains("continue_on_before_failure") })
    }

    @Test func aHookPastItsTimeoutIsKilledWithItsWholeProcessGroupAndLeavesNothingRunning() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let dir = try hookDir(fixture)
        // The hook starts a child that ignores SIGTERM (and so does its sleep), then waits: SIGTERM ends only the hook
        // itself; the child must still be gone, by SIGKILL to the group.
        let stubborn = "echo $$ > \(dir)/leader; /bin/sh -c 'trap \"\" TERM; echo $$ > \(dir)/child; while :; do sleep 1; done' & wait"
        let job = try await createJob(
            fixture,
            name: "timeout",
            hooks: ["before": [["argv": ["/bin/sh", "-c", stubborn], "timeout_seconds": 1]], "after": [["argv": recorder(dir, "after")]]]
        )
        let run = try await fixture.enqueue(job).id
        let finished = try await finish(fixture, run)
        #expect(finished["status"] as? String == "failed" && finished["error"] as? String == "hook_failed", "\(finished)")
        let leader = try #require(read("\(dir)/leader").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let child = try #require(read("\(dir)/child").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(Self.state(child) == nil || Self.state(child) == "Z", "the child that ignored SIGTERM is gone")
        #expect(Self.groupMembers(leader).isEmpty, "nothing of the hook's process group is left: \(Self.groupMembers(leader))")
        let exit = try #require(
            try await allEvents(fixture, run).first { $0["kind"] as? String == "hook" && fields($0)["phase"] as? String == "exit" }
        )
        #expect(fields(exit)["timed_out"] as? Bool == true && (exit["message"] as? String ?? "").contains("past its timeout"), "\(exit)")
        #expect(environment(dir, "after")["BASTION_ERROR"] == "hook_failed")
    }

    @Test func aCancelDuringAHookKillsItsGroupAndTheAfterHooksStillRun() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w1")
        let dir = try hookDir(fixture)
        let job = try await createJob(
            fixture,
            name: "cancel",
            hooks: [
                "before": [["argv": ["/bin/sh", "-c", "echo $$ > \(dir)/leader; sleep 300 & wait"], "timeout_seconds": 600]],
                "after": [["argv": recorder(dir, "after")]],
            ]
        )
        let run = try await fixture.enqueue(job).id
        // The file exists before the shell wrote its pid into it: wait for the number.
        let pid = { read("\(dir)/leader").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        #expect(await eventually { pid() != nil })
        let leader = try #require(pid())
        #expect(Self.groupMembers(leader).count == 2, "the hook and its sleep run")
        _ = try await HTTP.send("POST", fixture.base + "/api/runs/\(run)/cancel")
        let finished = try await finish(fixture, run)
        #expect(finished["status"] as? String == "canceled", "\(finished)")
        #expect(Self.groupMembers(leader).isEmpty, "\(Self.groupMembers(leader))")
        let after = environment(dir, "after")
        #expect(after["BASTION_STATUS"] == "canceled" && after["BASTION_SNAPSHOT"] == "", "\(after)")
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.targetDir)/\(job)/\(run)"))
        let exit = try #require(
            try await allEvents(fixture, run).first { $0["kind"] as? String == "hook" && fields($0)["phase"] as? String == "exit" }
        )
        #expect(fields(exit)["canceled"] as? Bool == true, "\(exit)")
    }

    @Test func aWorkerShuttingDownEndsARunningHookRunsTheAfterHooksAndHandsTheRunBack() async throws {
        let fixture = try await RunsFixture()
        let worker = try await fixture.startWorker("w1")
        let dir = try hookDir(fixture)
        let job = try await createJob(
            fixture,
            name: "shutdown",
            hooks: [
                "before": [["argv": ["/bin/sh", "-c", "echo $$ >> \(dir)/leader; sleep 300 & wait"], "timeout_seconds": 600]],
                "after": [["argv": recorder(dir, "after")]],
            ]
        )
        let run = try await fixture.enqueue(job).id
        // The file exists before the shell wrote its pid into it: wait for the number.
        let pid = { read("\(dir)/leader").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        #expect(await eventually { pid() != nil })
        let leader = try #require(pid())
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(20)) == 0, "\(worker.log)")
        #expect(Self.groupMembers(leader).isEmpty, "\(Self.groupMembers(leader))")
        #expect(environment(dir, "after")["BASTION_STATUS"] == "canceled")
        #expect(await fixture.status(run) == "queued")
        #expect(try await fixture.events(run).compactMap { $0["kind"] as? String }.contains("requeued"))
    }

    @Test func anAgentRunsHooksOnlyWhenStartedWithAllowHooks() async throws {
        let fixture = try await RunsFixture()
        let links = AgentLinkTests()
        let token = try await links.token(fixture)
        for (name, allow) in [("a1", true), ("a2", false)] {
            let agent = try Child(
                Binaries.path("bastion-agent"),
                ["--hub-url", fixture.base, "--data-dir", fixture.scratch.path + "/agent-" + name, "--heartbeat-seconds", "1", "--name", name]
                    + (allow ? ["--allow-hooks"] : []),
                name: "agent-" + name,
                logDir: fixture.scratch.path,
                environment: ["BASTION_ENROLL_TOKEN": token, "AGENT_TEST_SECRET": "s3cret"]
            )
            fixture.children.append(agent)
        }
        #expect(await eventually { await links.bothConnected(fixture) })
        let dir = try hookDir(fixture)
        var runs: [String: (job: String, run: String)] = [:]
        for name in ["a1", "a2"] {
            let agent = try #require(await links.agents(fixture)[name]?["id"] as? String)
            let job = try await createJob(
                fixture,
                name: "on-\(name)",
                hooks: [
                    "before": [["argv": recorder(dir, "before-\(name)", then: "echo from \(name)")]],
                    "after": [["argv": recorder(dir, "after-\(name)")]],
                ],
                agent: agent,
                target: fixture.scratch.path + "/target-\(name)"
            )
            runs[name] = (job, try await fixture.enqueue(job).id)
        }
        let allowed = try #require(runs["a1"])
        let done = try await finish(fixture, allowed.run)
        #expect(done["status"] as? String == "success", "\(done)")
        let after = environment(dir, "after-a1")
        #expect(after["BASTION_RUN_ID"] == allowed.run && after["BASTION_STATUS"] == "success" && after["AGENT_TEST_SECRET"] == nil, "\(after)")
        #expect(after["BASTION_SNAPSHOT"] == fixture.scratch.path + "/target-a1/\(allowed.job)/\(allowed.run)")
        let events = try await allEvents(fixture, allowed.run)
        #expect(events.contains { $0["kind"] as? String == "hook_output" && $0["message"] as? String == "from a1" }, "\(events)")
        #expect(events.filter { $0["kind"] as? String == "hook" }.count == 4)

        let refused = try #require(runs["a2"])
        let failed = try await finish(fixture, refused.run)
        #expect(failed["status"] as? String == "failed" && failed["error"] as? String == "hooks_not_allowed", "\(failed)")
        #expect(read("\(dir)/env-before-a2") == nil && read("\(dir)/env-after-a2") == nil, "a2 ran no hook")
        #expect(read("\(dir)/order")?.contains("a2") != true)
    }
}
