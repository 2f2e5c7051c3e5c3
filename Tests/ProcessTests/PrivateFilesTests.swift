import Foundation
import Glibc
import TestClients
import Testing

/// What Bastion writes is its user's alone (docs/security.md, "Local users"): a backup of a 0600 file landed on a
/// `local_dir` target as a 0644 part in 0755 directories, readable by every local user, and a data directory made
/// 0755 beforehand (by hand, or by systemd's `StateDirectory=`) left `bastion.db` 0644.
@Suite(.serialized) struct PrivateFilesTests {
    @Test func theDatabaseAndEverySnapshotFileAreTheHubUsersAlone() async throws {
        let scratch = Scratch()
        // The data directory exists already, open to all.
        try FileManager.default.createDirectory(atPath: scratch.dataDir, withIntermediateDirectories: true)
        chmod(scratch.dataDir, 0o755)
        let fixture = try await RunsFixture(scratch: scratch)
        let source = fixture.scratch.path + "/secret"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try "top secret".write(toFile: source + "/f", atomically: true, encoding: .utf8)
        chmod(source + "/f", 0o600)
        _ = try await fixture.startWorker("w1")
        let created = try await HTTP.send(
            "POST",
            fixture.base + "/api/jobs",
            json: [
                "name": "private",
                "spec": [
                    "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": ["type": "local_dir", "base_dir": fixture.targetDir],
                ],
            ]
        )
        let job = try #require(created.json?["id"] as? String)
        let run = try await fixture.enqueue(job).id
        #expect(await eventually(timeout: .seconds(60)) { await fixture.status(run) == "success" })

        func mode(_ path: String) -> mode_t {
            var info = stat()
            return lstat(path, &info) == 0 ? info.st_mode & 0o777 : 0o7777
        }
        #expect(mode(scratch.dataDir) == 0o700)
        #expect(FileManager.default.fileExists(atPath: scratch.dataDir + "/bastion.db"))
        for name in ["bastion.db", "bastion.db-wal", "master.key"] where FileManager.default.fileExists(atPath: scratch.dataDir + "/" + name) {
            #expect(mode(scratch.dataDir + "/" + name) & 0o077 == 0, "\(name) is \(String(mode(scratch.dataDir + "/" + name), radix: 8))")
        }
        let walker = FileManager.default.enumerator(atPath: fixture.targetDir)
        var seen = 0
        while let relative = walker?.nextObject() as? String {
            let path = fixture.targetDir + "/" + relative
            #expect(mode(path) & 0o077 == 0, "\(relative) is \(String(mode(path), radix: 8))")
            seen += 1
        }
        #expect(seen >= 5, "the snapshot's files were walked")
        #expect(mode(fixture.targetDir) & 0o077 == 0)
    }
}
