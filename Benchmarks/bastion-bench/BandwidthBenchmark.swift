import ArgumentParser
import Core
import Foundation
import Glibc
import Targets
import TestClients

/// Paced transfers (docs/targets.md, "Bandwidth"): uploads and downloads through the WebDAV store and the rclone
/// store (rclone's own webdav backend) to `rclone serve webdav` on 127.0.0.1, limited to `--limit-mib` MiB/s. The
/// bytes are counted at the receiving side by a proxy between the two, in 10 ms buckets: for an upload, when they
/// arrive in the proxy's socket; for a download, when the proxy's socket sends them to Bastion's (`CountingProxy`).
/// Prints the average rate (each object from its first byte to its last) and the most bytes in any one-second window
/// (100 consecutive buckets).
struct BandwidthBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bandwidth",
        abstract: "Paced uploads and downloads: average rate and the most bytes in any one-second window."
    )

    @Option(name: .customLong("limit-mib"), help: "The limit in MiB/s.") var limitMiB = 20
    @Option(name: .customLong("file-mib"), help: "Each object's size in MiB (256: a target's default part_size_bytes).") var fileMiB = 256
    @Option(name: .customLong("files"), help: "Objects per transfer (one after the other, as parts are).") var files = 3
    @Flag(name: .customLong("trace"), help: "After each row, the bytes per 100 ms (MiB) from the first byte, and where its busiest second starts.")
    var trace = false

    func run() async throws {
        let dir = try BenchDirectory("bandwidth")
        defer { dir.remove() }
        let davRoot = dir.path + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot + "/b", withIntermediateDirectories: true)
        let dav = try await TargetServers.rcloneWebDAV(root: davRoot, user: "bench", password: "bench-pass", logDir: dir.path)
        defer { dav.stop() }
        let proxy = try CountingProxy(upstreamPort: dav.port)
        let source = dir.path + "/object"
        _ = try Shell.run("head -c \(fileMiB << 20) /dev/urandom > '\(source)'")
        let limit = Int64(limitMiB) << 20
        let bandwidth = TargetBandwidth(limitBps: limit)
        let base = "http://127.0.0.1:\(proxy.port)/b/"
        let webdav = WebDAVTarget(baseURL: base, secretName: "bench", bandwidth: bandwidth)
        let webdavSecret = TargetSecret(
            .object(["username": "bench", "password": "bench-pass", "origin": .string(WebDAVStore.origin(of: base) ?? "")])
        )
        let obscured = try Shell.run("rclone obscure bench-pass", stderr: false).trimmed
        let rclone = RcloneTarget(remote: "dav:b", secretName: "bench", bandwidth: bandwidth)
        let rcloneSecret = TargetSecret(
            .object(["config": .string("type = webdav\nurl = http://127.0.0.1:\(proxy.port)/\nvendor = other\nuser = bench\npass = \(obscured)\n")])
        )
        print("limit \(limitMiB) MiB/s; \(files) objects of \(fileMiB) MiB each way; counted at the receiver in 10 ms buckets")
        print("| transfer | bytes | average | each object's average | most in any 1 s window | limit |")
        print("|---|---|---|---|---|---|")
        for (name, store) in [
            (
                "WebDAV",
                try WebDAVStore(
                    location: RunLocation(target: .webdav(webdav), jobId: "bench", runId: "webdav"),
                    target: webdav,
                    secret: webdavSecret,
                    logger: nil
                ) as any TargetStore
            ),
            (
                "rclone (webdav backend)",
                try RcloneStore(
                    location: RunLocation(target: .rclone(rclone), jobId: "bench", runId: "rclone"),
                    target: rclone,
                    secret: rcloneSecret,
                    logger: nil
                )
            ),
        ] {
            try await store.prepare()
            _ = proxy.take()
            // Back to back, as a backup ships parts; each object's bytes are those counted up to the moment its call
            // returned (bucket numbers are the same monotonic clock's), so each upload's average runs from its own
            // first byte to its own last (rclone's start before each object's first byte is not the pacer's doing),
            // and the windows run over all of them, the seams included.
            var ends: [Int] = []
            for index in 0..<files {
                try await store.upload("part\(index)", from: source)
                ends.append(Self.bucketNow())
            }
            let (up, _, _, reads) = proxy.take()
            let ups = Self.split(up, at: ends)
            print(Self.row("\(name) upload", ups, limit: limit))
            if trace {
                print(Self.trace(Self.merged(ups)))
                print("  counted when the proxy read them instead: " + Self.row("\(name) upload", Self.split(reads, at: ends), limit: limit))
            }
            // One after the other, as a restore fetches parts; compared after the last (the comparison is not the
            // transfer's time).
            ends = []
            for index in 0..<files {
                try await store.download("part\(index)", to: dir.path + "/back\(index)", maxBytes: Int64(fileMiB) << 20)
                ends.append(Self.bucketNow())
            }
            let (_, down, writes, _) = proxy.take()
            let downs = Self.split(down, at: ends)
            for index in 0..<files {
                let back = dir.path + "/back\(index)"
                guard try Shell.run("cmp '\(source)' '\(back)'").status == 0 else {
                    throw ValidationError.spec("bench", "differs", "\(name): part\(index) came back different")
                }
                unlink(back)
            }
            print(Self.row("\(name) download", downs, limit: limit))
            if trace {
                print(Self.trace(Self.merged(downs)))
                print(
                    "  counted when the proxy's writes returned instead: " + Self.row("\(name) download", Self.split(writes, at: ends), limit: limit)
                )
            }
        }
    }

    /// `--trace`: the start of the busiest 100 buckets (seconds from the first byte) and the MiB of every 10 buckets.
    static func trace(_ buckets: [Int: Int]) -> String {
        guard let first = buckets.keys.min(), let last = buckets.keys.max() else { return "" }
        var window = 0
        var most = (bytes: 0, start: first)
        for bucket in first...last {
            window += buckets[bucket] ?? 0
            if bucket - 100 >= first { window -= buckets[bucket - 100] ?? 0 }
            if window > most.bytes { most = (window, max(first, bucket - 99)) }
        }
        let tenths = stride(from: first, through: last, by: 10).map { start in
            String(format: "%.1f", Double((start..<start + 10).reduce(0) { $0 + (buckets[$1] ?? 0) }) / 1_048_576)
        }
        return "  busiest second from \(Double(most.start - first) / 100) s; per 100 ms: " + tenths.joined(separator: " ")
    }

    /// The proxy's bucket number now (10 ms units of the pacer's monotonic clock).
    static func bucketNow() -> Int { Int(BandwidthPacer.monotonicSeconds() * 100) }

    /// The buckets of back-to-back transfers, cut where each one's call returned (the last takes the rest).
    static func split(_ buckets: [Int: Int], at ends: [Int]) -> [[Int: Int]] {
        var parts = [[Int: Int]](repeating: [:], count: max(1, ends.count))
        for (bucket, bytes) in buckets {
            let index = ends.firstIndex { bucket <= $0 } ?? parts.count - 1
            parts[index][bucket] = bytes
        }
        return parts
    }

    /// The buckets of several transfers as one map.
    static func merged(_ transfers: [[Int: Int]]) -> [Int: Int] {
        transfers.reduce(into: [Int: Int]()) { $0.merge($1, uniquingKeysWith: +) }
    }

    /// A table row: the bytes; the average MiB/s while transferring (all bytes over the sum of each transfer's time from
    /// its first byte's bucket to its last's) and the lowest and highest of the transfers' own averages; the largest sum
    /// of 100 consecutive 10 ms buckets over all of them, across the seams between transfers too.
    static func row(_ name: String, _ transfers: [[Int: Int]], limit: Int64) -> String {
        let all = merged(transfers)
        guard let first = all.keys.min(), let last = all.keys.max() else { return "| \(name) | 0 | | | | |" }
        var rates: [Double] = []
        var seconds = 0.0
        for buckets in transfers {
            guard let start = buckets.keys.min(), let end = buckets.keys.max() else { continue }
            let time = Double(end - start + 1) / 100
            seconds += time
            rates.append(Double(buckets.values.reduce(0, +)) / time)
        }
        let total = all.values.reduce(0, +)
        var window = 0
        var most = 0
        for bucket in first...last {
            window += all[bucket] ?? 0
            if bucket - 100 >= first { window -= all[bucket - 100] ?? 0 }
            most = max(most, window)
        }
        let mib = { (bytes: Double) in String(format: "%.2f MiB", bytes / 1_048_576) }
        let each = String(format: "%.2f–%.2f", (rates.min() ?? 0) / 1_048_576, (rates.max() ?? 0) / 1_048_576)
        return
            "| \(name) | \(mib(Double(total))) | \(mib(Double(total) / seconds))/s | \(each) | \(mib(Double(most))) | \(mib(Double(limit)))/s |"
    }
}

