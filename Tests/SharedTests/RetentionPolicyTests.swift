import Testing

@testable import Archive
@testable import Core

@Suite struct RetentionPolicyTests {
    @Test func keepsPinnedNewestAndRecentDeletesTheRest() {
        let day: Int64 = 86_400
        let now: Int64 = 100 * day
        let snapshots = (0..<10).map { RetentionPolicy.Snapshot(runId: "r\($0)", endedAt: now - Int64($0) * day, pinned: $0 == 9) }
        let decisions = RetentionPolicy(enabled: true, keepLast: 2, keepDays: 4).decide(snapshots, now: now, timeZone: .gmt)
        #expect(decisions.map(\.snapshot.runId) == (0..<10).map { "r\($0)" }, "newest first")
        #expect(decisions.filter(\.keep).map(\.snapshot.runId) == ["r0", "r1", "r2", "r3", "r4", "r9"])
        #expect(decisions[0].reasons == ["keep_last", "keep_days"] && decisions[4].reasons == ["keep_days"] && decisions[9].reasons == ["pinned"])
        #expect(RetentionPolicy().decide(snapshots, now: now, timeZone: .gmt).allSatisfy { $0.reasons.contains("retention_disabled") })
    }

    @Test func validatesWithTheOriginalsLimits() throws {
        #expect(try RetentionPolicy.parse(.object([:])) == RetentionPolicy())
        #expect(try RetentionPolicy.parse(.object(["enabled": true, "keep_last": 3])).keepLast == 3)
        for bad: JSONValue in [
            .object(["enabled": true]), .object(["enabled": true, "keep_last": 0, "keep_days": 0]), .object(["keep_last": 10_001]),
            .object(["keep_days": 3651]), .object(["max_delete_per_tick": 0]), .object(["max_delete_per_day": 100_001]),
            .object(["enabled": "yes"]), .object(["keep_last": .number(1.5)]), .array([]),
        ] {
            #expect(throws: ValidationError.self) { try RetentionPolicy.parse(bad) }
        }
    }
}
