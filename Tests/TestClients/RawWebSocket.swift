import Foundation
import Glibc

/// A minimal RFC 6455 client (tests and benchmarks only) over a blocking TCP socket, so a test can be a slow reader for real (it simply does
/// not read) and see exactly what the server sends. Blocking calls run on a dispatch queue.
public final class RawWebSocket: @unchecked Sendable {
    public enum Frame: Equatable, Sendable {
        case text(String)
        case close(UInt16?)
        case ping
        case pong
    }

    public struct Refused: Error {
        public var status: Int
        public var body: String
    }

    public struct Timeout: Error {}

    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already consumed (compacted lazily, so a frame costs no shifting).
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 65536)
    /// One frame on the wire at a time: a reader thread answering a ping and a sender thread may share a socket.
    private let sendLock = NSLock()

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        Glibc.close(fd)
    }

    /// Connects and performs the upgrade; throws `Refused` with the HTTP status when the server declines.
    public static func connect(port: Int, path: String, headers: [String: String] = [:]) async throws -> RawWebSocket {
        try await blocking {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else {
                Glibc.close(fd)
                throw POSIXError(.ECONNREFUSED)
            }
            let socket = RawWebSocket(fd: fd)
            let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            request += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            request += "\r\n"
            try socket.writeAll(Array(request.utf8))
            let head = try socket.readHead(timeout: 5)
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            guard status == 101 else {
                let body = String(decoding: socket.pending, as: UTF8.self)
                throw Refused(status: status, body: body)
            }
            return socket
        }
    }

    /// The next frame; answers pings itself and keeps going.
    public func next(timeout: Double = 5) async throws -> Frame {
        try await Self.blocking { [self] in
            while true {
                let frame = try readFrame(timeout: timeout)
                if frame == .ping { continue }
                return frame
            }
        }
    }

    /// The next text frame decoded as a run event's JSON object (live progress frames, `"type": "progress"`, are
    /// skipped); nil when the server closed.
    public func nextEvent(timeout: Double = 5) async throws -> [String: Any]? {
        while true {
            switch try await next(timeout: timeout) {
            case .text(let text):
                let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                if object?["type"] as? String == "progress" { continue }
                return object
            case .close:
                return nil
            case .ping, .pong:
                continue
            }
        }
    }

    /// Reads events until `seq == until` (or the timeout); returns the seqs in arrival order.
    public func collectSeqs(until target: Int, timeout: Double = 10) async throws -> [Int] {
        var seqs: [Int] = []
        let deadline = Date().addingTimeInterval(timeout)
        while seqs.last != target, Date() < deadline {
            guard let event = try await nextEvent(timeout: max(0.1, deadline.timeIntervalSinceNow)) else { break }
            seqs.append(event["seq"] as? Int ?? -1)
        }
        return seqs
    }

    public func shutdown() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Sends one text frame (a client speaking a protocol, such as a forged agent).
    public func send(_ text: String) async throws {
        try await Self.blocking { [self] in try send(opcode: 0x1, payload: Array(text.utf8)) }
    }

    // MARK: - Blocking internals

    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw POSIXError(.EPIPE) }
            offset += written
        }
    }

    private func fill(timeout: Double) throws {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, Int32(timeout * 1000)) > 0 else { throw Timeout() }
        let count = scratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, 65536) }
        guard count > 0 else { throw POSIXError(.ECONNRESET) }
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: scratch[0..<count])
    }

    private func take(_ count: Int, timeout: Double) throws -> ArraySlice<UInt8> {
        while buffer.count - start < count { try fill(timeout: timeout) }
        let bytes = buffer[start..<(start + count)]
        start += count
        return bytes
    }

    /// What is buffered but not consumed (the body of a refused upgrade).
    private var pending: ArraySlice<UInt8> { buffer[start...] }

    private func readHead(timeout: Double) throws -> String {
        let marker: [UInt8] = [13, 10, 13, 10]
        while true {
            if let range = pending.firstRange(of: marker) {
                let head = String(decoding: buffer[start..<range.lowerBound], as: UTF8.self)
                start = range.upperBound
                return head
            }
            try fill(timeout: timeout)
        }
    }

    private func readFrame(timeout: Double) throws -> Frame {
        let header = Array(try take(2, timeout: timeout))
        let opcode = header[0] & 0x0f
        var length = Int(header[1] & 0x7f)
        if length == 126 {
            let ext = Array(try take(2, timeout: timeout))
            length = Int(ext[0]) << 8 | Int(ext[1])
        } else if length == 127 {
            length = try take(8, timeout: timeout).reduce(0) { $0 << 8 | Int($1) }
        }
        let payload = Array(try take(length, timeout: timeout))
        switch opcode {
        case 0x1: return .text(String(decoding: payload, as: UTF8.self))
        case 0x8:
            try? send(opcode: 0x8, payload: Array(payload.prefix(2)))
            return .close(payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil)
        case 0x9:
            try send(opcode: 0xA, payload: payload)
            return .ping
        case 0xA: return .pong
        default: return .text(String(decoding: payload, as: UTF8.self))
        }
    }

    /// Sends one masked frame (clients must mask).
    private func send(opcode: UInt8, payload: [UInt8]) throws {
        let frame = Self.masked(opcode: opcode, payload: payload)
        sendLock.lock()
        defer { sendLock.unlock() }
        try writeAll(frame)
    }

    /// Text frames in one write (they reach the server together), then the first `partialBytes` of `partial`'s frame
    /// when given: an agent killed while sending it.
    public func sendTogether(_ texts: [String], partial: String? = nil, partialBytes: Int = 0) async throws {
        let whole = texts.flatMap { Self.masked(opcode: 0x1, payload: Array($0.utf8)) }
        let bytes = whole + (partial.map { Self.masked(opcode: 0x1, payload: Array($0.utf8)).prefix(partialBytes) } ?? [])
        try await Self.blocking { [self] in
            sendLock.lock()
            defer { sendLock.unlock() }
            try writeAll(bytes)
        }
    }

    /// One masked frame's bytes.
    private static func masked(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64($0))) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }
}

extension RawWebSocket {
    /// Blocking send of one text frame, for callers on their own thread (a flooding agent).
    public func sendBlocking(_ text: String) throws {
        try send(opcode: 0x1, payload: Array(text.utf8))
    }

    /// Blocking read of the next text frame, for callers on their own thread (benchmarks with many clients).
    public func nextTextBlocking(timeout: Double = 5) throws -> String? {
        while true {
            switch try readFrame(timeout: timeout) {
            case .text(let text): return text
            case .close: return nil
            case .ping, .pong: continue
            }
        }
    }
}