/// A TCP proxy on 127.0.0.1 to `upstreamPort` that counts the bytes of each direction per 10 ms bucket where Bastion's
/// side of the connection meets the proxy's: `up` (client to server) when they arrive in the proxy's socket, `down`
/// (server to client) when the proxy's socket sends them to the client (`sample`). Two threads per connection,
/// blocking sockets, and a sampler every millisecond.
final class CountingProxy: @unchecked Sendable {
    let port: Int
    let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var up: [Int: Int] = [:]
    private var down: [Int: Int] = [:]
    /// A download's bytes when the proxy's write returned (in its own send buffer; `--trace` shows them).
    private var writes: [Int: Int] = [:]
    /// Each client socket's bytes written by the proxy and delivered so far (`sample`).
    private var outgoing: [Int32: (written: Int, delivered: Int)] = [:]
    /// Each client socket's bytes read by the proxy and arrived so far (`sample`).
    private var incoming: [Int32: (read: Int, arrived: Int)] = [:]
    /// An upload's bytes when the proxy read them (`--trace` shows them).
    private var reads: [Int: Int] = [:]

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw ValidationError.spec("proxy", "bind", "the counting proxy cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
        Thread.detachNewThread { [self] in
            while true {
                usleep(1000)
                sample()
            }
        }
    }

