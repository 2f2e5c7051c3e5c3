import Core
import Foundation
import Synchronization

/// Counters a backup thread updates and the executor's progress loop reads (docs/architecture.md, "Backups": progress goes to
/// `runs.progress_json` at most once a second). Also the run's issue log: totals plus the first 50 samples each.
public final class BuildProgress: Sendable {
    public struct Counts: Sendable, Equatable {
        public var files: Int64 = 0
        public var dirs: Int64 = 0
        public var bytes: Int64 = 0

        public init(files: Int64 = 0, dirs: Int64 = 0, bytes: Int64 = 0) {
            self.files = files
            self.dirs = dirs
            self.bytes = bytes
        }

        /// As `RunProgress` counts them.
        public var progressCounts: RunProgress.Counts { RunProgress.Counts(files: files, dirs: dirs, bytes: bytes) }
    }

    struct State {
        var stage = "scan"
        /// Each `setStage`, with when it happened: a stage shorter than a reporting interval is still recorded.
        var marks: [RunProgress.StageMark] = []
        var done = Counts()
        var total: Counts?
        var finished = false
        var warnings = 0
        var errors = 0
        var warningSamples: [String] = []
        var errorSamples: [String] = []
    }

    private let state = Mutex(State())

    public init() {}

    public func setStage(_ stage: String, total: Counts? = nil) {
        let now = Int64(saturating: Date().timeIntervalSince1970 * 1000, rounding: .down)
        state.withLock {
            $0.stage = stage
            $0.marks.append(RunProgress.StageMark(stage: stage, startedMs: now))
            $0.done = Counts()
            $0.total = total
        }
    }

    /// Totals found after the stage began (the pre-scan runs beside the build): kept only while `stage` is current.
    public func setTotal(_ total: Counts, ifStage stage: String) {
        state.withLock {
            if $0.stage == stage && !$0.finished { $0.total = total }
        }
    }

    public func add(files: Int64 = 0, dirs: Int64 = 0, bytes: Int64 = 0) {
        state.withLock {
            $0.done.files += files
            $0.done.dirs += dirs
            $0.done.bytes += bytes
        }
    }

    public func warning(_ message: String) {
        state.withLock {
            $0.warnings += 1
            if $0.warningSamples.count < 50 { $0.warningSamples.append(message) }
        }
    }

    public func error(_ message: String) {
        state.withLock {
            $0.errors += 1
            if $0.errorSamples.count < 50 { $0.errorSamples.append(message) }
        }
    }

    public func finish() { state.withLock { $0.finished = true } }
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// Sleeps for `interval`, or less when the build finishes first (noticed within 10 ms, so a finished build never
    /// waits out a whole reporting interval). True when finished.
    public func waitForFinish(upTo interval: Duration) async -> Bool {
        await waitUntil(upTo: interval) { isFinished }
    }

    public var issues: (warnings: Int, errors: Int, warningSamples: [String], errorSamples: [String]) {
        state.withLock { ($0.warnings, $0.errors, $0.warningSamples, $0.errorSamples) }
    }

    /// A progress sample (docs/formats.md, "Run progress"). Rate and ETA come from the previous sample of the same
    /// stage.
    public func snapshot(kind: String, previous: (ts: Double, stage: String, bytes: Int64)?) -> (RunProgress, (Double, String, Int64)) {
        let (stage, marks, done, total) = state.withLock { ($0.stage, $0.marks, $0.done, $0.total) }
        let now = Date().timeIntervalSince1970
        var progress = RunProgress(
            kind: kind,
            stage: stage,
            ts: Int64(saturating: now, rounding: .down),
            done: done.progressCounts,
            total: total?.progressCounts,
            stages: marks
        )
        if let previous, previous.stage == stage, now - previous.ts >= 0.2 {
            let rate = Double(done.bytes - previous.bytes) / (now - previous.ts)
            progress.rateBps = Int64(saturating: rate, rounding: .toNearestOrAwayFromZero)
            if let total, rate > 0 { progress.etaSeconds = Int64(saturating: Double(max(0, total.bytes - done.bytes)) / rate, rounding: .up) }
        }
        return (progress, (now, stage, done.bytes))
    }
}
