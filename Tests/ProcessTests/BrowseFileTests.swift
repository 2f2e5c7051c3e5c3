import Foundation
import TestClients
import Testing

/// One file of a snapshot through the real API and worker (docs/ui.md, "Snapshot browser: files, versions, search"):
/// downloads byte for byte (a file over many frames and parts, a name that is not UTF-8, a file an incremental snapshot
/// takes from the one before), the headers, hostile requests, a corrupt part; and the glob search.
@Suite(.serialized) struct BrowseFileTests {
    static func save(_ path: String, _ data: Data) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    func backup(_ fixture: RunsFixture, _ job: String) async throws -> String {
        let run = try await fixture.enqueue(job).id
        let finished = await eventually(timeout: .seconds(90)) { await fixture.status(run) == "success" }
        let log = try await fixture.events(run)
        #expect(finished, "\(log)")
        return run
    }

    static func percent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))!
    }

    @Test func downloadsHeadersHostileInputsCorruptPartAndGlobs() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        var generator = SystemRandomNumberGenerator()
        // Random bytes do not compress: 9 MiB is nine 1 MiB parts and ~36 frames of 256 KiB.
        let big = Data((0..<(9 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try Self.save(source + "/zz-big.bin", big)
        try Self.save(source + "/small.txt", Data("hello, snapshot\n".utf8))
        try Self.save(source + "/docs/readme.md", Data("# Read me\n".utf8))
        try Self.save(source + "/docs/a.txt", Data("a".utf8))
        try Self.save(source + "/docs/sub/x.txt", Data("x".utf8))
        try Self.save(source + "/notes.MD", Data("notes".utf8))
        try Self.save(source + "/report \"q\";.txt", Data("quoted".utf8))
        try Self.save(source + "/" + String(repeating: "a", count: 250), Data("long".utf8))
        try FileManager.default.createSymbolicLink(atPath: source + "/link", withDestinationPath: "small.txt")
        // A name that is not UTF-8: `latin1-\xE9.bin`.
        let latin1 = Array((source + "/latin1-").utf8) + [0xE9] + Array(".bin".utf8)
        let latin1Content = Data("not utf-8 name".utf8)
        let descriptor = latin1.withUnsafeBufferPointer { pointer -> Int32 in
            var bytes = Array(pointer) + [0]
            return bytes.withUnsafeMutableBufferPointer {
                open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644)
            }
        }
        #expect(descriptor >= 0)
        _ = latin1Content.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)

        try await fixture.startWorker("w0")
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "Files",
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": [source]],
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": 1_048_576],
                    "pipeline": ["incremental": ["full_every": 3]],
                ],
            ]
        )
        let job = try #require(created.json?["id"] as? String, "\(created.text)")
        let first = try await backup(fixture, job)
        let root = String(source.dropFirst())
        let api = fixture.base + "/api/runs/\(first)/file"

        // Byte for byte, with the headers of a download.
        let bigAnswer = try await HTTP.get(api + "?path=\(Self.percent(root + "/zz-big.bin"))")
        #expect(bigAnswer.status == 200 && bigAnswer.body == big, "\(bigAnswer.status) \(bigAnswer.body.count)")
        #expect(bigAnswer.headers["content-type"] == "application/octet-stream")
        #expect(bigAnswer.headers["x-content-type-options"] == "nosniff")
        #expect(bigAnswer.headers["content-length"] == String(big.count))
        #expect(bigAnswer.headers["content-disposition"] == "attachment; filename=\"zz-big.bin\"; filename*=UTF-8''zz-big.bin")
        let small = try await HTTP.get(api + "?path=\(Self.percent(root + "/small.txt"))")
        #expect(small.status == 200 && small.text == "hello, snapshot\n")
        let quoted = try await HTTP.get(api + "?path=\(Self.percent(root + "/report \"q\";.txt"))")
        #expect(quoted.status == 200 && quoted.text == "quoted")
        #expect(
            quoted.headers["content-disposition"] == "attachment; filename=\"report__q__.txt\"; filename*=UTF-8''report%20%22q%22%3B.txt",
            "\(quoted.headers)"
        )
        let latin1Path = Data(Array(latin1.dropFirst())).base64EncodedString()
        let odd = try await HTTP.get(api + "?path_b64=\(Self.percent(latin1Path))")
        #expect(odd.status == 200 && odd.body == latin1Content, "\(odd.status) \(odd.text)")
        #expect(odd.headers["content-disposition"] == "attachment; filename=\"latin1-___.bin\"; filename*=UTF-8''latin1-%EF%BF%BD.bin")
        // Auth like every endpoint.
        #expect(try await HTTP.get(api + "?path=\(Self.percent(root + "/small.txt"))", anonymous: true).status == 401)

        // Hostile requests: a clear 4xx each.
        let hostile: [(String, Int, String)] = [
            ("", 400, "invalid_query"),
            ("?path=\(Self.percent(root + "/../etc/passwd"))", 400, "invalid_path"),
            ("?path=\(Self.percent(root + "/./small.txt"))", 400, "invalid_path"),
            ("?path=\(Self.percent(root + "//small.txt"))", 400, "invalid_path"),
            ("?path_b64=\(Self.percent(Data(Array((root + "/small.txt").utf8) + [0]).base64EncodedString()))", 400, "invalid_query"),
            ("?path_b64=%%%", 400, "invalid_query"),
            ("?path=\(Self.percent(root + "/docs"))", 400, "not_a_file"),
            ("?path=\(Self.percent(root + "/link"))", 400, "not_a_file"),
            ("?path=\(Self.percent(root + "/missing.txt"))", 404, "path_not_found"),
            ("?path=\(String(repeating: "a", count: 70_000))", 400, "invalid_query"),
            ("?path=\(Self.percent(root + "/small.txt"))&location=nowhere", 400, "invalid_query"),
            ("?path=\(Self.percent(root + "/small.txt"))&location=copy:nope", 400, "invalid_query"),
        ]
        for (query, status, code) in hostile {
            let result = try await HTTP.get(api + query)
            #expect(
                result.status == status && result.json?["error"] as? String == code,
                "\(query.prefix(120)): \(result.status) \(result.text.prefix(300))"
            )
        }
        #expect(try await HTTP.get(fixture.base + "/api/runs/nope/file?path=a").status == 404)

        // Glob search: the catalog matches it, names or paths below the prefix, ASCII case-insensitive.
        func search(_ q: String, prefix: String = root) async throws -> [String] {
            let result = try await HTTP.get(fixture.base + "/api/runs/\(first)/entries?prefix=\(Self.percent(prefix))&q=\(Self.percent(q))")
            #expect(result.status == 200, "\(q): \(result.text)")
            return (result.json?["items"] as? [[String: Any]] ?? []).compactMap {
                ($0["path"] as? String)?.replacingOccurrences(of: root + "/", with: "")
            }
        }
        #expect(Set(try await search("*.md")) == ["notes.MD", "docs/readme.md"])
        #expect(Set(try await search("docs/**/*.txt")) == ["docs/a.txt", "docs/sub/x.txt"])
        #expect(Set(try await search("docs/*.txt")) == ["docs/a.txt"])
        #expect(Set(try await search("?.txt")) == ["docs/a.txt", "docs/sub/x.txt"])
        #expect(Set(try await search("[sz]*")) == ["small.txt", "docs/sub", "zz-big.bin"])
        #expect(Set(try await search("*.TXT", prefix: root + "/docs")) == ["docs/a.txt", "docs/sub/x.txt"])
        #expect(Set(try await search("latin1-?.bin")) == ["latin1-\u{FFFD}.bin"])
        #expect(Set(try await search("readme")) == ["docs/readme.md"], "a query without glob characters is a substring")
        // A pattern that backtracking would take forever on, against a 250-byte name: answered at once, no match.
        let started = ContinuousClock.now
        #expect(try await search("*a*a*a*a*a*a*a*a*a*a*a*a*b").isEmpty)
        #expect(ContinuousClock.now - started < .seconds(3))

        // An incremental snapshot: the unchanged big file's bytes are in the first snapshot; read from there.
        try Self.save(source + "/small.txt", Data("changed\n".utf8))
        let second = try await backup(fixture, job)
        let fromChain = try await HTTP.get(fixture.base + "/api/runs/\(second)/file?path=\(Self.percent(root + "/zz-big.bin"))")
        #expect(fromChain.status == 200 && fromChain.body == big, "\(fromChain.status) \(fromChain.text.prefix(200))")
        #expect(try await HTTP.get(fixture.base + "/api/runs/\(second)/file?path=\(Self.percent(root + "/small.txt"))").text == "changed\n")

        // A corrupt part: never the wrong bytes. Its first byte flipped in every part: the read fails before the first byte.
        let directory = "\(fixture.targetDir)/\(job)/\(first)"
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("payload.part") }.sorted()
        #expect(parts.count >= 9, "\(parts)")
        // The last part only: the big file's first bytes stream, then the stream breaks before its end.
        try flip(directory + "/" + parts.last!)
        let broken: HTTPResult? = try? await HTTP.get(api + "?path=\(Self.percent(root + "/zz-big.bin"))")
        #expect(broken == nil || broken!.status != 200 || broken!.body.count < big.count, "a corrupt part served \(broken?.body.count ?? -1) bytes")
        #expect(broken?.body != big)
        for part in parts.dropLast() { try flip(directory + "/" + part) }
        let refused = try await HTTP.get(api + "?path=\(Self.percent(root + "/small.txt"))")
        #expect(refused.status == 502 && refused.json?["error"] as? String == "snapshot_corrupt", "\(refused.status) \(refused.text)")
    }

    func flip(_ path: String, at offset: UInt64 = 100) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
    }
}
