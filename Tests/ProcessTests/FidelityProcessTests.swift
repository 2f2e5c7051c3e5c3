import Foundation
import TestClients
import Testing

/// The fidelity tree (every kind of name and attribute Linux allows) backed up by a real worker with the default
/// `error_policy` fail_fast, then extracted by GNU tar and bsdtar, restored and verified through the API: nothing
/// differs from the source (`docs/formats.md`).
@Suite(.serialized) struct FidelityProcessTests {
    @Test func aTreeWithEveryNameAndAttributeBacksUpRestoresAndVerifiesExactly() async throws {
        let fixture = try await RunsFixture()
        let source = fixture.scratch.path + "/src"
        try FidelityTree.make(at: source)
        try await fixture.startWorker("w0")
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem",
            "source": ["paths": [source], "hardlink_policy": "keep", "error_policy": "fail_fast"],
            "target": ["type": "local_dir", "base_dir": fixture.targetDir],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "fidelity", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created.status)")
        let backup = try await fixture.enqueue(job).id
        let finished = await eventually(timeout: .seconds(120)) { await fixture.status(backup) == "success" }
        let backupLog = try await fixture.events(backup)
        #expect(finished, "\(backupLog)")
        let run = try await fixture.run(backup)
        #expect(run["warnings"] as? Int == 0, "nothing was skipped: \(run["summary"] ?? "")")
        let listed = try await HTTP.get(fixture.base + "/api/runs?job_id=\(job)")
        let items = try #require(listed.json?["items"] as? [[String: Any]])
        #expect(items.first?["warnings"] as? Int == 0)

        let runDir = "\(fixture.targetDir)/\(job)/\(backup)"
        let thirdParty = try FidelityTree.thirdPartyDifferences(runDirectory: runDir, source: source, scratch: fixture.scratch.path)
        #expect(thirdParty.isEmpty, "\(thirdParty.joined(separator: "\n"))")

        // The index keeps a name that is not UTF-8 exactly, as base64 beside a readable path.
        let index = try Shell.run("zstd -dc '\(runDir)/entries.jsonl.zst'").output.split(separator: "\n")
        let latin1 = try #require(
            index.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .first { ($0["path"] as? String)?.contains("latin1-") == true && $0["kind"] as? String == "file" }
        )
        let exact = try #require((latin1["path_b64"] as? String).flatMap { Data(base64Encoded: $0) })
        #expect(Array(exact.suffix(7)) == [0x2d, 0xe9, 0xff, 0x2e, 0x62, 0x69, 0x6e], "\(Array(exact))")

        // Restore everything through the API: identical on every aspect.
        let out = fixture.scratch.path + "/restored"
        let restore = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "local_fs", "directory": out], "conflict_policy": "fail"]
        )
        let restoreRun = try #require(restore.json?["run_id"] as? String, "\(restore.status)")
        let restored = await eventually(timeout: .seconds(120)) { await fixture.status(restoreRun) == "success" }
        let restoreLog = try await fixture.events(restoreRun)
        #expect(restored, "\(restoreLog)")
        let restoreSummary = try #require(try await fixture.run(restoreRun)["summary"] as? [String: Any])
        #expect(restoreSummary["not_restored"] as? Int == 0 && restoreSummary["warnings"] as? Int == 0, "\(restoreSummary)")
        let differences = TreeFingerprint.differences(try TreeFingerprint.of(source), try TreeFingerprint.of(out + source))
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")

        // A selection by exact bytes restores just that file.
        let one = fixture.scratch.path + "/one"
        let selected = try await HTTP.send(
            "POST",
            fixture.base + "/api/runs/\(backup)/restore",
            json: ["destination": ["type": "local_fs", "directory": one], "selection": ["files_b64": [exact.base64EncodedString()]]]
        )
        let selectedRun = try #require(selected.json?["run_id"] as? String, "\(selected.status)")
        let selectedDone = await eventually(timeout: .seconds(60)) { await fixture.status(selectedRun) == "success" }
        #expect(selectedDone)
        let files = try Shell.run("find '\(one)' -type f").output.split(separator: "\n")
        #expect(files.count == 1 && files.first?.hasSuffix(".bin") == true, "\(files)")

        // Verify: every member against the index, every name restorable.
        let verify = try await HTTP.send("POST", fixture.base + "/api/runs/\(backup)/verify", json: [:])
        let verifyRun = try #require(verify.json?["run_id"] as? String)
        let verified = await eventually(timeout: .seconds(120)) { await fixture.status(verifyRun) == "success" }
        let verifyLog = try await fixture.events(verifyRun)
        #expect(verified, "\(verifyLog)")
        let verifySummary = try #require(try await fixture.run(verifyRun)["summary"] as? [String: Any])
        #expect(verifySummary["ok"] as? Bool == true && verifySummary["warnings"] as? Int == 0, "\(verifySummary)")
    }
}