    /// Counts a download's bytes when they have left the proxy's socket for Bastion's (on the loopback, sent is
    /// received): written minus what the kernel has not sent yet (SIOCOUTQNSD), every millisecond. A write returns
    /// as soon as its bytes are in the proxy's own send buffer (megabytes, sent as the receiver's window opens), so
    /// counting writes would count bytes still on the server's side. An upload's bytes are counted when they arrive in
    /// the proxy's socket: read plus what waits to be read (FIONREAD), so a proxy that reads late (its upstream busy)
    /// does not count what arrived earlier as a burst.
    private func sample() {
        lock.withLock {
            let bucket = Int(BandwidthPacer.monotonicSeconds() * 100)
            for (descriptor, state) in incoming {
                var waiting: Int32 = 0
                guard withUnsafeMutablePointer(to: &waiting, { ioctl(descriptor, UInt(FIONREAD), $0) }) == 0 else { continue }
                let arrived = state.read + Int(waiting)
                if arrived > state.arrived {
                    up[bucket, default: 0] += arrived - state.arrived
                    incoming[descriptor] = (state.read, arrived)
                }
            }
            for (descriptor, state) in outgoing {
                var notSent: Int32 = 0
                guard withUnsafeMutablePointer(to: &notSent, { ioctl(descriptor, UInt(Self.siocoutqnsd), $0) }) == 0 else { continue }
                let delivered = state.written - Int(notSent)
                if delivered > state.delivered {
                    down[bucket, default: 0] += delivered - state.delivered
                    outgoing[descriptor] = (state.written, delivered)
                }
            }
        }
    }

    /// SIOCOUTQNSD (<linux/sockios.h>): the bytes of a TCP socket's send queue not sent yet.
    static let siocoutqnsd = 0x894B

    static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// The buckets counted since the last call, and a fresh start.
    func take() -> (up: [Int: Int], down: [Int: Int], writes: [Int: Int], reads: [Int: Int]) {
        lock.withLock {
            defer {
                up = [:]
                down = [:]
                writes = [:]
                reads = [:]
            }
            return (up, down, writes, reads)
        }
    }

    private func acceptLoop() {
        signal(SIGPIPE, SIG_IGN)
        var yes: Int32 = 1
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            // No Nagle on either side: a proxy must not hold a small segment back for an ACK (the clients and servers
            // it stands between set TCP_NODELAY themselves, NIO and Go alike).
            for descriptor in [client, server] {
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            }
            let pair = Connection(client: client, server: server)
            Thread.detachNewThread { [self] in
                pump(from: client, to: server, upward: true)
                sample()
                _ = lock.withLock { incoming.removeValue(forKey: client) }
                pair.finish()
            }
            Thread.detachNewThread { [self] in
                pump(from: server, to: client, upward: false)
                // Until the kernel has sent the rest (at most a second), then the last sample of this socket.
                for _ in 0..<1000 {
                    var notSent: Int32 = 0
                    guard withUnsafeMutablePointer(to: &notSent, { ioctl(client, UInt(Self.siocoutqnsd), $0) }) == 0, notSent > 0 else { break }
                    usleep(1000)
                }
                sample()
                _ = lock.withLock { outgoing.removeValue(forKey: client) }
                pair.finish()
            }
        }
    }

    private func pump(from: Int32, to: Int32, upward: Bool) {
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            if upward {
                let bucket = Int(BandwidthPacer.monotonicSeconds() * 100)
                lock.withLock {
                    incoming[from, default: (0, 0)].read += count
                    reads[bucket, default: 0] += count
                }
            }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(to, $0.baseAddress! + offset, count - offset) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    shutdown(from, Int32(SHUT_RD))
                    return
                }
                if !upward {
                    let bucket = Int(BandwidthPacer.monotonicSeconds() * 100)
                    lock.withLock {
                        outgoing[to, default: (0, 0)].written += written
                        writes[bucket, default: 0] += written
                    }
                }
                offset += written
            }
        }
        shutdown(to, Int32(SHUT_WR))
    }
}

/// Both sockets of one proxied connection, closed when both directions ended.
final class Connection: @unchecked Sendable {
    let client: Int32
    let server: Int32
    private let lock = NSLock()
    private var ended = 0

    init(client: Int32, server: Int32) {
        self.client = client
        self.server = server
    }

    func finish() {
        lock.withLock {
            ended += 1
            if ended == 2 {
                close(client)
                close(server)
            }
        }
    }
}
