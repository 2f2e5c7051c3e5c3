import ArgumentParser
import Core
import Foundation
import Secrets
import Store
import TestClients

/// Backup throughput of the real worker to each target type on one corpus: `local_dir`, WebDAV (`rclone serve
/// webdav` on 127.0.0.1), rclone over SFTP (OpenSSH's sshd on 127.0.0.1), next to `restic backup` to the same SFTP
/// server in the same run (docs/targets.md).
struct TargetsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targets",
        abstract: "Backup throughput per target vs local_dir and restic over SFTP."
    )

    @Option(name: .customLong("corpus-mib"), help: "Corpus size in MiB.") var corpusMiB = 512
    @Option(name: .customLong("part-mib"), help: "Part size in MiB.") var partMiB = 64
    @Option(name: .customLong("rounds"), help: "Rounds of every measurement, interleaved; medians are reported.") var rounds = 2

    func run() async throws {
        let dir = try BenchDirectory("targets")
        defer { dir.remove() }
        let corpus = dir.path + "/corpus"
        print("generating a \(corpusMiB) MiB corpus…")
        let bytes = try ArchiveBenchmark.makeCorpus(corpus, mib: corpusMiB)
        _ = try Shell.run("tar -cf - '\(corpus)' > /dev/null")
        let mib = Double(bytes) / 1_048_576

        let davRoot = dir.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(root: davRoot, user: "bench", password: "bench-pass", logDir: dir.path)
        defer { dav.stop() }
        let (sshd, key) = try await TargetServers.sshd(directory: dir.path + "/ssh")
        defer { sshd.stop() }

        let data = dir.dataDirectory
        let database = try AppDatabase.open(in: data)
        let box = try SecretBox.open(in: data)
        try await database.saveTargetSecret(
            kind: "webdav",
            name: "dav",
            sealed: try box.seal(
                Data(#"{"username":"bench","password":"bench-pass","origin":"http://127.0.0.1:\#(dav.port)"}"#.utf8),
                kind: "webdav",
                name: "dav"
            )
        )
        // Key files are read only from <data-dir>/rclone-keys.
        try FileManager.default.createDirectory(atPath: data.rcloneKeysPath, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key, toPath: data.rcloneKeysPath + "/sftp")
        let config = "type = sftp\nhost = 127.0.0.1\nport = \(sshd.port)\nuser = root\nkey_file = \(data.rcloneKeysPath)/sftp\nshell_type = unix\n"
        try await database.saveTargetSecret(
            kind: "rclone",
            name: "sftp",
            sealed: try box.seal(Data(JSONValue.object(["config": .string(config)]).jsonString().utf8), kind: "rclone", name: "sftp")
        )
        let part = Double(partMiB * 1_048_576)
        let targets: [(String, JSONValue)] = [
            ("local_dir", .object(["type": "local_dir", "base_dir": .string(dir.path + "/local"), "part_size_bytes": .number(part)])),
            (
                "webdav (rclone serve webdav)",
                .object([
                    "type": "webdav", "base_url": .string("http://127.0.0.1:\(dav.port)/b/"), "secret_name": "dav", "part_size_bytes": .number(part),
                ])
            ),
            (
                "rclone sftp (sshd)",
                .object(["type": "rclone", "remote": .string("sftp:\(dir.path)/sftp"), "secret_name": "sftp", "part_size_bytes": .number(part)])
            ),
        ]
        var jobs: [String] = []
        for (name, target) in targets { jobs.append(try await createBenchJob(database, name: name, paths: [corpus], target: target)) }
        let worker = try await startBenchWorker(data)
        defer { worker.terminate() }

        let resticRepo = "sftp:root@127.0.0.1:\(dir.path)/restic"
        let ssh = "ssh -i \(key) -p \(sshd.port) -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 -s sftp"
        let restic = "RESTIC_PASSWORD=bench restic -q -r '\(resticRepo)' -o sftp.command='\(ssh)'"
        let initialized = try Shell.run("\(restic) init")
        guard initialized.status == 0 else { throw BenchError("restic init: \(initialized.output)") }

        /// Waits for the run to end successfully; its wall seconds since `started`.
        func finished(_ run: Run, _ name: String, since started: ContinuousClock.Instant) async throws -> Double {
            var final: Run?
            while final == nil {
                try await Task.sleep(for: .milliseconds(20))
                if let current = try await database.run(id: run.id), current.status != .queued, current.status != .running { final = current }
            }
            let elapsed = ContinuousClock.now - started
            guard final?.status == .success else { throw BenchError("\(name): \(final?.status.rawValue ?? "?") \(final?.error ?? "")") }
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        var samples = [String: [Double]]()
        var restores = [String: [Double]]()
        for round in 1...rounds {
            for (index, (name, _)) in targets.enumerated() {
                guard let run = try await database.enqueueRun(jobId: jobs[index], source: "manual") else { throw BenchError("no job") }
                samples[name, default: []].append(try await finished(run, name, since: ContinuousClock.now))
                // A whole-snapshot restore from the same target (remote parts fetched one ahead, each checked first).
                let backup = try await database.run(id: run.id)!
                let destination = "\(dir.path)/restore-\(index)"
                try? FileManager.default.removeItem(atPath: destination)
                let restore = try await database.enqueueOperation(
                    kind: .restore,
                    source: backup,
                    parameters: .object(["destination": .object(["type": "local_fs", "directory": .string(destination)])])
                )
                restores[name, default: []].append(try await finished(restore, name + " restore", since: ContinuousClock.now))
                try? FileManager.default.removeItem(atPath: destination)
            }
            // restic's first backup of the corpus into a fresh repository each round (as Bastion's full snapshot).
            if round > 1 {
                _ = try Shell.run("rm -rf '\(dir.path)/restic'")
                _ = try Shell.run("\(restic) init")
            }
            let wall = try ArchiveBenchmark.timed {
                let result = try Shell.run("\(restic) backup '\(corpus)'")
                guard result.status == 0 else { throw BenchError("restic backup: \(result.output)") }
            }
            samples["restic backup -r sftp: (same sshd)", default: []].append(wall)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let local = median(samples["local_dir"]!)
        let resticWall = median(samples["restic backup -r sftp: (same sshd)"]!)
        print(String(format: "corpus: %.0f MiB, parts of %d MiB, %d round(s), medians", mib, partMiB, rounds))
        print("backup:")
        for name in targets.map(\.0) + ["restic backup -r sftp: (same sshd)"] {
            let wall = median(samples[name]!)
            print(
                name.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + String(
                        format: "%6.2f s  %7.1f MiB/s  %.2f× local_dir's time  %.2f× restic's time",
                        wall,
                        mib / wall,
                        wall / local,
                        wall / resticWall
                    )
            )
        }
        let localRestore = median(restores["local_dir"]!)
        print("restore of the whole snapshot:")
        for name in targets.map(\.0) {
            let wall = median(restores[name]!)
            print(
                name.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + String(format: "%6.2f s  %7.1f MiB/s  %.2f× local_dir's time", wall, mib / wall, wall / localRestore)
            )
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
