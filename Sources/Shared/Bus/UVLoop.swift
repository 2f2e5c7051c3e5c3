import CLibUV
import Foundation
import Synchronization

/// One libuv loop running on its own thread: the only place libuv handles are touched.
///
/// `@unchecked Sendable` is safe under one rule: `loop` and every handle created on it are used only on the loop
/// thread (inside callbacks or closures passed to `execute`). The one libuv call made from other threads is
/// `uv_async_send`, which libuv documents as thread-safe; the queue it drains is guarded by a `Mutex`.
final class UVLoop: @unchecked Sendable {
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let pending = Mutex<[@Sendable () -> Void]>([])
    private let stopState = Mutex(StopState())

    private struct StopState {
        var done = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    init(name: String) {
        // A peer that dies mid-write must be an EPIPE error on that connection, not a SIGPIPE that kills this
        // process (libuv writes to Unix sockets with plain write()). Every bus user needs this, so it is here.
        signal(SIGPIPE, SIG_IGN)
        loop = .allocate(capacity: 1)
        uv_loop_init(loop)
        wakeup = .allocate(capacity: 1)
        uv_async_init(loop, wakeup) { handle in
            UVLoop.owner(of: handle).drain()
        }
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let thread = Thread { [self] in
            uv_run(loop, UV_RUN_DEFAULT)
            uv_loop_close(loop)
            let waiter = stopState.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        thread.name = name
        thread.start()
    }

    deinit {
        // The loop was stopped (stop() is awaited by every owner) before the last reference went away.
        wakeup.deallocate()
        loop.deallocate()
    }

    private static func owner(of handle: UnsafeMutablePointer<uv_async_t>?) -> UVLoop {
        Unmanaged<UVLoop>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
    }

    /// Runs `work` on the loop thread. Thread-safe.
    func execute(_ work: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(work) }
        uv_async_send(wakeup)
    }

    private func drain() {
        let work = pending.withLock { queue -> [@Sendable () -> Void] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for item in work { item() }
    }

    /// Closes the wake-up handle so `uv_run` returns once the owner's handles are closed, and waits for the thread.
    /// Owners close their own handles first (in a closure passed to `execute`).
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyDone = stopState.withLock { state -> Bool in
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if alreadyDone {
                continuation.resume()
                return
            }
            execute { [self] in
                UVLoop.closeHandle(UnsafeMutableRawPointer(wakeup), free: false)
            }
        }
    }

    /// Closes a handle; with `free`, the handle's memory (from `UnsafeMutablePointer.allocate`) is released in the
    /// close callback, the earliest moment libuv allows. Loop thread only.
    static func closeHandle(_ pointer: UnsafeMutableRawPointer, free: Bool = true) {
        let handle = pointer.assumingMemoryBound(to: uv_handle_t.self)
        guard uv_is_closing(handle) == 0 else { return }
        if free {
            uv_close(handle) { handle in UnsafeMutableRawPointer(handle!).deallocate() }
        } else {
            uv_close(handle, nil)
        }
    }
}

/// Errors from libuv calls, with libuv's own message.
public struct UVError: Error, CustomStringConvertible, Equatable {
    public let code: Int32
    public let operation: String

    init(_ code: Int32, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    public var description: String {
        "\(operation): \(String(cString: uv_strerror(code)))"
    }
}

extension UnsafeMutablePointer where Pointee == uv_pipe_t {
    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_stream_t.self)
    }
}

/// A stream connection's libuv state, shared by the server's and the client's connections. Loop thread only.
final class UVStreamConnection {
    let pipe: UnsafeMutablePointer<uv_pipe_t>
    let readBuffer: UnsafeMutableRawBufferPointer
    var decoder: BusFrameDecoder

    /// Writes queued in libuv beyond this are a peer that does not read: it is disconnected, memory stays bounded.
    static let maxQueuedWriteBytes = 8 * 1024 * 1024

    init(pipe: UnsafeMutablePointer<uv_pipe_t>, maxPayloadBytes: Int) {
        self.pipe = pipe
        self.readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        self.decoder = BusFrameDecoder(maxPayloadBytes: maxPayloadBytes)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts reading; `onData` gets each chunk, `onEnd` the error or EOF code once.
    func startReading() -> Int32 {
        uv_read_start(
            pipe.stream,
            { handle, _, buf in
                let connection = Unmanaged<UVStreamConnection>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
                buf!.pointee = uv_buf_init(
                    connection.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                    UInt32(connection.readBuffer.count)
                )
            },
            { stream, nread, _ in
                let connection = Unmanaged<UVStreamConnection>.fromOpaque(stream!.pointee.data).takeUnretainedValue()
                if nread < 0 {
                    connection.onEnd?(Int32(nread))
                } else if nread > 0 {
                    connection.onData?(UnsafeRawBufferPointer(rebasing: connection.readBuffer[0..<nread]))
                }
            }
        )
    }

    var onData: ((UnsafeRawBufferPointer) -> Void)?
    var onEnd: ((Int32) -> Void)?

    /// Queues a frame; returns false when the peer is too far behind (the caller closes it).
    func write(_ bytes: [UInt8]) -> Bool {
        guard uv_stream_get_write_queue_size(pipe.stream) <= Self.maxQueuedWriteBytes else { return false }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = storage
        var buffer = uv_buf_init(storage.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let status = uv_write(request, pipe.stream, &buffer, 1) { request, _ in
            request!.pointee.data.deallocate()
            request!.deallocate()
        }
        if status < 0 {
            storage.deallocate()
            request.deallocate()
            return false
        }
        return true
    }

    /// Stops reading and closes the handle; its memory is freed by libuv's close callback.
    func close() {
        onData = nil
        onEnd = nil
        UVLoop.closeHandle(UnsafeMutableRawPointer(pipe))
    }
}
