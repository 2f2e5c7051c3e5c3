import CLibUV
import Foundation
import Logging
import Metrics
import Synchronization

/// The bus server bound by `bastion-api` at `<data-dir>/bastion.sock` (docs/architecture.md, "The bus").
///
/// Workers and the janitor connect as clients. `wake` and `cancel` frames from any client are relayed, byte for
/// byte, to every connected worker on the loop thread; every decoded message is also delivered to `events`.
/// A malformed or oversized frame closes only the connection that sent it.
///
/// `@unchecked Sendable`: the mutable connection table is touched only on the loop thread; the peer snapshot that
/// other threads read is behind a `Mutex`.
public final class BusServer: @unchecked Sendable {
    /// What happens on the bus, as seen by the API.
    public enum Event: Sendable {
        case hello(connection: Int, peer: BusPeer)
        case message(connection: Int, BusMessage)
        case disconnected(connection: Int, peer: BusPeer?)
    }

    public let socketPath: String
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let loop: UVLoop
    private let logger: Logger
    private let maxPayloadBytes: Int
    private let peers = Mutex<[Int: BusPeer]>([:])
    /// When each connection said `hello` and when its last frame arrived (Unix seconds), for the system page.
    private let contacts = Mutex<[Int: (connectedAt: Int64, lastFrameAt: Int64)]>([:])
    /// Frames received, by payload type (`bastion_bus_frames_received_total{type}`): how tests count that a batch of
    /// events crossed as one frame.
    private let framesReceived: [String: Counter] = Dictionary(
        uniqueKeysWithValues: BusMessage.typeNames.map { ($0, Counter(label: "bastion_bus_frames_received_total", dimensions: [("type", $0)])) }
    )

    // Loop-thread state.
    private var listener: UnsafeMutablePointer<uv_pipe_t>?
    private var connections: [Int: ServerConnection] = [:]
    private var nextConnectionID = 1
    /// Set once this server bound the path: only then is the socket file its to remove.
    private let bound = Mutex(false)

