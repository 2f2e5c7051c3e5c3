import Core
import Testing

@testable import Runs

/// The stage history a run's progress carries (docs/formats.md, "Run progress").
struct ProgressStagesTests {
    private func sample(_ stage: String, _ marks: [(String, Int64)] = []) -> RunProgress {
        RunProgress(kind: "backup", stage: stage, done: .init(), stages: marks.map { RunProgress.StageMark(stage: $0.0, startedMs: $0.1) })
    }

    @Test func samplesWithoutMarksAddAStageWhenItChanges() {
        var marks: [RunProgress.StageMark] = []
        ProgressReporter.merge(&marks, sample("snapshot"))
        ProgressReporter.merge(&marks, sample("snapshot"))
        ProgressReporter.merge(&marks, sample("upload"))
        #expect(marks.map(\.stage) == ["snapshot", "upload"])
        #expect(marks[0].startedMs <= marks[1].startedMs)
    }

    @Test func aBuildsMarksAreTakenOnceEvenWhenAStageLastedLessThanASample() {
        var marks = [RunProgress.StageMark(stage: "snapshot", startedMs: 100)]
        // The scan began and ended between two samples: the build's own marks still carry it.
        ProgressReporter.merge(&marks, sample("packaging", [("scan", 200), ("packaging", 200)]))
        ProgressReporter.merge(&marks, sample("packaging", [("scan", 200), ("packaging", 200)]))
        #expect(marks.map(\.stage) == ["snapshot", "scan", "packaging"])
        #expect(marks.map(\.startedMs) == [100, 200, 200])
    }

    @Test func theHistoryRoundTripsThroughTheStoredForm() throws {
        let progress = sample("upload", [("scan", 1), ("packaging", 2), ("upload", 3)])
        let read = try #require(RunProgress(json: progress.json))
        #expect(read == progress)
        #expect(RunProgress(json: sample("scan").json)?.stages == [])
    }
}
