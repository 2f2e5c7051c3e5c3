import Core
import Foundation
import Store
import Synchronization

/// Writes `runs.progress_json` at most once a second (and at once on a stage change). The write hands the value to
/// this process's after-COMMIT publisher, which forwards it to the API's live subscribers (docs/architecture.md,
/// "After COMMIT"). Every write carries the run's stage history (docs/formats.md, "Run progress"): the marks a sample
/// brings (a `BuildProgress` notes each stage as it begins) and, for a sample without marks, the moment its stage was
/// first seen here.
public final class ProgressReporter: RunProgressSink {
    private let database: AppDatabase
    private let runId: String
    private let claimToken: String
    private let last = Mutex<(at: ContinuousClock.Instant, stage: String)?>(nil)
    private let marks = Mutex<[RunProgress.StageMark]>([])

    public init(database: AppDatabase, runId: String, claimToken: String) {
        self.database = database
        self.runId = runId
        self.claimToken = claimToken
    }

    /// The stage history so far (the run's stage spans, docs/observability.md).
    public var stageMarks: [RunProgress.StageMark] { marks.withLock { $0 } }

    /// Records progress; dropped when less than a second passed since the last write and the stage is unchanged.
    public func update(_ progress: RunProgress) async {
        var progress = progress
        progress.stages = marks.withLock { marks in
            Self.merge(&marks, progress)
            return marks
        }
        let now = ContinuousClock.now
        let due = last.withLock { previous -> Bool in
            if let previous, previous.stage == progress.stage, now - previous.at < .seconds(1) { return false }
            previous = (now, progress.stage)
            return true
        }
        guard due else { return }
        _ = try? await database.updateProgress(runId: runId, claimToken: claimToken, progress: progress)
    }

    /// Adds the sample's marks that are newer than the history's last, or, when it brings none, a mark for a stage
    /// that differs from the last one.
    public static func merge(_ marks: inout [RunProgress.StageMark], _ progress: RunProgress) {
        if progress.stages.isEmpty {
            if marks.last?.stage != progress.stage {
                marks.append(
                    RunProgress.StageMark(stage: progress.stage, startedMs: Int64(saturating: Date().timeIntervalSince1970 * 1000, rounding: .down))
                )
            }
            return
        }
        let after = marks.last?.startedMs ?? Int64.min
        for mark in progress.stages where mark.startedMs >= after && !marks.contains(mark) { marks.append(mark) }
    }
}
