import Core
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import NIOWebSocket
import Store

/// `GET /api/runs/{id}/events/ws?after_seq=N` exactly as docs/architecture.md, "Run events over WebSocket", says:
/// 1. subscribe to the hub first; 2. catch up from SQLite in pages of 200; 3. forward live events, dropping
/// `seq <= last`, and re-read SQLite from `last` on a gap or a buffer overflow (the connection survives);
/// 4. ping (automatic, every 20 s); close `closeDelay` after the run is terminal and everything was delivered.
struct RunEventsWebSocket: Sendable {
    let database: AppDatabase
    let hub: RunEventsHub
    let closeDelay: Duration
    let policy: NetworkPolicy
    /// When nothing arrives, the database is re-checked this often (a lost terminal hint must not keep a socket open).
    let safetyCheck: Duration = .seconds(30)

    static let pageSize = 200
    static let terminalKinds = RunEventKind.terminal

    /// The pre-upgrade checks, in the original's order: a session (`401 unauthorized`), an Origin matching how the
    /// client reached us (`401 invalid_origin`), a valid `after_seq`, an existing run (`404 run_not_found`).
    /// Returns the start seq.
    func validate(headers: HTTPFields, authority: String?, uri: URI, runId: String, peer: String?) async throws -> Int64 {
        guard try await SessionCookie.session(headers, database: database) != nil else { throw APIError.unauthorized }
        guard
            policy.originMatches(
                origin: headers[.origin],
                host: authority,
                forwardedHost: headers[HTTPField.Name("x-forwarded-host")!],
                forwardedProto: headers[EdgePolicyMiddleware.forwardedProto],
                peer: peer
            )
        else {
            throw APIError(status: .unauthorized, code: "invalid_origin", message: "the Origin header does not match this server")
        }
        let after = try RunsController.afterSeq(uri)
        guard try await database.run(id: runId) != nil else { throw APIError.runNotFound }
        return after
    }

    func validate(_ request: Request, runId: String, peer: String?) async throws -> Int64 {
        try await validate(headers: request.headers, authority: request.head.authority, uri: request.uri, runId: runId, peer: peer)
    }

    /// The run id of a canonical run-events path (`/api/runs/{id}/events/ws`), else nil.
    static func runId(inPath path: String) -> String? {
        let segments = path.split(separator: "/")
        guard segments.count == 5, segments[0] == "api", segments[1] == "runs", segments[3] == "events", segments[4] == "ws" else { return nil }
        return String(segments[2])
    }

    /// The upgrade's check, at the gate (`GatedWebSocketChannel`) and again in the router's `shouldUpgrade`: a canonical
    /// run-events path, the edge rule, then `validate`. nil lets the upgrade through, else the refusal.
    func refusal(uri raw: String, headers: HTTPFields, authority: String?, peer: String?) async -> (status: HTTPResponse.Status, body: String)? {
        await gateRefusal(uri: raw, headers: headers, peer: peer, policy: policy) { path in
            guard let runId = Self.runId(inPath: path) else { throw APIError(status: .notFound, code: "not_found", message: "no such WebSocket") }
            _ = try await validate(headers: headers, authority: authority, uri: URI(raw), runId: runId, peer: peer)
        }
    }

    /// Writes a client's frames: all of them at once on its channel's event loop with one flush (docs/architecture.md,
    /// "Run events over WebSocket"), or one by one through the library's writer when the channel is not known.
    struct FrameWriter: Sendable {
        let channel: (any Channel)?
        let outbound: WebSocketOutboundWriter

