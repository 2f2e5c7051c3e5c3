import Foundation
import TestClients
import Testing

@testable import Core
@testable import Runs
@testable import Store

@Suite struct RunWorkerEventsTests {
    /// Emits one event, then returns after 0–40 ms: sometimes before the sink's 20 ms flush window closes, sometimes
    /// while that flush is being written. Either way the event must reach the log, before the terminal event.
    struct LastWordsExecutor: JobExecutor {
        let jobType = "sqlite"
        func execute(_ context: RunContext) async throws -> JSONValue {
            context.events.emit(kind: "last_words", message: "emitted just before returning")
            try? await Task.sleep(for: .microseconds(Int.random(in: 0...40_000)))
            return .object([:])
        }
    }

    @Test func anEventEmittedJustBeforeTheExecutorReturnsIsNeverLost() async throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase.open(in: dir.dataDirectory)
        let spec: JSONValue = .object([
            "v": 1, "type": "sqlite", "source": .object(["path": "/tmp/x.db"]),
            "target": .object(["type": "local_dir", "base_dir": "/tmp/t"]),
        ])
        let job = try await database.createJob(
            JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: "queue", spec: spec, defaultTimezone: "UTC")
        )
        var runs: [String] = []
        for _ in 0..<100 { runs.append(try #require(try await database.enqueueRun(jobId: job.id, source: "manual")).id) }
        let worker = RunWorker(database: database, settings: .init(workerId: "w"), executors: [LastWordsExecutor()], logger: testLogger)
        #expect(await worker.drainQueue() == 100)
        for run in runs {
            let kinds = try await database.events(runId: run, afterSeq: 0, limit: 10).map(\.kind)
            #expect(kinds == ["queued", "start", "last_words", "complete"], "\(run): \(kinds)")
        }
    }
}
