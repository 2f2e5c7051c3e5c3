import AsyncHTTPClient
import Core
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Sends one notification: over HTTP (async-http-client, 10 s deadline for the whole exchange) or SMTP (`SMTPClient`).
///
/// - `webhook`: `POST url` with the JSON of `RunNotification.webhookBody`, headers `X-Bastion-Notification-Id`,
///   `X-Bastion-Timestamp` and, when the destination has a signing secret, `X-Bastion-Signature:
///   sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Any 2xx is success.
/// - `wecom_bot`: `POST` of `{"msgtype": "markdown", "markdown": {"content": …}}`; success is a 2xx whose JSON
///   `errcode` is 0.
/// - `email`: subject and body from the settings' templates, through libcurl's SMTP.
/// - `ntfy`: one `POST` to the topic URL, the body template as text, headers `Title` (RFC 2047 when not ASCII),
///   `Priority`, `Tags` and `Authorization: Bearer <token>`. Any 2xx is success.
/// - pings (`ping(url:body:)`): one `POST`; any 2xx is success.
public struct NotificationSender: Sendable {
    let client: HTTPClient
    let timeout: Duration
    let smtp: SMTPClient

    /// The process's notification client: a failed connect fails the attempt at once (the retry schedule is ours, not
    /// the pool's), and redirects are not followed (a webhook answers where it was configured).
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(client: HTTPClient = NotificationSender.client, timeout: Duration = NotificationRetry.timeout, smtp: SMTPClient = SMTPClient()) {
        self.client = client
        self.timeout = timeout
        self.smtp = smtp
    }

    /// A failed attempt, with a message fit for `last_error` and the run's log.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public func send(
        _ notification: RunNotification,
        to config: DestinationConfig,
        settings: NotificationSettings,
        notificationId: String,
        attempt: Int,
        now: Int64
    ) async throws {
        switch config {
        case .webhook(let url, let secret):
            let body = Data(notification.webhookBody(notificationId: notificationId, attempt: attempt, sentAt: now).jsonString().utf8)
            var headers = [("X-Bastion-Notification-Id", notificationId), ("X-Bastion-Timestamp", "\(now)")]
            if let secret {
                headers.append(("X-Bastion-Signature", Self.signature(secret: secret, timestamp: now, body: body)))
            }
            let (status, answer) = try await post(url, body: body, headers: headers)
            guard (200..<300).contains(status) else { throw Self.refused(status, answer) }
        case .wecomBot(let url):
            let content = notification.render(settings.wecomMarkdown)
            let message: JSONValue = .object(["msgtype": .string("markdown"), "markdown": .object(["content": .string(content)])])
            let (status, response) = try await post(url, body: Data(message.jsonString().utf8), headers: [])
            guard (200..<300).contains(status) else { throw Self.refused(status, response) }
            guard case .object(let object)? = try? JSONValue.parse(String(decoding: response, as: UTF8.self)), let code = object["errcode"]?.intValue
            else {
                throw Failure(description: "WeCom answered without an errcode")
            }
            guard code == 0 else {
                var errmsg = ""
                if case .string(let text)? = object["errmsg"] { errmsg = text }
                throw Failure(description: "WeCom errcode \(code): \(errmsg)")
            }
        case .email(let email):
            let message = SMTPClient.Message(
                subject: notification.render(settings.emailSubject),
                body: notification.render(settings.emailBody),
                messageId: notificationId,
                date: Date(timeIntervalSince1970: TimeInterval(now))
            )
            try await smtp.send(message, to: email)
        case .ntfy(let ntfy):
            var headers = [("Title", SMTPClient.encodeHeader(SMTPClient.oneLine(notification.render(settings.ntfyTitle)), fold: " "))]
            if let priority = ntfy.priority { headers.append(("Priority", "\(priority)")) }
            if !ntfy.tags.isEmpty { headers.append(("Tags", ntfy.tags.joined(separator: ","))) }
            if let token = ntfy.token { headers.append(("Authorization", "Bearer \(token)")) }
            let body = Data(notification.render(settings.ntfyBody).utf8)
            let (status, answer) = try await post(ntfy.url, body: body, headers: headers, contentType: "text/plain; charset=utf-8")
            guard (200..<300).contains(status) else { throw Self.refused(status, answer) }
        }
    }

    /// One ping of a job's `pings`: `POST url` with `body` (the run's summary for a failure, else empty).
    public func ping(url: String, body: Data) async throws {
        let (status, _) = try await post(url, body: body, headers: [], contentType: body.isEmpty ? "text/plain" : "application/json")
        guard (200..<300).contains(status) else { throw Failure(description: "HTTP \(status)") }
    }

    /// A receiver's refusal: `HTTP <status>`, then the start of its answer when it gave one (at most 200 characters,
    /// control characters as spaces), so the Test button and the queue's `last_error` say what the receiver said.
    static func refused(_ status: Int, _ answer: Data) -> Failure {
        let text = String(decoding: answer.prefix(800), as: UTF8.self)
            .unicodeScalars.map { CharacterSet.controlCharacters.contains($0) ? " " : String($0) }.joined()
            .trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return Failure(description: "HTTP \(status)") }
        return Failure(description: "HTTP \(status): \(text.count > 200 ? String(text.prefix(200)) + "…" : text)")
    }

    /// `sha256=` + lowercase hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
    public static func signature(secret: String, timestamp: Int64, body: Data) -> String {
        "sha256=" + hmacSHA256Hex(key: Data(secret.utf8), message: Data("\(timestamp).".utf8) + body)
    }

    static func hmacSHA256Hex(key: Data, message: Data) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)).map { String(format: "%02x", $0) }.joined()
    }

    private func post(_ url: String, body: Data, headers: [(String, String)], contentType: String = "application/json") async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "User-Agent", value: "bastion/\(BastionVersion.current)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline =
            NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let responseBody = try await response.body.collect(upTo: 64 * 1024)
            return (Int(response.status.code), Data(responseBody.readableBytesView))
        } catch let failure as Failure {
            throw failure
        } catch let error as HTTPClientError {
            throw Failure(description: Self.describe(error))
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    static func describe(_ error: HTTPClientError) -> String {
        switch error {
        case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out after \(Int(NotificationRetry.timeout.components.seconds)) s"
        default: return "\(error)"
        }
    }
}
