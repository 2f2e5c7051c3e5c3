import Foundation
import Glibc
import TestClients
import Testing

/// One file of a snapshot on a remote target through the real API and worker (docs/ui.md, "Snapshot browser: files,
/// versions, search", "From a remote target"): WebDAV (`rclone serve webdav`) and rclone over OpenSSH's sftp, byte for
/// byte; a file an incremental snapshot takes from its base; an encrypted chain; a copy read with `location=`; a part
/// altered on the target; the per-request staging gone after each download, after a client that went mid-way and after
/// a killed API; at most 2 downloads at once.
@Suite(.serialized) struct RemoteBrowseFileTests {
    static let user = "backup"
    static let password = "pw"
    let support = IncrementalTests()

    static func random(_ count: Int) throws -> Data {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? handle.close() }
        return try handle.read(upToCount: count) ?? Data()
    }

    /// The API's staging of remote downloads: what is in it now.
    func staged(_ fixture: RunsFixture) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixture.dataDir + "/file-reads")) ?? []).sorted()
    }

    func expectStagingEmpty(_ fixture: RunsFixture, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let empty = await eventually(timeout: .seconds(10)) { staged(fixture).isEmpty }
        #expect(empty, "\(label): staging left \(staged(fixture))", sourceLocation: sourceLocation)
    }

    func download(_ fixture: RunsFixture, _ run: String, _ path: String, location: String? = nil) async throws -> HTTPResult {
        var url = fixture.base + "/api/runs/\(run)/file?path=\(BrowseFileTests.percent(path))"
        if let location { url += "&location=\(location)" }
        return try await HTTP.get(url)
    }

    /// An rclone secret for OpenSSH's sftp on this machine (key files only from `<data-dir>/rclone-keys`).
    func sftpSecret(_ fixture: RunsFixture, port: Int, key: String) async throws {
        let keys = fixture.dataDir + "/rclone-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: key, toPath: keys + "/box")
        let config = "[box]\ntype = sftp\nhost = 127.0.0.1\nport = \(port)\nuser = root\nkey_file = \(keys)/box\nshell_type = unix\n"
        #expect(try await HTTP.send("PUT", fixture.base + "/api/secrets/rclone/box", json: ["config": config]).status == 200)
    }

    func webDAVSecret(_ fixture: RunsFixture, port: Int) async throws {
        let saved = try await HTTP.send(
            "PUT",
            fixture.base + "/api/secrets/webdav/nas",
            json: ["username": Self.user, "password": Self.password, "url": "http://127.0.0.1:\(port)/"]
        )
        #expect(saved.status == 200, "\(saved.text)")
    }

    /// Waits until every location of `run` is present.
    func copiesPresent(_ fixture: RunsFixture, _ job: String, _ run: String, count: Int) async -> Bool {
        await eventually(timeout: .seconds(120)) {
            let found = (try? await CopiesTests().locations(fixture, job, run)) ?? [:]
            return found.count == count && found.values.allSatisfy { $0["status"] as? String == "present" }
        }
    }

    /// A hub with one worker, and `rclone serve webdav` under the scratch directory's `dav/` with its secret stored.
    func withWebDAV() async throws -> (RunsFixture, ServerProcess, String) {
        let fixture = try await RunsFixture()
        try await fixture.startWorker("w0")
        let davRoot = fixture.scratch.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(root: davRoot, user: Self.user, password: Self.password, logDir: fixture.scratch.path)
        do {
            try await webDAVSecret(fixture, port: dav.port)
        } catch {
            dav.stop()
            throw error
        }
        return (fixture, dav, davRoot)
    }

    @Test func downloadsFromWebDAVAndRcloneChainsEncryptedAndCopies() async throws {
        let (fixture, dav, davRoot) = try await withWebDAV()
        defer { dav.stop() }
        let (sshd, key) = try await TargetServers.sshd(directory: fixture.scratch.path + "/ssh")
        defer { sshd.stop() }
        try await sftpSecret(fixture, port: sshd.port, key: key)
        let sftpRoot = fixture.scratch.path + "/sftp-root"

        let source = fixture.scratch.path + "/src"
        // Random bytes do not compress: 3.5 MiB spans four 1 MiB parts.
        let big = try Self.random((3 << 20) + (1 << 19))
        try BrowseFileTests.save(source + "/big.bin", big)
        try BrowseFileTests.save(source + "/note.txt", Data("one\n".utf8))
        let root = String(source.dropFirst())

        // WebDAV as the primary, a copy on rclone/sftp; an incremental chain.
        let webdav: [String: Any] = [
            "type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/b/", "secret_name": "nas", "part_size_bytes": 1_048_576,
        ]
        let sftp: [String: Any] = ["type": "rclone", "remote": "box:\(sftpRoot)", "secret_name": "box", "part_size_bytes": 1_048_576]
        let spec: [String: Any] = [
            "v": 1, "type": "filesystem", "source": ["paths": [source]], "target": webdav,
            "pipeline": ["incremental": ["full_every": 5]], "copies": [["target": sftp]],
        ]
        let created = try await HTTP.send("POST", fixture.base + "/api/jobs", json: ["name": "dav", "spec": spec])
        let job = try #require(created.json?["id"] as? String, "\(created.text)")
        let (first, _) = try await support.backup(fixture, job)
        try BrowseFileTests.save(source + "/note.txt", Data("two\n".utf8))
        let (second, summary) = try await support.backup(fixture, job)
        #expect((summary["incremental"] as? [String: Any])?["base_run_id"] as? String == first, "\(summary)")
        #expect(await copiesPresent(fixture, job, second, count: 2))
        #expect(await copiesPresent(fixture, job, first, count: 2))

        // From WebDAV: the snapshot's own file, and one its base holds.
        let own = try await download(fixture, second, root + "/note.txt")
        #expect(own.status == 200 && own.text == "two\n", "\(own.status) \(own.text.prefix(300))")
        await expectStagingEmpty(fixture, "webdav own")
        let fromBase = try await download(fixture, second, root + "/big.bin")
        #expect(fromBase.status == 200 && fromBase.body == big, "\(fromBase.status) \(fromBase.body.count) \(fromBase.text.prefix(300))")
        #expect(fromBase.headers["content-length"] == String(big.count))
        await expectStagingEmpty(fixture, "webdav base")
        let older = try await download(fixture, first, root + "/note.txt")
        #expect(older.status == 200 && older.text == "one\n", "\(older.status) \(older.text.prefix(300))")

        // From the copy on rclone/sftp (`location=`), the base read at the same copy.
        let copy = try #require(try await CopiesTests().locations(fixture, job, second).keys.first { $0 != "primary" })
        let copied = try await download(fixture, second, root + "/big.bin", location: copy)
        #expect(copied.status == 200 && copied.body == big, "\(copied.status) \(copied.text.prefix(300))")
        await expectStagingEmpty(fixture, "copy")

        // rclone/sftp as the primary, encrypted: the own file and the base's, decrypted.
        let encrypted = try await support.createJob(fixture, source: source, fullEvery: 5, target: sftp, encryptionKey: "remote-key")
        let (sealedFirst, _) = try await support.backup(fixture, encrypted)
        let firstPart = try Data(contentsOf: URL(fileURLWithPath: "\(sftpRoot)/\(encrypted)/\(sealedFirst)/payload.part000001"))
        #expect(String(decoding: firstPart.prefix(21), as: UTF8.self) == "age-encryption.org/v1")
        try BrowseFileTests.save(source + "/note.txt", Data("three\n".utf8))
        let (sealedSecond, _) = try await support.backup(fixture, encrypted)
        let sealedOwn = try await download(fixture, sealedSecond, root + "/note.txt")
        #expect(sealedOwn.status == 200 && sealedOwn.text == "three\n", "\(sealedOwn.status) \(sealedOwn.text.prefix(300))")
        let sealedBase = try await download(fixture, sealedSecond, root + "/big.bin")
        #expect(sealedBase.status == 200 && sealedBase.body == big, "\(sealedBase.status) \(sealedBase.text.prefix(300))")
        await expectStagingEmpty(fixture, "rclone encrypted")

        // A byte altered every 64 KiB of every part on the WebDAV server (so in every frame: a read by frame checks the
        // frames it reads, docs/formats.md "Frames"): 502 snapshot_corrupt before any byte of the file, for the first
        // snapshot's own file and for the second's file its base holds; the copy is untouched.
        let directory = "\(davRoot)/b/\(job)/\(first)"
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("payload.part") }.sorted()
        #expect(parts.count >= 4, "\(parts)")
        for part in parts {
            let size = try FileManager.default.attributesOfItem(atPath: directory + "/" + part)[.size] as! Int
            for offset in stride(from: 100, to: size, by: 65536) { try BrowseFileTests().flip(directory + "/" + part, at: UInt64(offset)) }
        }
        for (run, path) in [(first, "/note.txt"), (second, "/big.bin")] {
            let refused = try await download(fixture, run, root + path)
            #expect(
                refused.status == 502 && refused.json?["error"] as? String == "snapshot_corrupt",
                "\(run)\(path): \(refused.status) \(refused.text.prefix(300))"
            )
        }
        await expectStagingEmpty(fixture, "corrupt")
        let stillCopied = try await download(fixture, second, root + "/big.bin", location: copy)
        #expect(stillCopied.status == 200 && stillCopied.body == big)
        await expectStagingEmpty(fixture, "copy after corruption")
    }

    @Test func theStagingGoesAndTheLimitHolds() async throws {
        let (fixture, dav, davRoot) = try await withWebDAV()
        defer { dav.stop() }
        let source = fixture.scratch.path + "/src"
        // Larger than what loopback's socket buffers and the server's 8 chunks hold: a client that stops reading holds
        // its download open.
        let big = try Self.random(24 << 20)
        try BrowseFileTests.save(source + "/big.bin", big)
        let root = String(source.dropFirst())
        let target: [String: Any] = [
            "type": "webdav", "base_url": "http://127.0.0.1:\(dav.port)/b/", "secret_name": "nas", "part_size_bytes": 1_048_576,
        ]
        let job = try await support.createJob(fixture, source: source, fullEvery: 5, target: target)
        let (run, _) = try await support.backup(fixture, job)
        let path = "/api/runs/\(run)/file?path=\(BrowseFileTests.percent(root + "/big.bin"))"

        // Two clients that read the head and stop: both hold a slot and a staging directory with one part in it.
        let stalled = try (0..<2).map { _ in try StalledDownload(port: fixture.port, path: path, cookie: fixture.credential.cookie) }
        #expect(stalled.map(\.status) == [200, 200], "\(stalled.map(\.head))")
        #expect(await eventually(timeout: .seconds(10)) { staged(fixture).count == 2 }, "\(staged(fixture))")
        for directory in staged(fixture) {
            let runDirectory = "\(fixture.dataDir)/file-reads/\(directory)/\(run)"
            let parts = ((try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []).filter { $0.hasPrefix("payload.part") }
            #expect(parts.count <= 1, "one part staged at a time: \(parts)")
        }

        // A third is refused at once, with when to come back.
        let busy = try await HTTP.get(fixture.base + path)
        #expect(busy.status == 503 && busy.json?["error"] as? String == "remote_downloads_busy", "\(busy.status) \(busy.text.prefix(300))")
        #expect(busy.headers["retry-after"] == "5", "\(busy.headers)")
        // Local snapshots are not limited.
        let local = try await support.createJob(fixture, source: source, fullEvery: 5)
        let (localRun, _) = try await support.backup(fixture, local)
        let fromDisk = try await HTTP.get(fixture.base + "/api/runs/\(localRun)/file?path=\(BrowseFileTests.percent(root + "/big.bin"))")
        #expect(fromDisk.status == 200 && fromDisk.body == big)

        // The first client goes mid-way: its staging goes and its slot frees; a whole download then succeeds.
        stalled[0].close()
        #expect(await eventually(timeout: .seconds(15)) { staged(fixture).count == 1 }, "\(staged(fixture))")
        let whole = try await HTTP.get(fixture.base + path)
        #expect(whole.status == 200 && whole.body == big, "\(whole.status) \(whole.body.count) \(whole.text.prefix(300))")
        // The second client stays connected and takes nothing: after `ByteBridge.idle` (60 s) the read stops as if it
        // had gone, so its thread, slot and staging are free while its socket is still open.
        #expect(await eventually(timeout: .seconds(100)) { staged(fixture).isEmpty }, "a client that reads nothing is let go: \(staged(fixture))")
        let afterIdle = try await HTTP.get(fixture.base + path)
        #expect(afterIdle.status == 200 && afterIdle.body == big, "\(afterIdle.status)")
        stalled[1].close()
        await expectStagingEmpty(fixture, "after both clients went")

        // What a killed API left is removed when the next one starts.
        let leftover = fixture.dataDir + "/file-reads/left-by-a-killed-api/\(run)"
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: leftover + "/payload.part000001"))
        fixture.api.kill9()
        try fixture.startAPI()
        #expect(await eventually(timeout: .seconds(15)) { await HTTP.tryGet(fixture.base + "/api/ready")?.status == 200 })
        #expect(staged(fixture).isEmpty, "\(staged(fixture))")
    }
}

/// A GET whose client reads the response head and then nothing: a small receive buffer, so the server's writes stall
/// soon after. `close()` is the client going away mid-download.
final class StalledDownload: @unchecked Sendable {
    // @unchecked Sendable: used by one test task; `fd` is closed once.
    private var fd: Int32
    let head: String
    let status: Int

    init(port: Int, path: String, cookie: String) throws {
        let fd = try RawHTTP.connectLoopback(port: port, timeout: 30, receiveBuffer: 4096)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nCookie: \(cookie)\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // One byte at a time up to the end of the head: nothing of the body is taken from the socket beyond it.
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while !data.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), read(fd, &byte, 1) == 1 { data.append(byte) }
        self.fd = fd
        head = String(decoding: data, as: UTF8.self)
        status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
