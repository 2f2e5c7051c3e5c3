import Core
import Foundation
import Store
import Synchronization

/// Writes `runs.progress_json` at most once a second (and at once on a stage change). The write hands the value to
/// this process's after-COMMIT publisher, which forwards it to the API's live subscribers (docs/architecture.md,
/// "After COMMIT").
public final class ProgressReporter: Sendable {
    private let database: AppDatabase
    private let runId: String
    private let claimToken: String
    private let last = Mutex<(at: ContinuousClock.Instant, stage: String)?>(nil)

    public init(database: AppDatabase, runId: String, claimToken: String) {
        self.database = database
        self.runId = runId
        self.claimToken = claimToken
    }

    /// Records progress; dropped when less than a second passed since the last write and the stage is unchanged.
    public func update(_ progress: RunProgress) async {
        let now = ContinuousClock.now
        let due = last.withLock { previous -> Bool in
            if let previous, previous.stage == progress.stage, now - previous.at < .seconds(1) { return false }
            previous = (now, progress.stage)
            return true
        }
        guard due else { return }
        _ = try? await database.updateProgress(runId: runId, claimToken: claimToken, progress: progress)
    }
}
