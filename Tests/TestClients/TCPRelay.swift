import Foundation
import Glibc
import Synchronization

/// A TCP relay on 127.0.0.1 that a test can cut and restore (tests only): each accepted connection is piped to
/// `targetPort` by two threads. `cut()` closes every live pair and refuses new connections until `restore()`, so a
/// client sees its link drop and its reconnects fail, as when a network goes away.
public final class TCPRelay: @unchecked Sendable {
    public let port: Int
    private let targetPort: Int
    private let listener: Int32
    private let state = Mutex<(cut: Bool, sockets: [Int32], closed: Bool)>((false, [], false))
    /// Connections accepted so far (reconnects count).
    public var accepted: Int { acceptedCount.withLock { $0 } }
    private let acceptedCount = Mutex(0)

    public init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts accepting (call once).
    public func start() -> Self {
        Thread.detachNewThread { [self] in acceptLoop() }
        return self
    }

    deinit { stop() }

    public func cut() {
        let sockets = state.withLock { state -> [Int32] in
            state.cut = true
            defer { state.sockets = [] }
            return state.sockets
        }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    public func restore() { state.withLock { $0.cut = false } }

    public func stop() {
        let sockets = state.withLock { state -> [Int32] in
            state.closed = true
            state.cut = true
            defer { state.sockets = [] }
            return state.sockets
        }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if state.withLock({ $0.closed }) { return }
                continue
            }
            acceptedCount.withLock { $0 += 1 }
            if state.withLock({ $0.cut }) {
                close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(targetPort).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            state.withLock { $0.sockets += [client, upstream] }
            for (from, to) in [(client, upstream), (upstream, client)] {
                Thread.detachNewThread {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                        if count <= 0 { break }
                        var offset = 0
                        while offset < count {
                            let written = buffer.withUnsafeBytes { write(to, $0.baseAddress! + offset, count - offset) }
                            if written <= 0 { break }
                            offset += written
                        }
                        if offset < count { break }
                    }
                    shutdown(from, Int32(SHUT_RDWR))
                    shutdown(to, Int32(SHUT_RDWR))
                }
            }
        }
    }
}
