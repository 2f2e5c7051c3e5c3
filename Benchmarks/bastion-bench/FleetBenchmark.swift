import ArgumentParser
import Core
import Foundation
import GRDB
import Secrets
import Store
import Synchronization
import TestClients

/// The hub at fleet size (docs/agents.md, "The hub at fleet size"): a release bastion-api with `agents` enrolled agents
/// linked over real WebSockets at once. Each says `hello` (heartbeat 15 s) and pings every `ping-seconds`, staggered;
/// `running` of them hold a run and stream its events (`run_events` frames of what each produced in the last
/// `frame-ms`, at `events-per-second` each), and `browsers` browser-like WebSockets follow those runs' live logs.
/// Prints, for a quiet phase (pings only) and a busy one (pings and events): the hub's CPU (% of one core), its RSS
/// (end and peak), database commits per second (`bastion_db_commits_total` on `/metrics`, when the hub has it), bytes
/// the hub wrote to storage per second, events stored per second, and the live-log latency (event created in the agent
/// → received by the browser) p50/p99/max.
struct FleetBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fleet", abstract: "Many agents on one hub: CPU, RSS, DB writes, live-log latency.")

    @Option(help: "Agents connected at once.") var agents = 1000
    @Option(help: "Agents among them running a backup that streams events.") var running = 50
    @Option(help: "Events per second per running agent.") var eventsPerSecond = 20
    @Option(help: "Milliseconds between a running agent's run_events frames.") var frameMs = 100
    @Option(help: "Browser WebSockets following the running runs' live logs.") var browsers = 10
    @Option(help: "Seconds between an agent's pings.") var pingSeconds = 15.0
    @Option(help: "Seconds of each phase (quiet, then busy).") var seconds = 30.0

    func run() async throws {
        let dir = try BenchDirectory("fleet")
        defer { dir.remove() }
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let api = try await TimedAPI(data: dir.dataDirectory, database: database)
        let hub = HubProcess(pid: api.pid)
        let setupStarted = monotonicNanos()

        // Enrolment, directly in the database (as `POST /agent/enroll` stores it), and one job and queued run for each
        // agent that will be running.
        let enrolment = AgentCredential.generate()
        try await database.createEnrollmentToken(hash: enrolment.hash, expiresAt: unixNow() + 3600, remainingUses: agents)
        var enrolledAgents: [SimulatedAgent] = []
        for index in 0..<agents {
            let key = AgentCredential.generate()
            guard case .enrolled(let agent) = try await database.enroll(tokenHash: enrolment.hash, name: "fleet-\(index)", keyHash: key.hash) else {
                throw ValidationError("enrolment failed")
            }
            var runId: String?
            if index < running {
                var input = try JobInput(
                    name: "fleet-\(index)",
                    schedule: nil,
                    scheduleTimezone: nil,
                    overlapPolicy: "queue",
                    spec: .object([
                        "v": 1, "type": "sqlite", "source": .object(["path": "/dev/null"]),
                        "target": .object(["type": "local_dir", "base_dir": "/tmp/none"]),
                    ]),
                    defaultTimezone: "UTC"
                )
                input.agentId = agent.id
                let job = try await database.createJob(input)
                runId = try await database.enqueueRun(jobId: job.id, source: "manual")?.id
            }
            enrolledAgents.append(SimulatedAgent(index: index, key: key.text, runId: runId))
        }
        let fleet = enrolledAgents
        let enrolled = Double(monotonicNanos() - setupStarted) / 1e9

        // Links: connect, hello, and a reader thread each (acks, pongs, its task; the hub's pings are answered).
        let connectStarted = monotonicNanos()
        for agent in fleet {
            agent.link = try await RawWebSocket.connect(port: api.port, path: "/agent/ws", headers: ["Authorization": "Bearer \(agent.key)"])
            try await agent.link!.send(#"{"v":1,"type":"hello","heartbeat_seconds":15,"info":{"version":"fleet-bench"}}"#)
            agent.startReader()
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, fleet.contains(where: { !$0.ready }) { try await Task.sleep(for: .milliseconds(50)) }
        let notReady = fleet.filter { !$0.ready }.count
        let connected = Double(monotonicNanos() - connectStarted) / 1e9
        print(
            "Fleet: \(agents) agents on one \(Self.buildKind) bastion-api, \(ProcessInfo.processInfo.activeProcessorCount) cores; pings every \(pingSeconds) s, "
                + "\(running) running at \(eventsPerSecond) events/s each (frames every \(frameMs) ms), \(browsers) browsers on their live logs"
        )
        print(
            String(
                format: "setup: enrolled in %.1f s, linked and said hello in %.1f s (%d not ready), hub RSS %.0f MiB",
                enrolled,
                connected,
                notReady,
                hub.rssMiB
            )
        )

        // Browsers: each follows one running run's events from now on.
        let latencies = Samples()
        let sentAt = Mutex<[Int64: UInt64]>([:])
        var sockets: [RawWebSocket] = []
        let runners = Array(fleet.prefix(running))
        for index in 0..<min(browsers, running > 0 ? browsers : 0) {
            let agent = runners[index % runners.count]
            let socket = try await RawWebSocket.connect(
                port: api.port,
                path: "/api/runs/\(agent.runId!)/events/ws?after_seq=0",
                headers: ["Cookie": "bastion_session=\(api.token)", "Origin": api.base]
            )
            sockets.append(socket)
            Thread {
                while let text = try? socket.nextTextBlocking(timeout: 3600) {
                    let now = monotonicNanos()
                    guard let key = Self.eventKey(in: text), let sent = sentAt.withLock({ $0[key] }) else { continue }
                    latencies.add([now &- sent])
                }
            }
            .start()
        }
        let watched = Set(runners.prefix(browsers).map(\.index))

        print("phase   hub CPU (% core)  RSS end/peak (MiB)  DB commits/s  storage writes (KiB/s)  events stored/s  live log p50/p99/max (ms)")
        for busy in [false, true] {
            let stop = Atomic<Bool>(false)
            // Pings, staggered over the period.
            let pinger = Thread {
                let period = UInt64(pingSeconds * 1e9)
                let start = monotonicNanos()
                var next = fleet.map { start + period * UInt64($0.index) / UInt64(max(1, fleet.count)) }
                while !stop.load(ordering: .relaxed) {
                    let now = monotonicNanos()
                    for (slot, agent) in fleet.enumerated() where next[slot] <= now {
                        try? agent.link?.sendBlocking(#"{"v":1,"type":"ping"}"#)
                        next[slot] += period
                    }
                    usleep(10_000)
                }
            }
            pinger.start()
            let streamer = Thread {
                guard busy else { return }
                let interval = UInt64(frameMs) * 1_000_000
                let perFrame = Double(eventsPerSecond) * Double(frameMs) / 1000
                var owed = [Double](repeating: 0, count: runners.count)
                var next = monotonicNanos()
                while !stop.load(ordering: .relaxed) {
                    for (slot, agent) in runners.enumerated() {
                        guard let token = agent.claimToken else { continue }
                        owed[slot] += perFrame
                        let count = Int(owed[slot])
                        guard count > 0 else { continue }
                        owed[slot] -= Double(count)
                        var events: [String] = []
                        let now = monotonicNanos()
                        for _ in 0..<count {
                            agent.aseq += 1
                            if watched.contains(agent.index) { sentAt.withLock { $0[Self.key(agent.index, agent.aseq)] = now } }
                            events.append(
                                #"{"aseq":\#(agent.aseq),"level":"info","kind":"log","message":"m\#(agent.index)-\#(agent.aseq) /srv/data/file-\#(agent.aseq).bin added","fields":null}"#
                            )
                        }
                        try? agent.link?.sendBlocking(
                            #"{"v":1,"type":"run_events","run_id":"\#(agent.runId!)","claim_token":"\#(token)","events":[\#(events.joined(separator: ","))]}"#
                        )
                    }
                    next += interval
                    let now = monotonicNanos()
                    if next > now { usleep(UInt32((next - now) / 1000)) }
                }
            }
            streamer.start()
            try await Task.sleep(for: .seconds(2))
            let before = try await hub.sample(database: database, base: api.base)
            let samplesBefore = latencies.count
            var peak = 0.0
            let phaseEnd = monotonicNanos() + UInt64(seconds * 1e9)
            while monotonicNanos() < phaseEnd {
                peak = max(peak, hub.rssMiB)
                try await Task.sleep(for: .milliseconds(500))
            }
            let after = try await hub.sample(database: database, base: api.base)
            stop.store(true, ordering: .relaxed)
            while !pinger.isFinished || !streamer.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(500))
            let elapsed = Double(after.time - before.time) / 1e9
            let summary = latencies.summary(from: samplesBefore)
            let commits = after.commits.flatMap { end in before.commits.map { String(format: "%.0f", (end - $0) / elapsed) } } ?? "n/a"
            let live = busy ? String(format: "%.1f / %.1f / %.1f (%d)", summary.p50 / 1e6, summary.p99 / 1e6, summary.max / 1e6, summary.count) : "-"
            let row = String(
                format: "%12.1f %12.0f / %4.0f",
                Double(after.cpuTicks - before.cpuTicks) / Double(sysconf(Int32(_SC_CLK_TCK))) / elapsed * 100,
                hub.rssMiB,
                max(peak, hub.peakRSSMiB)
            )
            let rates = String(
                format: "%18.0f %20.0f",
                Double(after.writeBytes - before.writeBytes) / 1024 / elapsed,
                Double(after.events - before.events) / elapsed
            )
            print("\(busy ? "busy " : "quiet") \(row) \(commits.leftPadded(14)) \(rates)   \(live)")
        }
        let dropped = fleet.filter(\.closed).count
        print("agents whose link closed during the run: \(dropped)")
        for agent in fleet { agent.link?.shutdown() }
        for socket in sockets { socket.shutdown() }
    }

    /// `release` or `debug`: the bastion-api beside this binary is built the same way.
    static var buildKind: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path.contains("/debug/") ? "debug" : "release"
    }

    static func key(_ agent: Int, _ aseq: Int64) -> Int64 { Int64(agent) << 40 | aseq }

    /// The agent and aseq in an event frame's message (`"message":"m<agent>-<aseq> …"`).
    static func eventKey(in text: String) -> Int64? {
        guard let range = text.range(of: #""message":"m"#) else { return nil }
        let rest = text[range.upperBound...]
        guard let dash = rest.firstIndex(of: "-"), let agent = Int(rest[..<dash]) else { return nil }
        guard let aseq = Int64(rest[rest.index(after: dash)...].prefix { $0.isNumber }) else { return nil }
        return key(agent, aseq)
    }
}

/// One simulated agent: its key, link, run and claim; its reader thread answers tasks with `ack`.
final class SimulatedAgent: @unchecked Sendable {
    let index: Int
    let key: String
    let runId: String?
    var link: RawWebSocket?
    /// Written by the streamer thread only.
    var aseq: Int64 = 0
    private let state = Mutex<(helloAcked: Bool, claimToken: String?, closed: Bool)>((false, nil, false))

    init(index: Int, key: String, runId: String?) {
        self.index = index
        self.key = key
        self.runId = runId
    }

    var claimToken: String? { state.withLock { $0.claimToken } }
    var closed: Bool { state.withLock { $0.closed } }
    /// Said hello and, when it has a run, holds its task.
    var ready: Bool { state.withLock { $0.helloAcked && (runId == nil || $0.claimToken != nil) } }

    func startReader() {
        guard let link else { return }
        Thread { [self] in
            while let text = try? link.nextTextBlocking(timeout: 3600) {
                if text.contains(#""type":"hello_ack""#) {
                    state.withLock { $0.helloAcked = true }
                } else if text.contains(#""type":"task""#), let message = try? JSONValue.parse(text),
                    let taskId = message["task_id"]?.stringValue, let token = message["claim_token"]?.stringValue
                {
                    try? link.sendBlocking(#"{"v":1,"type":"ack","task_id":"\#(taskId)"}"#)
                    if taskId == runId { state.withLock { $0.claimToken = token } }
                }
            }
            state.withLock { $0.closed = true }
        }
        .start()
    }
}

/// The hub's process, read from /proc, and the database's counts.
struct HubProcess {
    let pid: Int32

    struct Sample {
        var time: UInt64
        var cpuTicks: Int
        var writeBytes: Int
        var commits: Double?
        var events: Int
    }

    func sample(database: AppDatabase, base: String) async throws -> Sample {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let ticks = fields.count > 12 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
        let io = (try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8)) ?? ""
        let written = io.split(separator: "\n").first { $0.hasPrefix("write_bytes:") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        let events = try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run_events") ?? 0 }
        return Sample(time: monotonicNanos(), cpuTicks: ticks, writeBytes: written, commits: Self.commits(base: base), events: events)
    }

    /// `bastion_db_commits_total` from the hub's `/metrics`, when it counts them.
    static func commits(base: String) -> Double? {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", base + "/metrics"]
        let pipe = Pipe()
        curl.standardOutput = pipe
        guard (try? curl.run()) != nil else { return nil }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("bastion_db_commits_total") }) else { return nil }
        return Double(line.split(separator: " ").last ?? "")
    }

    private func status(_ field: String) -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
        return (Double(line.split(separator: " ").dropLast().last ?? "") ?? 0) / 1024
    }

    var rssMiB: Double { status("VmRSS") }
    var peakRSSMiB: Double { status("VmHWM") }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
