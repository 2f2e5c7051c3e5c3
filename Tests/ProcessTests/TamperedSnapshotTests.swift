import Foundation
import TestClients
import Testing

/// A snapshot rewritten on its `local_dir` target by someone who recomputes every hash (a compromised NAS), restored
/// through the real API and worker (docs/security.md, "Archives and restore"): each tampering ends the restore
/// `snapshot_corrupt` quickly, the worker survives it, nothing of the tampered member is written, and the sound
/// snapshot restores afterwards.
@Suite(.serialized) struct TamperedSnapshotTests {
    /// `manifest.json`'s artifacts recomputed from the files as they are now (size and BLAKE3), as the attacker would.
    func rehash(_ runDir: String, override: ((inout [String: Any]) -> Void)? = nil) throws {
        let url = URL(fileURLWithPath: runDir + "/manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var artifacts = try #require(manifest["artifacts"] as? [[String: Any]])
        for index in artifacts.indices {
            let path = runDir + "/" + (artifacts[index]["name"] as? String ?? "")
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            artifacts[index]["size"] = (attributes[.size] as? NSNumber)?.intValue ?? 0
            artifacts[index]["hash"] = try Shell.run("b3sum --no-names '\(path)'").trimmed
        }
        manifest["artifacts"] = artifacts
        override?(&manifest)
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
    }

    /// A tar stream holding one GNU sparse member whose `realsize` is Int64.min (the tar reader's map check overflowed).
    static func hostileTar() -> [UInt8] {
        func header(_ name: String, type: UInt8, size: Int) -> [UInt8] {
            var block = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) { for (index, byte) in text.utf8.enumerated() { block[offset + index] = byte } }
            put(name, at: 0)
            put("0000644", at: 100)
            put("0000000", at: 108)
            put("0000000", at: 116)
            put(String(format: "%011o", size), at: 124)
            put("00000000000", at: 136)
            block[156] = type
            put("ustar\u{0}00", at: 257)
            for index in 148..<156 { block[index] = UInt8(ascii: " ") }
            put(String(format: "%06o", block.reduce(0) { $0 + Int($1) }) + "\u{0} ", at: 148)
            return block
        }
        func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512) }
        var records: [UInt8] = []
        for (key, value) in [
            ("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", "f"), ("GNU.sparse.realsize", "-9223372036854775808"),
        ] {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length { length += 1 }
            records += Array("\(length)\(body)".utf8)
        }
        return header("PaxHeaders/f", type: UInt8(ascii: "x"), size: records.count) + padded(records)
            + header("GNUSparseFile.0/f", type: UInt8(ascii: "0"), size: 512) + padded(Array("1\n5\n1\n".utf8))
            + [UInt8](repeating: 0, count: 1024)
    }

    @Test(.timeLimit(.minutes(5))) func aTamperedSnapshotFailsSnapshotCorruptAndTheWorkerSurvives() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try FileManager.default.createDirectory(atPath: source + "/a", withIntermediateDirectories: true)
        try "hello\n".write(toFile: source + "/a/hello.txt", atomically: true, encoding: .utf8)
        try "other\n".write(toFile: source + "/a/other.txt", atomically: true, encoding: .utf8)
        let worker = try await fixture.startWorker("w0")
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]],
            "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": 1_048_576],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "files", "spec": spec])
        let job = try #require(created.json?["id"] as? String)
        let backup = try await fixture.enqueue(job).id
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(backup) == "success" })
        let runDir = "\(fixture.targetDir)/\(job)/\(backup)"
        let saved = fixture.scratch.path + "/saved"
        try #require(try Shell.run("cp -a '\(runDir)' '\(saved)'").status == 0)
        func putBack() throws { try #require(try Shell.run("rm -rf '\(runDir)' && cp -a '\(saved)' '\(runDir)'").status == 0) }

        var count = 0
        func restore() async throws -> (status: String, error: String?, message: String, out: String, seconds: Double) {
            count += 1
            let out = fixture.scratch.path + "/out\(count)"
            let started = ContinuousClock.now
            let queued = try await HTTP.send(
                "POST",
                fixture.base + "/api/runs/\(backup)/restore",
                json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
            )
            let id = try #require(queued.json?["run_id"] as? String, "\(String(decoding: queued.body, as: UTF8.self))")
            _ = await eventually(timeout: .seconds(60)) { ["success", "failed", "canceled"].contains(await fixture.status(id) ?? "") }
            let run = try await fixture.run(id)
            let seconds = Double((ContinuousClock.now - started).components.seconds)
            return (run["status"] as? String ?? "?", run["error"] as? String, "\(run["error_message"] ?? run)", out, seconds)
        }

        // 1. The index and the payload disagree (a file's hash in the index is another content's): the whole restore
        // compared nothing and ended `success`.
        let index = runDir + "/entries.jsonl.zst"
        var lines = try Shell.run("zstd -dc '\(index)'").output.split(separator: "\n").map(String.init)
        let hello = try #require(lines.firstIndex { $0.contains("hello.txt") })
        let otherHash = try Shell.run("printf 'not hello\\n' | b3sum --no-names").trimmed
        let helloHash = try Shell.run("b3sum --no-names '\(source)/a/hello.txt'").trimmed
        lines[hello] = lines[hello].replacingOccurrences(of: helloHash, with: otherHash)
        try (lines.joined(separator: "\n") + "\n").write(toFile: fixture.scratch.path + "/index.jsonl", atomically: true, encoding: .utf8)
        try #require(try Shell.run("zstd -q -f '\(fixture.scratch.path)/index.jsonl' -o '\(index)'").status == 0)
        try rehash(runDir)
        var result = try await restore()
        #expect(result.status == "failed" && result.error == "snapshot_corrupt", "index and payload disagree: \(result)")
        #expect(!FileManager.default.fileExists(atPath: result.out + source + "/a/hello.txt"), "the member that differs is not kept")
        try putBack()

        // 2. A payload whose tar holds a sparse member with realsize Int64.min (the worker trapped, restarted, took
        // the run back and trapped again).
        let tar = fixture.scratch.path + "/hostile.tar"
        try Data(Self.hostileTar()).write(to: URL(fileURLWithPath: tar))
        try #require(try Shell.run("zstd -q -f '\(tar)' -o '\(runDir)/payload.part000001'").status == 0)
        try rehash(runDir)
        result = try await restore()
        #expect(result.status == "failed" && result.error == "snapshot_corrupt", "sparse realsize: \(result)")
        #expect(worker.isRunning, "the worker survives a hostile tar:\n\(worker.log.suffix(2000))")
        try putBack()

        // 3. The part is a symlink to a copy of it elsewhere on the host (followed before).
        let part = runDir + "/payload.part000001"
        try FileManager.default.moveItem(atPath: part, toPath: fixture.scratch.path + "/elsewhere")
        try FileManager.default.createSymbolicLink(atPath: part, withDestinationPath: fixture.scratch.path + "/elsewhere")
        result = try await restore()
        #expect(result.status == "failed" && result.error == "snapshot_corrupt", "symlinked part: \(result)")
        try putBack()

        // 4. The part is a FIFO: the worker blocked in open(2) for good (heartbeats fresh, cancel ignored).
        unlink(part)
        #expect(mkfifo(part, 0o644) == 0)
        result = try await restore()
        #expect(result.status == "failed" && result.error == "snapshot_corrupt" && result.seconds < 30, "FIFO part: \(result)")
        try putBack()

        // 5. An artifact size of 1e20 in the manifest (Int64(Double) trapped) and a name that leaves the directory.
        try rehash(runDir) { manifest in
            var artifacts = manifest["artifacts"] as? [[String: Any]] ?? []
            artifacts[0]["size"] = 1e20
            manifest["artifacts"] = artifacts
        }
        result = try await restore()
        #expect(result.status == "failed" && result.error == "snapshot_corrupt", "size 1e20: \(result)")
        try putBack()
        try rehash(runDir) { manifest in
            var artifacts = manifest["artifacts"] as? [[String: Any]] ?? []
            for index in artifacts.indices where (artifacts[index]["name"] as? String)?.hasPrefix("payload.part") == true {
                artifacts[index]["name"] = "../\(backup)/payload.part000001"
            }
            manifest["artifacts"] = artifacts
        }
        result = try await restore()
        #expect(result.status == "failed" && result.error == "snapshot_corrupt", "a part name with ..: \(result)")
        try putBack()

        // The worker is the one started at first, and the sound snapshot restores.
        #expect(worker.isRunning)
        result = try await restore()
        #expect(result.status == "success", "\(result)")
        #expect(try String(contentsOfFile: result.out + source + "/a/hello.txt", encoding: .utf8) == "hello\n")
    }
}
