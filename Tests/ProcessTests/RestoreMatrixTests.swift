import Foundation
import TestClients
import Testing

/// Every restore reports what happened and nothing else: {plain, encrypted} × {full, incremental} × {whole,
/// selection} × {fail, skip, overwrite}, each into a directory that already holds the snapshot's files (one changed
/// locally, one missing), through the real API and worker. An encrypted restore stopped by a conflict used to end
/// `snapshot_corrupt` ("age: payload chunk 17 does not authenticate").
@Suite(.serialized) struct RestoreMatrixTests {
    struct Cell: CustomStringConvertible {
        var encrypted: Bool
        var incremental: Bool
        var selection: Bool
        var policy: String
        var description: String {
            "\(encrypted ? "encrypted" : "plain") \(incremental ? "incremental" : "full") \(selection ? "selection" : "whole") \(policy)"
        }
    }

    @Test(.timeLimit(.minutes(5))) func everyCombinationEndsWithWhatHappened() async throws {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        var cells = 0
        for encrypted in [false, true] {
            for incremental in [false, true] {
                // One tree and its snapshot per (encryption, chain): a 9 MiB file after the conflicting ones, so a
                // conflict stops the read while most of the stream is still to come.
                let name = "\(encrypted ? "enc" : "plain")-\(incremental ? "incr" : "full")"
                let source = fixture.scratch.path + "/src-" + name
                try FileManager.default.createDirectory(atPath: source + "/a", withIntermediateDirectories: true)
                try "changed v1\n".write(toFile: source + "/a/changed.txt", atomically: true, encoding: .utf8)
                try "kept\n".write(toFile: source + "/a/keep.txt", atomically: true, encoding: .utf8)
                try "missing\n".write(toFile: source + "/a/missing.txt", atomically: true, encoding: .utf8)
                try #require(try Shell.run("head -c 9437184 /dev/urandom > '\(source)/z-big.bin'").status == 0)
                var pipeline: [String: Any] = [:]
                if incremental { pipeline["incremental"] = ["full_every": 5] }
                if encrypted { pipeline["encryption"] = ["type": "age_x25519", "key_name": "matrix"] }
                let spec: [String: Any] = [
                    "v": 1, "type": "filesystem", "source": ["paths": [source]], "pipeline": pipeline,
                    "target": ["type": "local_dir", "base_dir": fixture.targetDir, "part_size_bytes": 4_194_304],
                ]
                let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": name, "spec": spec])
                let job = try #require(created.json?["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
                var snapshot = try await fixture.enqueue(job).id
                #expect(await eventually(timeout: .seconds(90)) { await fixture.status(snapshot) == "success" }, "\(name) backup")
                var expectedChanged = "changed v1\n"
                if incremental {
                    // The second snapshot holds only the changed file; the rest comes from the first.
                    try "changed v2\n".write(toFile: source + "/a/changed.txt", atomically: true, encoding: .utf8)
                    expectedChanged = "changed v2\n"
                    snapshot = try await fixture.enqueue(job).id
                    #expect(await eventually(timeout: .seconds(90)) { await fixture.status(snapshot) == "success" }, "\(name) second backup")
                    let summary = try await fixture.run(snapshot)["summary"] as? [String: Any]
                    #expect((summary?["incremental"] as? [String: Any])?["level"] as? Int == 1, "\(summary ?? [:])")
                }

                // The six restores of this snapshot, queued together, each into a directory holding the tree with
                // changed.txt edited locally and missing.txt absent.
                var runs: [(Cell, String, String)] = []
                for selection in [false, true] {
                    for policy in ["fail", "skip", "overwrite"] {
                        let cell = Cell(encrypted: encrypted, incremental: incremental, selection: selection, policy: policy)
                        let out = fixture.scratch.path + "/out-\(name)-\(selection ? "sel" : "whole")-\(policy)"
                        try #require(try Shell.run("mkdir -p '\(out)\(source)' && cp -a '\(source)/.' '\(out)\(source)/'").status == 0)
                        try "local edit\n".write(toFile: out + source + "/a/changed.txt", atomically: true, encoding: .utf8)
                        unlink(out + source + "/a/missing.txt")
                        // Emptied, so an overwrite that left it alone would show (the copy above made it identical).
                        try #require(truncate(out + source + "/z-big.bin", 0) == 0)
                        var body: [String: Any] = ["destination": ["type": "local_fs", "directory": out], "conflict_policy": policy]
                        if selection { body["selection"] = ["dirs": [String(source.dropFirst()) + "/a"]] }
                        let queued = try await HTTP.send("POST", fixture.base + "/api/runs/\(snapshot)/restore", json: body)
                        let id = try #require(queued.json?["run_id"] as? String, "\(cell): \(String(decoding: queued.body, as: UTF8.self))")
                        runs.append((cell, id, out))
                    }
                }
                for (cell, id, out) in runs {
                    _ = await eventually(timeout: .seconds(90)) { ["success", "failed", "canceled"].contains(await fixture.status(id) ?? "") }
                    let run = try await fixture.run(id)
                    let status = run["status"] as? String
                    let error = run["error"] as? String
                    let summary = run["summary"] as? [String: Any] ?? [:]
                    let changed = try? String(contentsOfFile: out + source + "/a/changed.txt", encoding: .utf8)
                    let missing = try? String(contentsOfFile: out + source + "/a/missing.txt", encoding: .utf8)
                    let log = try await fixture.events(id).compactMap { $0["message"] as? String }
                    switch cell.policy {
                    case "fail":
                        #expect(status == "failed" && error == "restore_conflict", "\(cell): \(status ?? "?") \(error ?? "-") \(log)")
                        #expect(changed == "local edit\n", "\(cell): the existing file is kept")
                    case "skip":
                        #expect(status == "success" && error == nil, "\(cell): \(status ?? "?") \(error ?? "-") \(log)")
                        #expect(changed == "local edit\n" && missing == "missing\n", "\(cell): \(changed ?? "nil") \(missing ?? "nil")")
                        #expect((summary["skipped"] as? Int ?? 0) >= 2, "\(cell): \(summary)")
                    default:
                        #expect(status == "success" && error == nil, "\(cell): \(status ?? "?") \(error ?? "-") \(log)")
                        #expect(changed == expectedChanged && missing == "missing\n", "\(cell): \(changed ?? "nil") \(missing ?? "nil")")
                        #expect(summary["skipped"] as? Int == 0 && summary["not_restored"] as? Int == 0, "\(cell): \(summary)")
                        if !cell.selection {
                            let same = try Shell.run("cmp '\(source)/z-big.bin' '\(out)\(source)/z-big.bin'")
                            #expect(same.status == 0, "\(cell): \(same.output)")
                        }
                    }
                    cells += 1
                }
            }
        }
        #expect(cells == 24)
    }
}
