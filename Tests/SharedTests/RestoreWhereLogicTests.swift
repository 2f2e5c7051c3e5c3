import Archive
import Core
import Foundation
import Store
import TestClients
import Testing

/// The rules behind "restore where people want it" (docs/formats.md, "Run operations"): what the original location
/// is per job type, which prefixes a selection can lose, the operation's stored form, and a selection's totals.
struct RestoreWhereLogicTests {
    static let target: JSONValue = ["type": "local_dir", "base_dir": "/backups"]

    @Test func theOriginalLocationIsWhereTheArchivePathsAreRelativeTo() throws {
        let plain = try JobSpec.parse(["v": 1, "type": "filesystem", "source": ["paths": ["/home/ann", "/etc"]], "target": Self.target])
        #expect(RestoreOperation.originalDirectory(spec: plain, summary: nil) == "/")
        let rooted = try JobSpec.parse([
            "v": 1, "type": "filesystem", "source": ["paths": ["/srv/app/"], "root": "/srv/app/"], "target": Self.target,
        ])
        #expect(RestoreOperation.originalDirectory(spec: rooted, summary: nil) == "/srv/app")
        let sqlite = try JobSpec.parse(["v": 1, "type": "sqlite", "source": ["path": "/var/lib/app/data.db"], "target": Self.target])
        #expect(RestoreOperation.originalDirectory(spec: sqlite, summary: nil) == "/var/lib/app")
        let vaultwarden = try JobSpec.parse(["v": 1, "type": "vaultwarden", "source": ["data_dir": "/srv/vw/data"], "target": Self.target])
        #expect(RestoreOperation.originalDirectory(spec: vaultwarden, summary: nil) == "/srv/vw/data")
        let postgres = try JobSpec.parse(["v": 1, "type": "postgres", "source": ["databases": ["app"]], "target": Self.target])
        #expect(RestoreOperation.originalDirectory(spec: postgres, summary: nil) == nil)
    }

    @Test func aPrefixMustLeadEverySelectedPathByWholeComponents() throws {
        let selection = try #require(RestoreWriter.Selection(files: ["home/ann/notes.txt"], dirs: ["home/ann/docs"]))
        #expect(selection.strippable(Array("home/ann".utf8))?.count == 2)
        #expect(selection.strippable(Array("./home//ann/".utf8))?.count == 2)
        #expect(selection.strippable(Array("home".utf8))?.count == 1)
        for refused in ["home/an", "home/ann/docs", "/home/ann", "home/../home", "", ".", "etc", "home/ann\u{0}"] {
            #expect(selection.strippable(Array(refused.utf8)) == nil, "\(refused)")
        }
    }

    @Test func theStoredOperationKeepsTheOriginalAndThePrefixAsBytes() throws {
        var operation = RestoreOperation(directory: "/", conflictPolicy: .overwrite, selection: .init(files: [], dirs: [Array("d\u{E9}".utf8)]))
        operation.original = true
        operation.stripPrefix = [0x64, 0xE9]
        let stored = operation.json
        #expect(stored["destination"]?["type"]?.stringValue == "original")
        #expect(stored["strip_prefix_b64"]?.stringValue == Data([0x64, 0xE9]).base64EncodedString())
        #expect(try RestoreOperation(json: stored) == operation)
        var text = RestoreOperation(directory: "/srv/restore")
        text.stripPrefix = Array("home/ann".utf8)
        #expect(text.json["strip_prefix"]?.stringValue == "home/ann" && text.json["destination"]?["type"]?.stringValue == "local_fs")
        #expect(try RestoreOperation(json: text.json) == text)
    }

    @Test func aSelectionsTotalsCountEachEntryOnce() throws {
        let dir = TemporaryDirectory()
        let source = dir.path + "/src"
        for (name, text) in [("docs/a.txt", "aaaa"), ("docs/sub/b.txt", "bb"), ("notes.txt", "n"), ("other/c.txt", "ccc")] {
            try SnapshotCatalogTests.write(source + "/" + name, text)
        }
        let catalog = try SnapshotCatalogTests.snapshot(source, dir, "totals")
        let top = String(source.dropFirst())
        let bytes = { (path: String) in Array((top + path).utf8) }
        let whole = try #require(try catalog.totals(files: nil, dirs: nil, timeout: .seconds(5)))
        // src, docs, docs/sub, other; four files; the directories above src are implied, not counted.
        #expect(whole == .init(files: 4, dirs: 4, bytes: 10), "\(whole)")
        // docs and (inside it) docs/sub and docs/a.txt count once; notes.txt once though listed twice.
        let picked = try #require(
            try catalog.totals(
                files: [bytes("/docs/a.txt"), bytes("/notes.txt"), bytes("/notes.txt")],
                dirs: [bytes("/docs/sub"), bytes("/docs")],
                timeout: .seconds(5)
            )
        )
        #expect(picked == .init(files: 3, dirs: 2, bytes: 7), "\(picked)")
        let missing = try #require(try catalog.totals(files: [bytes("/nothing")], dirs: [], timeout: .seconds(5)))
        #expect(missing == .init())
    }
}
