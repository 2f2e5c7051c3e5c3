import Foundation
import Synchronization

/// Writes `runs.progress_json` at most once a second (and at once on a stage change) and sends each written value
/// over the bus so the API can forward it live.
public final class ProgressReporter: Sendable {
    private let database: AppDatabase
    private let runId: String
    private let claimToken: String
    private let publish: @Sendable (String, JSONValue) -> Void
    private let last = Mutex<(at: ContinuousClock.Instant, stage: String?)?>(nil)

    public init(database: AppDatabase, runId: String, claimToken: String, publish: @escaping @Sendable (String, JSONValue) -> Void) {
        self.database = database
        self.runId = runId
        self.claimToken = claimToken
        self.publish = publish
    }

    /// Records progress; dropped when less than a second passed since the last write and the stage is unchanged.
    public func update(_ progress: JSONValue) async {
        let stage: String? = if case .string(let value)? = progress["stage"] { value } else { nil }
        let now = ContinuousClock.now
        let due = last.withLock { previous -> Bool in
            if let previous, previous.stage == stage, now - previous.at < .seconds(1) { return false }
            previous = (now, stage)
            return true
        }
        guard due else { return }
        _ = try? await database.updateProgress(runId: runId, claimToken: claimToken, progress: progress)
        publish(runId, progress)
    }
}