    public init(socketPath: String, maxPayloadBytes: Int = BusFrame.maxPayloadBytes, logger: Logger) {
        self.socketPath = socketPath
        self.maxPayloadBytes = maxPayloadBytes
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(16_384))
        loop = UVLoop(name: "bastion-bus-server")
    }

    /// Removes a stale socket file, binds with mode 0600 and listens. Throws if a live server already answers there.
    public func start() async throws {
        try Self.removeStaleSocket(at: socketPath)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in
                do {
                    try bindAndListen()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        logger.info("Bus listening", metadata: ["bus.socket": "\(socketPath)"])
    }

    /// Peers that said `hello` and are still connected.
    public func connectedPeers() -> [BusPeer] {
        peers.withLock { Array($0.values) }.sorted { ($0.role.rawValue, $0.id) < ($1.role.rawValue, $1.id) }
    }

    /// Connected peers with when they connected and when their last frame arrived (Unix seconds).
    public func peerContacts() -> [BusPeerContact] {
        let table = peers.withLock { $0 }
        let times = contacts.withLock { $0 }
        return table.map { id, peer in
            let time = times[id] ?? (0, 0)
            return BusPeerContact(peer: peer, connectedAt: time.connectedAt, lastFrameAt: time.lastFrameAt)
        }
        .sorted { ($0.peer.role.rawValue, $0.peer.id) < ($1.peer.role.rawValue, $1.peer.id) }
    }

    /// Sends a message to every connected peer with `role` (every peer when nil). Lossy by design.
    public func broadcast(_ message: BusMessage, to role: BusRole? = .worker) {
        let frame: [UInt8]
        do {
            frame = try BusFrame.encode(message)
        } catch {
            logger.error("Bus message not sent", metadata: ["error": "\(error)"])
            return
        }
        loop.execute { [self] in
            broadcastFrame(frame, to: role)
        }
    }

    /// Closes every connection and the listener, removes the socket file and stops the loop thread.
    public func shutdown() async {
        // The path goes first, so a client reconnecting during the shutdown fails to connect instead of reaching a
        // listener that is about to close (and counting a connection that never served).
        if bound.withLock({ $0 }) { unlink(socketPath) }
        loop.execute { [self] in
            for connection in connections.values { connection.stream.close() }
            connections.removeAll()
            if let listener {
                UVLoop.closeHandle(UnsafeMutableRawPointer(listener))
                self.listener = nil
            }
        }
        await loop.stop()
        peers.withLock { $0.removeAll() }
        contacts.withLock { $0.removeAll() }
        continuation.finish()
        logger.info("Bus stopped", metadata: ["bus.socket": "\(socketPath)"])
    }

    // MARK: - Loop thread

    private func bindAndListen() throws {
        let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        uv_pipe_init(loop.loop, pipe, 0)
        pipe.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        var status = uv_pipe_bind(pipe, socketPath)
        if status < 0 {
            UVLoop.closeHandle(UnsafeMutableRawPointer(pipe))
            throw UVError(status, "bind \(socketPath)")
        }
        // Before listen, so no client can connect while the mode is still the umask's.
        chmod(socketPath, 0o600)
        status = uv_listen(pipe.stream, 128) { server, status in
            let owner = Unmanaged<BusServer>.fromOpaque(server!.pointee.data).takeUnretainedValue()
            owner.accept(status: status)
        }
        if status < 0 {
            UVLoop.closeHandle(UnsafeMutableRawPointer(pipe))
            throw UVError(status, "listen \(socketPath)")
        }
        listener = pipe
        bound.withLock { $0 = true }
    }

    private func accept(status: Int32) {
        guard status >= 0, let listener else {
            logger.warning("Bus accept failed", metadata: ["error": "\(UVError(status, "accept"))"])
            return
        }
        let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        uv_pipe_init(loop.loop, pipe, 0)
        guard uv_accept(listener.stream, pipe.stream) == 0 else {
            UVLoop.closeHandle(UnsafeMutableRawPointer(pipe))
            return
        }
        let id = nextConnectionID
        nextConnectionID += 1
        let connection = ServerConnection(id: id, stream: UVStreamConnection(pipe: pipe, maxPayloadBytes: maxPayloadBytes))
        pipe.pointee.data = Unmanaged.passUnretained(connection.stream).toOpaque()
        connection.stream.onData = { [unowned self] bytes in receive(bytes, on: connection) }
        connection.stream.onEnd = { [unowned self] code in
            disconnect(connection, reason: code == UV_EOF.rawValue ? "closed by peer" : "\(UVError(code, "read"))")
        }
        connections[id] = connection
        let status = connection.stream.startReading()
        if status < 0 {
            disconnect(connection, reason: "\(UVError(status, "read start"))")
        }
        logger.debug("Bus connection accepted", metadata: ["bus.connection": "\(id)"])
    }

    private func receive(_ bytes: UnsafeRawBufferPointer, on connection: ServerConnection) {
        connection.stream.decoder.append(bytes)
        do {
            while let payload = try connection.stream.decoder.nextPayload() {
                let message = try BusFrame.decodePayload(payload)
                handle(message, payload: payload, from: connection)
                guard connections[connection.id] != nil else { return }
            }
        } catch {
            logger.warning(
                "Bus frame rejected; closing connection",
                metadata: ["bus.connection": "\(connection.id)", "bus.peer": "\(connection.peer?.id ?? "-")", "error": "\(error)"]
            )
            disconnect(connection, reason: "\(error)")
        }
    }

    private func handle(_ message: BusMessage, payload: [UInt8], from connection: ServerConnection) {
        framesReceived[message.typeName]?.increment()
        let now = Int64(Date().timeIntervalSince1970)
        contacts.withLock { $0[connection.id] = ($0[connection.id]?.connectedAt ?? now, now) }
        if case .hello(let peer) = message {
            connection.peer = peer
            peers.withLock { $0[connection.id] = peer }
            logger.info(
                "Bus peer connected",
                metadata: ["bus.connection": "\(connection.id)", "bus.role": "\(peer.role.rawValue)", "bus.peer": "\(peer.id)", "pid": "\(peer.pid)"]
            )
            continuation.yield(.hello(connection: connection.id, peer: peer))
            return
        }
        if message.isRelayedToWorkers {
            var frame = [UInt8]()
            frame.reserveCapacity(payload.count + 4)
            let length = UInt32(payload.count)
            frame.append(contentsOf: [UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)])
            frame.append(contentsOf: payload)
            broadcastFrame(frame, to: .worker)
        }
        continuation.yield(.message(connection: connection.id, message))
    }

    private func broadcastFrame(_ frame: [UInt8], to role: BusRole?) {
        for connection in Array(connections.values) where role == nil || connection.peer?.role == role {
            if !connection.stream.write(frame) {
                disconnect(connection, reason: "peer not reading (write queue full)")
            }
        }
    }

    private func disconnect(_ connection: ServerConnection, reason: String) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        connection.stream.close()
        peers.withLock { _ = $0.removeValue(forKey: connection.id) }
        contacts.withLock { _ = $0.removeValue(forKey: connection.id) }
        logger.info(
            "Bus connection closed",
            metadata: ["bus.connection": "\(connection.id)", "bus.peer": "\(connection.peer?.id ?? "-")", "reason": "\(reason)"]
        )
        continuation.yield(.disconnected(connection: connection.id, peer: connection.peer))
    }

    // MARK: - Stale socket

    /// Unlinks a socket file nobody answers on; throws `addressInUse` when a live server does.
    static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw BusServerError.notASocket(path)
        }
        if UnixSocket.canConnect(to: path) {
            throw BusServerError.addressInUse(path)
        }
        unlink(path)
    }
}

/// Failures to bring up the bus server.
public enum BusServerError: Error, CustomStringConvertible, Equatable {
    case addressInUse(String)
    case notASocket(String)

    public var description: String {
        switch self {
        case .addressInUse(let path): return "another bastion-api is already listening on \(path)"
        case .notASocket(let path): return "\(path) exists and is not a socket; refusing to remove it"
        }
    }
}

/// One accepted connection. Loop thread only.
final class ServerConnection {
    let id: Int
    let stream: UVStreamConnection
    var peer: BusPeer?

    init(id: Int, stream: UVStreamConnection) {
        self.id = id
        self.stream = stream
    }
}
