import CLibUV
import Core
import Foundation
import Logging
import Synchronization

/// A bus client (worker or janitor). Connects to the API's socket, says `hello`, and reconnects with
/// `ReconnectBackoff` whenever the connection is lost. Sending while disconnected drops the message: the bus only
/// carries hints, and the database is re-read on the safety timeout.
///
/// `@unchecked Sendable`: connection state is touched only on the loop thread; `isConnected` is a `Mutex`.
public final class BusClient: @unchecked Sendable {
    public enum Event: Sendable, Equatable {
        case connected
        case disconnected
        case message(BusMessage)
    }

    public let socketPath: String
    public let peer: BusPeer
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let loop: UVLoop
    private let logger: Logger
    private let connectedFlag = Mutex(false)

    // Loop-thread state.
    private var backoff: ReconnectBackoff
    private var connection: UVStreamConnection?
    private var connecting: UnsafeMutablePointer<uv_pipe_t>?
    private var connectedAt: ContinuousClock.Instant?
    private var timer: UnsafeMutablePointer<uv_timer_t>?
    private var stopped = false
    private var loggedUnavailable = false

    public init(socketPath: String, peer: BusPeer, backoff: ReconnectBackoff = ReconnectBackoff(), logger: Logger) {
        self.socketPath = socketPath
        self.peer = peer
        self.backoff = backoff
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(16_384))
        loop = UVLoop(name: "bastion-bus-client")
    }

    /// True while a connection is up and `hello` has been sent.
    public var isConnected: Bool { connectedFlag.withLock { $0 } }

    /// Starts connecting in the background; returns at once.
    public func start() {
        loop.execute { [self] in
            let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
            uv_timer_init(loop.loop, timer)
            timer.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            self.timer = timer
            connect()
        }
    }

    /// Sends a message if connected; otherwise drops it (lossy by design).
    public func send(_ message: BusMessage) {
        let frame: [UInt8]
        do {
            frame = try BusFrame.encode(message)
        } catch {
            logger.error("Bus message not sent", metadata: ["error": "\(error)"])
            return
        }
        loop.execute { [self] in
            guard let connection else { return }
            if !connection.write(frame) {
                dropConnection(reason: "write failed")
            }
        }
    }

    /// Closes the connection and stops reconnecting.
    public func shutdown() async {
        loop.execute { [self] in
            stopped = true
            connection?.close()
            connection = nil
            if let connecting {
                UVLoop.closeHandle(UnsafeMutableRawPointer(connecting))
                self.connecting = nil
            }
            if let timer {
                uv_timer_stop(timer)
                UVLoop.closeHandle(UnsafeMutableRawPointer(timer))
                self.timer = nil
            }
        }
        await loop.stop()
        connectedFlag.withLock { $0 = false }
        continuation.finish()
    }

    // MARK: - Loop thread

    private func connect() {
        guard !stopped, connection == nil, connecting == nil else { return }
        let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        uv_pipe_init(loop.loop, pipe, 0)
        connecting = pipe
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_pipe_connect(request, pipe, socketPath) { request, status in
            let owner = Unmanaged<BusClient>.fromOpaque(request!.pointee.data).takeUnretainedValue()
            request!.deallocate()
            owner.connectFinished(status: status)
        }
    }

    private func connectFinished(status: Int32) {
        guard let pipe = connecting else { return }
        connecting = nil
        if stopped || status < 0 {
            UVLoop.closeHandle(UnsafeMutableRawPointer(pipe))
            if !stopped {
                if !loggedUnavailable {
                    logger.info("Bus not reachable; retrying", metadata: ["bus.socket": "\(socketPath)", "error": "\(UVError(status, "connect"))"])
                    loggedUnavailable = true
                }
                scheduleReconnect()
            }
            return
        }
        let stream = UVStreamConnection(pipe: pipe, maxPayloadBytes: BusFrame.maxPayloadBytes)
        pipe.pointee.data = Unmanaged.passUnretained(stream).toOpaque()
        stream.onData = { [unowned self] bytes in receive(bytes) }
        stream.onEnd = { [unowned self] code in
            dropConnection(reason: code == UV_EOF.rawValue ? "closed by server" : "\(UVError(code, "read"))")
        }
        connection = stream
        guard stream.startReading() >= 0, let hello = try? BusFrame.encode(.hello(peer)), stream.write(hello) else {
            dropConnection(reason: "could not start the connection")
            return
        }
        connectedAt = .now
        loggedUnavailable = false
        connectedFlag.withLock { $0 = true }
        logger.info("Bus connected", metadata: ["bus.socket": "\(socketPath)", "bus.role": "\(peer.role.rawValue)", "bus.peer": "\(peer.id)"])
        continuation.yield(.connected)
    }

    private func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let connection else { return }
        connection.decoder.append(bytes)
        do {
            while let payload = try connection.decoder.nextPayload() {
                continuation.yield(.message(try BusFrame.decodePayload(payload)))
            }
        } catch {
            logger.warning("Bus frame rejected; reconnecting", metadata: ["error": "\(error)"])
            dropConnection(reason: "\(error)")
        }
    }

    private func dropConnection(reason: String) {
        guard let stream = connection else { return }
        stream.close()
        connection = nil
        connectedFlag.withLock { $0 = false }
        if let connectedAt {
            backoff.connectionEnded(after: ContinuousClock.now - connectedAt)
            self.connectedAt = nil
        }
        logger.info("Bus disconnected", metadata: ["reason": "\(reason)"])
        continuation.yield(.disconnected)
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !stopped, let timer else { return }
        let delay = backoff.nextDelay()
        let millis = UInt64(max(0, delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000))
        uv_timer_start(
            timer,
            { timer in
                let owner = Unmanaged<BusClient>.fromOpaque(timer!.pointee.data).takeUnretainedValue()
                owner.connect()
            },
            millis,
            0
        )
    }
}
