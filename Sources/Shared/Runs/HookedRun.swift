import Core
import Foundation

/// A job's `before` and `after` hooks around its backup executor (docs/hooks.md). The one place a worker
/// (`RunWorker`) and an agent (`AgentRunner`) pass through, so hooks run wherever the job runs.
///
/// `before` hooks run in order; a failure (non-zero exit, a signal, a spawn failure, its timeout) ends the run with
/// `hook_failed` before the executor writes anything, unless `continue_on_before_failure`. A cancel kills the running
/// `before` hook. `after` hooks always run, in order, with the outcome (`BASTION_STATUS`, `BASTION_ERROR`,
/// `BASTION_SNAPSHOT`): they are what puts things back, so a cancel does not interrupt them (their timeout does), and
/// their failure is logged without changing the run's outcome.
public enum HookedRun {
    /// Runs `executor` for `context` with the spec's hooks around it (backup runs only; restores and verifies run none).
    /// `hooksAllowed: false` (an agent without `--allow-hooks`) refuses a job that has hooks with `hooks_not_allowed`.
    public static func execute(_ executor: any JobExecutor, _ context: RunContext, hooksAllowed: Bool = true) async throws -> JSONValue {
        let hooks = context.spec.hooks
        guard context.run.kind == .backup, !hooks.isEmpty else { return try await executor.execute(context) }
        guard hooksAllowed else {
            throw RunFailure(
                code: "hooks_not_allowed",
                message: "this job has hooks and this agent does not run hooks (start it with --allow-hooks to let the hub run them)"
            )
        }
        let result: Result<JSONValue, any Error>
        do {
            try await runBefore(hooks, context)
            try context.checkCancellation()
            result = .success(try await executor.execute(context))
        } catch {
            result = .failure(error)
        }
        await runAfter(hooks, context, outcome: result)
        return try result.get()
    }

    private static func runBefore(_ hooks: JobHooks, _ context: RunContext) async throws {
        for (index, hook) in hooks.before.enumerated() {
            try context.checkCancellation()
            let exit = await run(hook, phase: "before", index: index, count: hooks.before.count, context: context, extra: [:])
            if exit.stopped { throw CancellationError() }
            guard !exit.succeeded else { continue }
            let what = "before hook \(index + 1) (\(hook.argv[0])) \(describe(exit))"
            if hooks.continueOnBeforeFailure {
                context.events.emit(.warn, kind: "hook", message: "\(what); continuing (continue_on_before_failure)")
                continue
            }
            throw RunFailure(code: "hook_failed", message: what)
        }
    }

    private static func runAfter(_ hooks: JobHooks, _ context: RunContext, outcome: Result<JSONValue, any Error>) async {
        var extra: [String: String]
        switch outcome {
        case .success:
            let location = RunLocation(target: context.spec.target, jobId: context.job.id, runId: context.run.id)
            extra = ["BASTION_STATUS": "success", "BASTION_ERROR": "", "BASTION_SNAPSHOT": location.display]
        case .failure(let error as RunFailure):
            extra = ["BASTION_STATUS": "failed", "BASTION_ERROR": error.code]
        case .failure(is CancellationError):
            extra = ["BASTION_STATUS": "canceled", "BASTION_ERROR": "canceled"]
        case .failure:
            extra = ["BASTION_STATUS": "failed", "BASTION_ERROR": "run_failed"]
        }
        extra["BASTION_SNAPSHOT"] = extra["BASTION_SNAPSHOT"] ?? ""
        for (index, hook) in hooks.after.enumerated() {
            _ = await run(hook, phase: "after", index: index, count: hooks.after.count, context: context, extra: extra, stoppable: false)
        }
    }