        func write(_ frames: [ByteBuffer]) async throws {
            guard let lastFrame = frames.last else { return }
            guard let channel else {
                for frame in frames { try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame))) }
                return
            }
            try Task.checkCancellation()
            // One hop to the event loop and one flush for the batch; done when the socket took it (a slow client
            // holds its own writer back, and its subscription lags and resyncs from the database).
            try await channel.eventLoop.flatSubmit {
                for frame in frames.dropLast() { channel.write(WebSocketFrame(fin: true, opcode: .text, data: frame), promise: nil) }
                return channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: lastFrame))
            }
            .get()
        }
    }

    func stream(
        runId: String,
        afterSeq: Int64,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        channel: (any Channel)? = nil,
        logger: Logger
    ) async {
        let subscription = hub.subscribe(runId: runId)
        let clients = Meter(label: "bastion_websocket_clients")
        clients.increment()
        defer {
            subscription.cancel()
            clients.decrement()
        }
        let writer = FrameWriter(channel: channel, outbound: outbound)
        var last = afterSeq

        /// Sends everything after `last` from SQLite, a page at a time; returns whether a terminal event was among them.
        func catchUp() async throws -> Bool {
            var sawTerminal = false
            while true {
                let page = try await database.events(runId: runId, afterSeq: last, limit: Self.pageSize)
                try await writer.write(page.map { ByteBuffer(string: $0.json) })
                if let final = page.last { last = final.seq }
                if page.contains(where: { Self.terminalKinds.contains($0.kind) }) { sawTerminal = true }
                if page.count < Self.pageSize { return sawTerminal }
            }
        }

        await withTaskGroup(of: Void.self) { group in
            // Client frames are ignored; the inbound stream ending means the client went away.
            group.addTask {
                do {
                    for try await _ in inbound {}
                } catch {}
                subscription.cancel()
            }
            // A once-a-second tick through the same bounded queue drives the close countdown and lag checks.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    subscription.poke()
                }
            }
            do {
                var terminalSince: ContinuousClock.Instant?
                var lastCheck = ContinuousClock.now
                let caughtUpTerminal = try await catchUp()
                let run = try await database.run(id: runId)
                let statusTerminal = run?.status.isTerminal ?? true
                if caughtUpTerminal || statusTerminal {
                    terminalSince = .now
                } else if let stored = run?.progress.flatMap(RunProgress.init(json:)) {
                    // A running run's latest progress at once, so a fresh page need not wait for the next update.
                    try await outbound.write(.text(RunEventsHub.progressFrame(RunProgress.Update(runId: runId, progress: stored))))
                }
                // Everything pending for this client is taken at once and its frames written together.
                while let deliveries = await subscription.next() {
                    var frames: [ByteBuffer] = []
                    for delivery in deliveries {
                        switch delivery {
                        case .progress(let frame):
                            // Live progress is not part of the log: nothing to resync when one is missed.
                            if terminalSince == nil { frames.append(frame) }
                        case .event(let event, let frame):
                            if event.seq <= last { continue }
                            if event.seq > last + 1 || subscription.takeLagged() {
                                logger.debug("Run events resync", metadata: ["run.id": "\(runId)", "last_seq": "\(last)", "got_seq": "\(event.seq)"])
                                try await writer.write(frames)
                                frames = []
                                if try await catchUp() { terminalSince = terminalSince ?? .now }
                            } else {
                                frames.append(frame)
                                last = event.seq
                                if Self.terminalKinds.contains(event.kind) { terminalSince = terminalSince ?? .now }
                            }
                        case .tick:
                            try await writer.write(frames)
                            frames = []
                            let now = ContinuousClock.now
                            if subscription.takeLagged() {
                                if try await catchUp() { terminalSince = terminalSince ?? .now }
                            }
                            if let since = terminalSince, now - since >= closeDelay {
                                _ = try await catchUp()
                                guard let run = try await database.run(id: runId), !run.status.isTerminal else {
                                    try? await outbound.close(.normalClosure, reason: "run finished")
                                    group.cancelAll()
                                    return
                                }
                                terminalSince = nil
                            } else if terminalSince == nil, now - lastCheck >= safetyCheck {
                                lastCheck = now
                                let sawTerminal = try await catchUp()
                                let status = try await database.run(id: runId)?.status
                                if sawTerminal || status?.isTerminal ?? true { terminalSince = now }
                            }
                        }
                    }
                    try await writer.write(frames)
                }
                if hub.isClosed {
                    // The API is shutting down: tell the client to reconnect (by seq) to the next one.
                    try? await outbound.close(.goingAway, reason: "server shutting down")
                }
            } catch {
                logger.debug("Run events stream ended", metadata: ["run.id": "\(runId)", "error": "\(error)"])
            }
            group.cancelAll()
        }
    }
}
