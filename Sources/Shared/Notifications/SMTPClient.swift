import CCurl
import Core
import Dispatch
import Foundation

/// Sends one e-mail through libcurl's SMTP (docs/architecture.md, "Notifications"): the protocol, STARTTLS, AUTH and
/// certificate checks are libcurl's; this builds the message, sets the options, and names the failure.
///
/// `curl_easy_perform` blocks, so it runs on a Dispatch thread, never on Swift's cooperative pool; its connect
/// timeout and whole-exchange timeout bound the wait.
public struct SMTPClient: Sendable {
    public var connectTimeoutSeconds: Int
    public var timeoutSeconds: Int

    public init(connectTimeoutSeconds: Int = 10, timeoutSeconds: Int = 30) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.timeoutSeconds = timeoutSeconds
    }

    /// A delivery that failed, with a stable code first: `smtp_auth_failed`, `smtp_unreachable`, `smtp_tls_failed`,
    /// `smtp_rejected` (or `smtp_failed` for anything else libcurl reports).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var code: String
        public var message: String
        public var description: String { "\(code): \(message)" }
    }

    /// One message: already rendered, one line of subject.
    public struct Message: Sendable {
        public var subject: String
        public var body: String
        public var messageId: String
        public var date: Date

        public init(subject: String, body: String, messageId: String, date: Date) {
            self.subject = subject
            self.body = body
            self.messageId = messageId
            self.date = date
        }
    }

    /// libcurl's global state, set up once before the first transfer (its documentation asks for this before any
    /// thread uses it).
    static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public func send(_ message: Message, to destination: EmailDestination) async throws {
        let data = Self.compose(message, from: destination.from, to: destination.to)
        let connectTimeout = connectTimeoutSeconds
        let timeout = timeoutSeconds
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(
                    with: Result {
                        try Self.perform(data, destination: destination, connectTimeout: connectTimeout, timeout: timeout)
                    }
                )
            }
        }
    }

    // MARK: - The message

    /// The RFC 5322 message: headers from checked values only (addresses validated at save time, the subject's
    /// control characters replaced), a base64 UTF-8 text body, CRLF line ends.
    static func compose(_ message: Message, from: String, to: [String]) -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        var headers = [
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(encodeHeader(oneLine(message.subject)))",
            "Date: \(formatter.string(from: message.date))",
            "Message-ID: <\(oneLine(message.messageId).filter { $0 != "<" && $0 != ">" && $0 != " " })@bastion>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
        ]
        headers.append("")
        let normalized = message.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let encoded = Data(normalized.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return Array((headers.joined(separator: "\r\n") + "\r\n" + encoded + "\r\n").utf8)
    }

    /// One line: every control character (CR and LF above all: header injection) becomes a space.
    static func oneLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
            .trimmingCharacters(in: .whitespaces)
    }

    /// Printable ASCII as it is; anything else as RFC 2047 `=?UTF-8?B?…?=` words of at most 45 bytes of text each,
    /// folded onto continuation lines.
    static func encodeHeader(_ text: String, fold: String = "\r\n ") -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII }) && text.utf8.count <= 900 { return text }
        var words: [String] = []
        var chunk = ""
        for character in text {
            if chunk.utf8.count + String(character).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: fold)
    }

    // MARK: - The transfer

    final class Upload: @unchecked Sendable {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    static func perform(_ data: [UInt8], destination: EmailDestination, connectTimeout: Int, timeout: Int) throws {
        guard globalInit, let handle = curl_easy_init() else { throw Failure(code: "smtp_failed", message: "libcurl could not be initialised") }
        defer { curl_easy_cleanup(handle) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        var recipients: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(recipients) }
        let upload = Upload(data)

        func check(_ code: CURLcode) throws {
            guard code == CURLE_OK else {
                throw Failure(code: "smtp_failed", message: "libcurl refused an option: \(String(cString: curl_easy_strerror(code)))")
            }
        }
        let host = destination.host.contains(":") ? "[\(destination.host)]" : destination.host
        let scheme = destination.tls == .implicit ? "smtps" : "smtp"
        try check(bastion_curl_setopt_string(handle, CURLOPT_URL, "\(scheme)://\(host):\(destination.port)"))
        try check(bastion_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
        try check(
            bastion_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(destination.tls == .starttls ? CURLUSESSL_ALL.rawValue : CURLUSESSL_NONE.rawValue))
        )
        try check(bastion_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        try check(bastion_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        if let pem = destination.caCertPEM {
            var bytes = Array(pem.utf8)
            try bytes.withUnsafeMutableBytes { buffer in
                var blob = curl_blob(data: buffer.baseAddress, len: buffer.count, flags: UInt32(CURL_BLOB_COPY))
                try check(bastion_curl_setopt_blob(handle, CURLOPT_CAINFO_BLOB, &blob))
            }
        }
        if let username = destination.username { try check(bastion_curl_setopt_string(handle, CURLOPT_USERNAME, username)) }
        if let password = destination.password { try check(bastion_curl_setopt_string(handle, CURLOPT_PASSWORD, password)) }
        try check(bastion_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(destination.from)>"))
        for address in destination.to {
            guard let appended = curl_slist_append(recipients, "<\(address)>") else {
                throw Failure(code: "smtp_failed", message: "out of memory")
            }
            recipients = appended
        }
        try check(bastion_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients))
        try check(bastion_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
        try check(bastion_curl_setopt_long(handle, CURLOPT_INFILESIZE, data.count))
        try check(bastion_curl_setopt_read_function(handle, readBytes))
        try check(bastion_curl_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque()))
        try check(bastion_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeout))
        try check(bastion_curl_setopt_long(handle, CURLOPT_TIMEOUT, timeout))
        // A server that accepts the connection but never answers (no greeting, a stalled reply) is given up after this
        // long per answer, not after the whole send's deadline: the worker's delivery loop waits on it.
        try check(bastion_curl_setopt_long(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, connectTimeout))
        try check(bastion_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(bastion_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))

        let result = withExtendedLifetime(upload) { curl_easy_perform(handle) }
        guard result != CURLE_OK else { return }
        var response = 0
        _ = bastion_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &response)
        let detail = String(cString: errorBuffer)
        throw failure(result, response: response, detail: detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail)
    }

    /// libcurl's read callback: the next bytes of the message.
    static let readBytes: curl_read_callback = { buffer, size, count, userdata in
        guard let buffer, let userdata else { return 0 }
        let upload = Unmanaged<Upload>.fromOpaque(userdata).takeUnretainedValue()
        let length = min(size * count, upload.bytes.count - upload.offset)
        guard length > 0 else { return 0 }
        upload.bytes.withUnsafeBytes { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + upload.offset, byteCount: length)
        }
        upload.offset += length
        return length
    }

    /// Names a libcurl failure; `response` is the server's last SMTP reply code (0 when none came).
    static func failure(_ code: CURLcode, response: Int, detail: String) -> Failure {
        let reply = response > 0 ? " (server replied \(response))" : ""
        switch code {
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR:
            return Failure(code: "smtp_auth_failed", message: "the server refused the user name or password\(reply): \(detail)")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_RESOLVE_PROXY:
            return Failure(code: "smtp_unreachable", message: "cannot reach the SMTP server: \(detail)")
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_SSL_SHUTDOWN_FAILED:
            return Failure(code: "smtp_tls_failed", message: "TLS with the SMTP server failed\(reply): \(detail)")
        default:
            if response >= 400 {
                return Failure(code: "smtp_rejected", message: "the SMTP server rejected the message\(reply): \(detail)")
            }
            if code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING {
                return Failure(code: "smtp_unreachable", message: "the connection to the SMTP server failed: \(detail)")
            }
            return Failure(code: "smtp_failed", message: "\(detail)\(reply)")
        }
    }
}
