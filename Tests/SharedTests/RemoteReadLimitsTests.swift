import Archive
import Foundation
import Targets
import TestClients
import Testing

/// What a hostile target's manifest or entries index can make the hub do when it reads one file of a remote snapshot
/// (docs/security.md, "Targets and secrets"): no download that would leave less than the reserve free on the hub's
/// disk, and no list that grows with an index repeating one path.
struct RemoteReadLimitsTests {
    @Test func aDownloadThatWouldEatTheReserveIsRefusedBeforeAByte() throws {
        let dir = TemporaryDirectory()
        #expect(throws: Never.self) { try TargetStores.Limits(reserveBytes: 0).room(for: 1 << 20, in: dir.path) }
        for (reserve, bytes) in [(Int64(0), Int64.max), (Int64(0), Int64(1) << 62), (Int64.max, Int64(1)), (Int64(1) << 62, Int64(0))] {
            do {
                try TargetStores.Limits(reserveBytes: reserve).room(for: bytes, in: dir.path)
                Issue.record("reserve \(reserve), \(bytes) bytes: allowed")
            } catch let error as TargetError {
                #expect(error.code == "hub_disk_full", "\(error)")
            }
        }
    }

    @Test func aFilesPlanStopsAtItsFirstEntryHoweverOftenTheIndexRepeatsIt() throws {
        let dir = TemporaryDirectory()
        let index = dir.path + "/entries.jsonl"
        let line = #"{"path":"a","kind":"file","size":1,"offset":0}"# + "\n"
        try Data(String(repeating: line, count: 200_000).utf8).write(to: URL(fileURLWithPath: index))
        _ = try Shell.run("zstd -q --rm -o '\(index).zst' '\(index)'")
        let selection = try #require(RestoreWriter.Selection(files: [Array("a".utf8)], dirs: [[UInt8]]()))
        let one = try ChainPlan(entriesIndex: index + ".zst", selection: selection, stopAfter: 1)
        #expect(one.own.count == 1)
        let all = try ChainPlan(entriesIndex: index + ".zst", selection: selection)
        #expect(all.own.count == 200_000, "without a stop the plan takes every repeat (what the file read no longer does)")
    }
}
