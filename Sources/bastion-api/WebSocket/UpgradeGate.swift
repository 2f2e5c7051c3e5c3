import Core
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// What the gate answers for an upgrade request: nil lets it through to the WebSocket router.
typealias UpgradeCheck =
    @Sendable (_ uri: String, _ headers: HTTPFields, _ authority: String?, _ peer: String?) async -> (
        status: HTTPResponse.Status, body: String
    )?

/// Runs a gate check for a WebSocket request: the canonical path (`RequestPath.canonical` of the raw target `uri`),
/// the edge rule (`policy`), then `check` with the path; nil when all pass, else the refusal as the status and JSON
/// body an `APIError` renders (with the request's id).
func gateRefusal(
    uri: String,
    headers: HTTPFields,
    peer: String?,
    policy: NetworkPolicy?,
    _ check: @Sendable (_ path: String) async throws -> Void
) async -> (status: HTTPResponse.Status, body: String)? {
    let requestID = headers[RequestIDMiddleware.header].flatMap(RequestIDMiddleware.sanitized) ?? UUID().uuidString.lowercased()
    do {
        let path: String
        do {
            path = try RequestPath.canonical(uri)
        } catch {
            throw APIError.nonCanonicalPath(error)
        }
        if let policy, !policy.allows(peer: peer, forwardedProto: headers[EdgePolicyMiddleware.forwardedProto]) { throw APIError.insecure }
        try await check(path)
        return nil
    } catch let error as APIError {
        return (error.status, error.bodyText(requestID: requestID))
    } catch {
        return (.serviceUnavailable, APIError(status: .serviceUnavailable, code: "unavailable", message: "try again").bodyText(requestID: requestID))
    }
}

/// hummingbird-websocket's HTTP/1 + WebSocket channel with a gate in front of its upgrade handler.
///
/// The library answers every refused upgrade with a bare `400`. The gate sees each request asking for an upgrade first,
/// runs the same checks the router will (session, Origin, query, run), and answers a refusal itself with the real
/// status and JSON body (`401 unauthorized`, `401 invalid_origin`, `404 run_not_found`, …), then closes. Requests
/// that are not upgrades pass untouched, and the gate leaves the pipeline after the first request.
struct GatedWebSocketChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let check: UpgradeCheck

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let upgrader = try channel.pipeline.syncOperations.handler(
                type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self
            )
            let peer = channel.remoteAddress?.ipAddress
            try channel.pipeline.syncOperations.addHandler(UpgradeGateHandler(check: check, peer: peer), position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// The channel handler behind `GatedWebSocketChannel`. Lives on one event loop; never shared.
final class UpgradeGateHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case waitingForHead
        case deciding([HTTPServerRequestPart])
        case refused
    }

    private let check: UpgradeCheck
    private let peer: String?
    private var state = State.waitingForHead

    init(check: @escaping UpgradeCheck, peer: String?) {
        self.check = check
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .refused:
            return
        case .deciding(var buffered):
            buffered.append(part)
            state = .deciding(buffered)
            return
        case .waitingForHead:
            break
        }
        if case .head(let head) = part, !head.uri.hasPrefix("/") {
            // A target that is not a path (`GET x HTTP/1.1`, `*`, absolute-form) gets no answer from the HTTP/1 server
            // (the request never reaches the router): refuse it here, as `CanonicalPathMiddleware` would.
            state = .refused
            let requestID = UUID().uuidString.lowercased()
            refuse(context: context, status: .badRequest, body: APIError.nonCanonicalPath(.notAbsolute).bodyText(requestID: requestID))
            return
        }
        guard case .head(let head) = part, Self.asksForUpgrade(head.headers) else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            return
        }
        state = .deciding([part])
        var fields = HTTPFields()
        for header in head.headers where header.name.lowercased() != "host" {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        let authority = head.headers["host"].first
        let check = check
        let peer = peer
        let uri = head.uri
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask { await check(uri, fields, authority, peer) }.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(nil): handler.release(context: context)
            case .success(let refusal?): handler.refuse(context: context, status: refusal.status, body: refusal.body)
            case .failure: handler.refuse(context: context, status: .internalServerError, body: #"{"error":"internal_error"}"#)
            }
        }
    }

    /// Whether a request asks to change protocol in any spelling: an `Upgrade` header (any value; a token list such as
    /// `websocket, x` included) or an `upgrade` token in `Connection`. Such a request always meets the gate; the
    /// WebSocket router's `shouldUpgrade` checks again (docs/security.md, "WebSocket upgrades").
    static func asksForUpgrade(_ headers: HTTPHeaders) -> Bool {
        if !headers["upgrade"].isEmpty { return true }
        return headers["connection"].contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "upgrade" }
        }
    }

    /// Allowed: hand the buffered request to the upgrade handler and step out of the pipeline.
    private func release(context: ChannelHandlerContext) {
        guard case .deciding(let buffered) = state else { return }
        state = .waitingForHead
        for part in buffered { context.fireChannelRead(wrapInboundOut(part)) }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    /// Refused: answer with the JSON error and close the connection.
    private func refuse(context: ChannelHandlerContext, status: HTTPResponse.Status, body: String) {
        state = .refused
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json; charset=utf-8")
        headers.add(name: "content-length", value: "\(body.utf8.count)")
        headers.add(name: "connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status.code), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
