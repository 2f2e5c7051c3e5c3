import Foundation
import Hummingbird
import Logging
import Synchronization

/// A real HTTP server the tests point notification destinations at. Records every request (arrival time, headers,
/// raw body; header names lowercased) and answers according to `behaviour` (called with the 1-based request number).
final class WebhookReceiver: Sendable {
    enum Answer: Sendable {
        case status(Int)
        /// Never answers (until the connection dies).
        case hang
    }

    struct Received: Sendable {
        var arrival: Double
        var headers: [String: String]
        var body: Data
        var answered: Int?
        /// The request's path (pings and ntfy: which URL was called).
        var path = ""
    }

    let port: Int
    private let behaviour: @Sendable (Int) -> Answer
    private let received = Mutex<[Received]>([])
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var requests: [Received] { received.withLock { $0 } }
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var wecomURL: String { "http://127.0.0.1:\(port)/wecom?key=test" }
    /// A healthchecks.io-style check URL (`…/start`, `…/fail` appended by the sender) or any URL under `/ping/`.
    func pingURL(_ path: String) -> String { "http://127.0.0.1:\(port)/ping/\(path)" }
    /// An ntfy topic.
    func ntfyURL(_ topic: String) -> String { "http://127.0.0.1:\(port)/ntfy/\(topic)" }

    init(port: Int, behaviour: @escaping @Sendable (Int) -> Answer) {
        self.port = port
        self.behaviour = behaviour
    }

    func start() async throws {
        let router = Router()
        router.post("hook") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let index = received.withLock { list -> Int in
                list.append(Received(arrival: Date().timeIntervalSince1970, headers: headers, body: Data(body.readableBytesView)))
                return list.count
            }
            switch behaviour(index) {
            case .hang:
                try await Task.sleep(for: .seconds(3600))
                return Response(status: .ok)
            case .status(let code):
                received.withLock { $0[index - 1].answered = code }
                return Response(status: .init(code: code), body: .init(byteBuffer: .init(string: "{\"ok\":true}")))
            }
        }
        // Pings and ntfy: record the path, headers and body; answer as `behaviour` says.
        for route in ["ping/**", "ntfy/**"] {
            router.post(RouterPath(stringLiteral: route)) { [self] request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
                let index = received.withLock { list -> Int in
                    list.append(
                        Received(arrival: Date().timeIntervalSince1970, headers: headers, body: Data(body.readableBytesView), path: request.uri.path)
                    )
                    return list.count
                }
                switch behaviour(index) {
                case .hang:
                    try await Task.sleep(for: .seconds(3600))
                    return Response(status: .ok)
                case .status(let code):
                    received.withLock { $0[index - 1].answered = code }
                    return Response(status: .init(code: code), body: .init(byteBuffer: .init(string: "OK")))
                }
            }
        }
        // A WeCom group robot: answers `errcode` 0 when the message has the robot API's markdown shape.
        router.post("wecom") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock {
                $0.append(Received(arrival: Date().timeIntervalSince1970, headers: [:], body: Data(body.readableBytesView), answered: 200))
            }
            let message = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            let valid = message?["msgtype"] as? String == "markdown" && (message?["markdown"] as? [String: Any])?["content"] is String
            let answer = valid ? #"{"errcode":0,"errmsg":"ok"}"# : #"{"errcode":40008,"errmsg":"invalid message type"}"#
            return Response(status: .ok, body: .init(byteBuffer: .init(string: answer)))
        }
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let ready = AsyncStream<Void>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in ready.continuation.yield() },
            logger: logger
        )
        task.withLock { $0 = Task { try await app.runService() } }
        for await _ in ready.stream { break }
    }

    func stop() {
        task.withLock { $0?.cancel() }
    }

    deinit { stop() }
}
