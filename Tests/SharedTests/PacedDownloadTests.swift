import Core
import Foundation
import Glibc
import TestClients
import Testing

@testable import Targets

/// Paced downloads (docs/targets.md, "Bandwidth"): what they ask of the server and what they see of rclone's
/// connection. No timed assertions: `bastion-bench bandwidth` prints the rates.
@Suite(.serialized) struct PacedDownloadTests {
    /// A paced WebDAV download learns the object's size from its first range's Content-Range: no HEAD before it (each
    /// request between two parts is time the schedule loses). An empty object (416), one shorter than a slice and one
    /// of several slices come back identical, against Apache's mod_dav.
    @Test func aPacedWebDAVDownloadAsksNoHEAD() async throws {
        let scratch = TemporaryDirectory()
        let apache = try await TargetServers.apacheWebDAV(
            root: scratch.path + "/root",
            user: "backup",
            password: "pw",
            directory: scratch.path + "/apache"
        )
        defer { apache.stop() }
        let base = "http://127.0.0.1:\(apache.port)/"
        let target = WebDAVTarget(baseURL: base, secretName: "nas", bandwidth: TargetBandwidth(limitBps: 16 << 20))
        let secret = TargetSecret(.object(["username": "backup", "password": "pw", "origin": .string(WebDAVStore.origin(of: base) ?? "")]))
        let store = try WebDAVStore(
            location: RunLocation(target: .webdav(target), jobId: "job", runId: "run"),
            target: target,
            secret: secret,
            logger: nil
        )
        try await store.prepare()
        let sizes = ["empty": 0, "short": 100, "several": (1 << 20) + 3]
        for (name, size) in sizes {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255) }
            FileManager.default.createFile(atPath: scratch.path + "/" + name, contents: Data(bytes))
            try await store.upload(name, from: scratch.path + "/" + name)
        }
        for (name, size) in sizes {
            let back = scratch.path + "/" + name + ".back"
            let count = try await store.download(name, to: back, maxBytes: 4 << 20)
            #expect(count == Int64(size), "\(name)")
            #expect(FileManager.default.contentsEqual(atPath: scratch.path + "/" + name, andPath: back), "\(name)")
        }
        let log = try String(contentsOfFile: scratch.path + "/apache/access.log", encoding: .utf8)
        let downloads = log.split(separator: "\n").filter { !$0.hasPrefix("PUT ") && !$0.hasPrefix("MKCOL ") }
        #expect(downloads.contains { $0.hasPrefix("GET /job/run/several 206") }, "\(log)")
        #expect(!downloads.contains { $0.hasPrefix("HEAD /job/run/several") || $0.hasPrefix("HEAD /job/run/short") }, "\(log)")
        // Too large for its bound: refused after the first range.
        await #expect(throws: TargetError.self) { try await store.download("several", to: scratch.path + "/bound", maxBytes: 1000) }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/bound"))
    }

    /// `ReceiveQueues` sees the bytes a process has received on a TCP connection and not read: here this process's
    /// own loopback connection, written to and not read.
    @Test func receiveQueuesSeeWhatAProcessHasNotRead() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        #expect(bound == 0 && listen(listener, 1) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } }
        #expect(connected == 0)
        let server = accept(listener, nil, nil)
        defer { close(server) }
        let before = ReceiveQueues(pid: getpid()).queued()
        #expect(before != nil)
        let bytes = [UInt8](repeating: 7, count: 100_000)
        #expect(bytes.withUnsafeBytes { write(server, $0.baseAddress, $0.count) } == 100_000)
        // Wait until all of it is in the client's receive queue (a loopback send is there at once).
        var queued: Int32 = 0
        while queued < 100_000 {
            _ = ioctl(client, UInt(FIONREAD), &queued)
            if queued < 100_000 { usleep(1000) }
        }
        #expect((ReceiveQueues(pid: getpid()).queued() ?? 0) >= 100_000)
    }
}
