import Foundation
import Store
import TestClients
import Testing

/// A catalog is built from an entries index a target (or an agent) wrote, which is not trusted to keep a number in range
/// or to be small (docs/security.md, "Archives and restore"): the restore preview's totals saturate and stop at their
/// deadline, and a glob search examines a bounded number of rows per request and goes on with a cursor.
struct SnapshotCatalogBoundsTests {
    /// Builds the catalog of an entries index holding `lines` (one JSON object each).
    static func catalog(_ lines: [String], _ dir: TemporaryDirectory, _ name: String) throws -> SnapshotCatalog {
        let index = dir.path + "/\(name).jsonl"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: index))
        _ = try Shell.run("zstd -q --rm -o '\(index).zst' '\(index)'")
        return try SnapshotCatalog.build(entriesIndex: index + ".zst", into: dir.path + "/catalog/\(name).sqlite")
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The largest size `JSONValue.int64Value` reads from an index (below 9e15): about a thousand of them pass `Int64.max`.
    static let huge: Int64 = 8_900_000_000_000_000

    /// A size below zero counts as nothing, for a selected file and for a directory whose entries sum below zero.
    @Test func negativeSizesNeverMakeATotalNegative() throws {
        let dir = TemporaryDirectory()
        let catalog = try Self.catalog(
            [
                #"{"path":"n","kind":"dir"}"#, #"{"path":"n/neg","kind":"file","size":-8999999999999999}"#,
                #"{"path":"n/pos","kind":"file","size":5}"#,
            ],
            dir,
            "negative"
        )
        let files = try #require(try catalog.totals(files: [Self.bytes("n/neg"), Self.bytes("n/pos")], dirs: nil, timeout: .seconds(30)))
        #expect(files == .init(files: 2, dirs: 0, bytes: 5), "\(files)")
        let directory = try #require(try catalog.totals(files: nil, dirs: [Self.bytes("n")], timeout: .seconds(30)))
        #expect(directory == .init(files: 2, dirs: 1, bytes: 0), "\(directory)")
    }

    /// Sums past `Int64.max` stop at `Int64.max` instead of trapping (which would take the API down): across selected
    /// directories, each of which SQL sums without overflow, and across selected files.
    @Test func totalsPastInt64MaxSaturate() throws {
        let dir = TemporaryDirectory()
        var lines = [#"{"path":"a","kind":"dir"}"#, #"{"path":"b","kind":"dir"}"#, #"{"path":"f","kind":"dir"}"#]
        for (directory, count) in [("a", 600), ("b", 600), ("f", 1100)] {
            for number in 0..<count { lines.append(#"{"path":"\#(directory)/\#(number)","kind":"file","size":\#(Self.huge)}"#) }
        }
        let catalog = try Self.catalog(lines, dir, "huge")
        let one = try #require(try catalog.totals(files: nil, dirs: [Self.bytes("a")], timeout: .seconds(30)))
        #expect(one == .init(files: 600, dirs: 1, bytes: 600 * Self.huge), "\(one)")
        let two = try #require(try catalog.totals(files: nil, dirs: [Self.bytes("a"), Self.bytes("b")], timeout: .seconds(30)))
        #expect(two == .init(files: 1200, dirs: 2, bytes: .max), "\(two)")
        let picked = try #require(try catalog.totals(files: (0..<1100).map { Self.bytes("f/\($0)") }, dirs: nil, timeout: .seconds(30)))
        #expect(picked == .init(files: 1100, dirs: 0, bytes: .max), "\(picked)")
    }

    /// A selection whose count outlasts the timeout answers nil, also when the deadline passes between statements
    /// (SQLite forgets an interrupt that arrives while no statement runs): here the paths under a selected directory,
    /// which need no statement at all.
    @Test func totalsStopAtTheirDeadlineBetweenStatements() throws {
        let dir = TemporaryDirectory()
        let catalog = try Self.catalog([#"{"path":"top","kind":"dir"}"#, #"{"path":"top/x","kind":"file","size":1}"#], dir, "deadline")
        let files = (0..<500_000).map { Self.bytes("top/p\($0)") }
        let clock = ContinuousClock()
        var whole: SnapshotCatalog.Totals?
        let took = try clock.measure { whole = try catalog.totals(files: files, dirs: [Self.bytes("top")], timeout: .seconds(300)) }
        #expect(whole == .init(files: 1, dirs: 1, bytes: 1), "\(String(describing: whole))")
        // The count must take well over the short timeout below, or this test would show nothing.
        try #require(took > .milliseconds(400), "the count took \(took): give it more paths")
        let cut = try catalog.totals(files: files, dirs: [Self.bytes("top")], timeout: .milliseconds(50))
        #expect(cut == nil, "a result after the deadline: \(String(describing: cut)) (the whole count took \(took))")
    }

    /// One glob request examines at most `globScanRows` rows: with matches only past that row it answers what it found
    /// so far (nothing) and a cursor, and following the cursors finds every match exactly once, in path order, across
    /// the request boundary (a match at the last row one request examines, another at the first row of the next).
    @Test(.timeLimit(.minutes(5))) func aGlobSearchExaminesABoundedNumberOfRowsAndGoesOn() throws {
        let dir = TemporaryDirectory()
        let scan = SnapshotCatalog.globScanRows
        // Row 1 is `d` (in the top directory), then `d`'s entries in name order: entry k is row k + 2.
        let total = scan + 10_000
        // Rows scan + 1 and scan + 2 (the first two the second request examines), two more later.
        let matching: Set<Int> = [scan - 1, scan, scan + 5_000, total - 1]
        var lines = [#"{"path":"d","kind":"dir"}"#]
        lines.reserveCapacity(total + 1)
        for number in 0..<total {
            let name = String(format: "f%07d", number) + (matching.contains(number) ? ".md" : "")
            lines.append(#"{"path":"d/\#(name)","kind":"file","size":1}"#)
        }
        let catalog = try Self.catalog(lines, dir, "glob")
        let expected = matching.sorted().map { "d/" + String(format: "f%07d", $0) + ".md" }

        // No match in the first `scan` rows: an empty page that still says where to go on.
        let first = try #require(try catalog.search(under: [], query: "*.md", after: nil, limit: 100))
        #expect(first.items.isEmpty && first.nextCursor != nil, "\(first.items.map(\.path)) \(String(describing: first.nextCursor))")

        for limit in [100, 1] {
            var found: [String] = []
            var cursor: SnapshotCatalog.Cursor?
            var requests = 0
            repeat {
                let page = try #require(
                    try catalog.search(under: [], query: "*.md", after: cursor.flatMap { SnapshotCatalog.Cursor(token: $0.token) }, limit: limit)
                )
                #expect(page.items.count <= limit)
                found += page.items.map { String(decoding: $0.path, as: UTF8.self) }
                cursor = page.nextCursor
                requests += 1
            } while cursor != nil && requests < 20
            #expect(found == expected, "limit \(limit): \(found)")
            #expect(requests >= 2, "limit \(limit): one request examined every row")
        }

        // A match at the very row a request stops at is answered by that request, and not again by the next.
        var found: [String] = []
        var cursor: SnapshotCatalog.Cursor?
        var requests = 0
        repeat {
            let page = try #require(try catalog.search(under: [], query: "f019999[89]*", after: cursor, limit: 100))
            found += page.items.map { String(decoding: $0.path, as: UTF8.self) }
            cursor = page.nextCursor
            requests += 1
        } while cursor != nil && requests < 20
        #expect(found == ["d/f0199998", "d/f0199999.md"], "\(found)")
    }
}
