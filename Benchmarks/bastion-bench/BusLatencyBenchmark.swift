import ArgumentParser
import Bus
import Core
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One-way latency over the libuv bus, next to a plain blocking Unix-socket ping-pong (no libuv, no JSON, no Swift
/// concurrency) measured in the same run as the floor.
///
/// Each message is sent only after the previous one arrived, so figures are latencies, not queueing.
struct BusLatencyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bus", abstract: "Bus wake/event latency vs a raw Unix socket.")

    @Option(help: "Messages per path (after warm-up).") var messages = 10_000
    @Option(help: "Warm-up messages per path.") var warmup = 500

    func run() async throws {
        let dir = "/tmp/bbench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical

        let server = BusServer(socketPath: dir + "/bus.sock", logger: logger)
        try await server.start()
        let client = BusClient(socketPath: dir + "/bus.sock", peer: BusPeer(role: .worker, id: "bench-worker"), logger: logger)
        client.start()
        var clientEvents = client.events.makeAsyncIterator()
        var serverEvents = server.events.makeAsyncIterator()
        while await clientEvents.next() != .connected {}
        while true {
            if case .hello = await serverEvents.next() { break }
        }

        // wake: API → worker
        var wake: [UInt64] = []
        for i in 0..<(warmup + messages) {
            let start = monotonicNanos()
            server.broadcast(.wake(.runs))
            while true {
                if case .message(.wake) = await clientEvents.next() { break }
            }
            if i >= warmup { wake.append(monotonicNanos() - start) }
        }

        // event: worker → API, a 200-byte frame
        let template = RunEvent(runId: UUID().uuidString, seq: 0, ts: 1_800_000_000, level: .info, kind: "progress", message: "")
        let frameSize = try BusFrame.encode(.events([template])).count
        let padding = String(repeating: "x", count: max(0, 200 - frameSize))
        let sample = try BusFrame.encode(
            .events([RunEvent(runId: template.runId, seq: 1, ts: template.ts, level: .info, kind: "progress", message: padding)])
        ).count
        var event: [UInt64] = []
        for i in 0..<(warmup + messages) {
            let start = monotonicNanos()
            client.send(.events([RunEvent(runId: template.runId, seq: Int64(i), ts: template.ts, level: .info, kind: "progress", message: padding)]))
            while true {
                if case .message(_, .events) = await serverEvents.next() { break }
            }
            if i >= warmup { event.append(monotonicNanos() - start) }
        }
        await client.shutdown()
        await server.shutdown()

        let floor = try RawSocketPingPong.measure(path: dir + "/raw.sock", frameBytes: sample, count: warmup + messages).suffix(messages)

        let floorSummary = LatencySummary(Array(floor))
        let wakeSummary = LatencySummary(wake)
        let eventSummary = LatencySummary(event)
        print("Bus one-way latency, \(messages) messages per path (+\(warmup) warm-up), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(LatencySummary.header)
        print(wakeSummary.row("wake  api→worker  (libuv bus, JSON, async)"))
        print(eventSummary.row("event worker→api  (libuv bus, \(sample) B frame)"))
        print(floorSummary.row("floor raw Unix socket, blocking threads"))
        print(
            String(
                format: "ratio to floor (p50): wake %.1fx, event %.1fx; (p99): wake %.1fx, event %.1fx",
                wakeSummary.median / floorSummary.median,
                eventSummary.median / floorSummary.median,
                wakeSummary.p99 / floorSummary.p99,
                eventSummary.p99 / floorSummary.p99
            )
        )
    }
}

/// The floor: one thread writes a frame of the same size on a Unix stream socket, another thread blocks in read,
/// takes the timestamp, and acknowledges with one byte before the next frame is sent.
enum RawSocketPingPong {
    static func measure(path: String, frameBytes: Int, count: Int) throws -> [UInt64] {
        unlink(path)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(listener, 1)
        defer {
            close(listener)
            unlink(path)
        }

        let shared = Shared(count: count)
        let sentAt = shared.sentAt
        let samples = shared.samples
        defer {
            sentAt.deallocate()
            samples.deallocate()
        }
        let done = DispatchSemaphore(value: 0)
        let receiver = Thread {
            let sentAt = shared.sentAt
            let samples = shared.samples
            let fd = accept(listener, nil, nil)
            for i in 0..<count {
                guard UnixSocket.readExactly(fd, frameBytes) != nil else { break }
                samples[i] = monotonicNanos() - sentAt.pointee
                UnixSocket.writeAll(fd, [1])
            }
            close(fd)
            done.signal()
        }
        receiver.start()
        guard let fd = UnixSocket.connect(to: path) else { throw POSIXError(.ECONNREFUSED) }
        let frame = [UInt8](repeating: 0x41, count: frameBytes)
        for _ in 0..<count {
            sentAt.pointee = monotonicNanos()
            UnixSocket.writeAll(fd, frame)
            _ = UnixSocket.readExactly(fd, 1)
        }
        close(fd)
        done.wait()
        return Array(UnsafeBufferPointer(start: samples, count: count))
    }
}

/// Memory shared by the two ping-pong threads. `@unchecked Sendable` is safe because the protocol orders every
/// access: the sender writes `sentAt` before writing the frame; the receiver reads it only after the frame arrived,
/// and the sender touches nothing again until the receiver's acknowledgement (the socket calls are the barriers).
private final class Shared: @unchecked Sendable {
    let sentAt = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    let samples: UnsafeMutablePointer<UInt64>

    init(count: Int) {
        samples = .allocate(capacity: count)
    }
}