    /// Runs one hook to its end, with its `hook` start and exit events and its output as `hook_output` events.
    private static func run(
        _ hook: JobHooks.Hook,
        phase: String,
        index: Int,
        count: Int,
        context: RunContext,
        extra: [String: String],
        stoppable: Bool = true
    ) async -> HookProcess.Exit {
        let events = context.events
        let base: [String: JSONValue] = ["hook": .string(phase), "index": .number(Double(index))]
        // An argv may hold up to 1 MiB: the event keeps a bounded preview (the spec has the whole command).
        let command = hook.argv.joined(separator: " ")
        let preview = command.utf8.count <= 1024 ? command : String(decoding: command.utf8.prefix(1024), as: UTF8.self) + " …"
        var start = base.merging(["phase": "start", "cwd": .string(String(decoding: hook.cwd.utf8.prefix(1024), as: UTF8.self))]) { $1 }
        if hook.argv.reduce(0, { $0 + $1.utf8.count }) <= 8192 { start["argv"] = .array(hook.argv.map(JSONValue.string)) }
        events.emit(kind: "hook", message: "\(phase) hook \(index + 1)/\(count) started: \(preview)", fields: .object(start))
        let cancellation = context.cancellation
        let process = HookProcess(
            argv: hook.argv,
            cwd: hook.cwd,
            environment: environment(hook, phase: phase, context: context, extra: extra),
            timeout: .seconds(hook.timeoutSeconds),
            shouldStop: { stoppable && cancellation.reason != nil }
        )
        let started = ContinuousClock.now
        let exit =
            (try? await runBlocking {
                process.run { output in
                    switch output {
                    case .line(let stream, let line):
                        events.emit(kind: "hook_output", message: line, fields: .object(base.merging(["stream": .string(stream.rawValue)]) { $1 }))
                    case .truncated(let lines, let bytes):
                        events.emit(
                            .warn,
                            kind: "hook_output",
                            message: "output truncated after \(lines) lines (\(bytes) bytes); the rest was not kept",
                            fields: .object(base.merging(["truncated": true]) { $1 })
                        )
                    }
                }
            }) ?? HookProcess.Exit(spawnError: "not started")
        let elapsed = ContinuousClock.now - started
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        var fields = base
        fields["phase"] = "exit"
        fields["exit_code"] = exit.code.map { .number(Double($0)) } ?? .null
        fields["signal"] = exit.signal.map { .number(Double($0)) } ?? .null
        fields["duration_ms"] = .number(Double(milliseconds))
        fields["timed_out"] = .bool(exit.timedOut)
        fields["canceled"] = .bool(exit.stopped)
        fields["leftovers_killed"] = .number(Double(exit.leftovers))
        if let error = exit.spawnError { fields["spawn_error"] = .string(error) }
        events.emit(
            exit.succeeded ? .info : .error,
            kind: "hook",
            message: "\(phase) hook \(index + 1)/\(count) \(describe(exit))",
            fields: .object(fields)
        )
        return exit
    }

    static func describe(_ exit: HookProcess.Exit) -> String {
        if let error = exit.spawnError { return "could not start: \(error)" }
        var text: String
        if let code = exit.code {
            text = "exited with \(code)"
        } else {
            text = "was killed by signal \(exit.signal ?? 0)"
        }
        if exit.timedOut { text += " (past its timeout; its process group was killed)" }
        if exit.stopped { text += " (the run was canceled; its process group was killed)" }
        if exit.leftovers > 0 { text += "; \(exit.leftovers) process(es) it left in its group were ended" }
        return text
    }

    /// A clean environment (docs/hooks.md, "Environment"): never the worker's or agent's own, which may hold secrets.
    static func environment(_ hook: JobHooks.Hook, phase: String, context: RunContext, extra: [String: String]) -> [String] {
        var environment: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": homeDirectory(),
            "LANG": "C.UTF-8",
        ]
        for (name, value) in hook.env { environment[name] = value }
        environment["BASTION_JOB_ID"] = context.job.id
        environment["BASTION_JOB_NAME"] = context.job.name
        environment["BASTION_RUN_ID"] = context.run.id
        environment["BASTION_HOOK"] = phase
        for (name, value) in extra { environment[name] = value }
        return environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.replacingOccurrences(of: "\0", with: ""))" }
    }

    /// The running user's home directory from the password database (not `$HOME`), else `/`.
    private static func homeDirectory() -> String {
        guard let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir else { return "/" }
        let home = String(cString: directory)
        return home.isEmpty ? "/" : home
    }
}
