import Archive
import AsyncHTTPClient
import CFileSystem
import Core
import Foundation
import Logging
import NIOCore
import NIOHTTP1

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A run's collection on a WebDAV server (docs/targets.md, "WebDAV"): MKCOL walk, one streamed PUT per file with
/// Content-Length, HEAD for sizes, GET streamed to a file, PROPFIND Depth 1 to list, DELETE. HTTP Basic credentials
/// from the `webdav` secret on every request; URLs in logs and errors never carry credentials.
///
/// Only what may succeed later is retried (429, 408, 504, 5xx, a dropped connection), up to `attempts` times, waiting
/// Retry-After (capped at 60 s) or 1 s doubling to 30 s; everything else fails at once with its code.
public struct WebDAVStore: TargetStore {
    public let location: RunLocation
    /// `<base_url>/<job_id>/<run_id>/`.
    let collection: String
    let base: String
    let authorization: String
    let logger: Logger?
    /// The target's pacers (docs/targets.md, "Bandwidth"); nil: unlimited.
    let uploadPacer: BandwidthPacer?
    let downloadPacer: BandwidthPacer?
    public var attempts = 5
    /// The first retry's delay (doubled each time, capped at 30 s) when the server sends no Retry-After.
    public var firstDelay: Duration = .seconds(1)

    /// One client for the process: connections are pooled and kept alive between parts.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(location: RunLocation, target: WebDAVTarget, secret: TargetSecret, logger: Logger?) throws {
        guard case .string(let username)? = secret.value["username"], case .string(let password)? = secret.value["password"] else {
            throw TargetError("webdav_config", "the webdav secret \(target.secretName) needs a username and a password")
        }
        try Self.checkOrigin(of: secret, named: target.secretName, for: target.baseURL)
        self.location = location
        base = RunLocation.collection(target.baseURL)
        collection = base + Self.escape(location.jobId) + "/" + Self.escape(location.runId) + "/"
        authorization = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        self.logger = logger
        uploadPacer = BandwidthPacers.pacer(for: .webdav(target), .upload)
        downloadPacer = BandwidthPacers.pacer(for: .webdav(target), .download, schedule: BandwidthPacers.download)
    }

    /// `scheme://host:port` of an http(s) URL (scheme and host lowercased, the default port written out); nil for
    /// anything else.
    public static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        return "\(scheme)://\(host):\(components.port ?? (scheme == "https" ? 443 : 80))"
    }

    /// A secret goes only to the origin it was saved for (docs/security.md, "Targets and secrets"): a secret saved
    /// before origins were recorded has none and is refused until saved again with its server's URL.
    public static func checkOrigin(of secret: TargetSecret, named name: String, for baseURL: String) throws {
        guard case .string(let bound)? = secret.value["origin"] else {
            throw TargetError(
                "webdav_secret_unbound",
                "the webdav secret \(name) names no server",
                hint: "save the secret again with its server's URL (Settings → Targets)"
            )
        }
        guard origin(of: baseURL) == bound else {
            throw TargetError(
                "webdav_origin_mismatch",
                "the webdav secret \(name) is for \(bound), not for \(origin(of: baseURL) ?? "this URL")",
                hint: "use a secret saved for this server"
            )
        }
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }

    // MARK: TargetStore

    public func prepare() async throws {
        let jobCollection = base + Self.escape(location.jobId) + "/"
        for url in [jobCollection, collection] {
            let status = try await mkcol(url)
            if status == 409 {
                // A parent is missing: create every collection from the server's root down (at most 32 levels).
                try await mkcolWalk(to: collection)
                return
            }
        }
    }

    public func upload(_ name: String, from path: String) async throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TargetError("target_write_failed", POSIXFailure("stat \(path)").description) }
        let size = Int64(info.st_size)
        _ = try await send("PUT", collection + Self.escape(name), expect: [200, 201, 204]) {
            var request = HTTPClientRequest(url: "")
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .stream(FileChunks(path: path, size: size, pacer: uploadPacer), length: .known(size))
            return request
        }
    }

    public func download(_ name: String, to path: String, maxBytes: Int64) async throws -> Int64 {
        let url = collection + Self.escape(name)
        if let downloadPacer { return try await pacedDownload(name, url: url, to: path, maxBytes: maxBytes, pacer: downloadPacer) }
        var attempt = 1
        while true {
            do {
                let response = try await execute("GET", url) { HTTPClientRequest(url: "") }
                guard response.status.code == 200 else {
                    let error = Self.classify(response.status.code, method: "GET", url: url)
                    _ = try? await response.body.collect(upTo: 64 << 10)
                    try await retryOrThrow(error, attempt: &attempt, retryAfter: response.headers.first(name: "Retry-After"))
                    continue
                }
                let length = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
                if let length, length > maxBytes { throw TargetStores.tooLarge(name, maxBytes) }
                return try await Self.write(response.body, to: path, expected: length, maxBytes: maxBytes, name: name)
            } catch let error as TargetError {
                try await retryOrThrow(error, attempt: &attempt, retryAfter: nil)
            }
        }
    }

    /// A paced download (docs/targets.md, "Bandwidth"): one ranged GET per slice, each sent at the slice's time once the
    /// pacer's window lets it through, at most `BandwidthPacers.rangedDownloadInFlight` in flight (`pacedRange`),
    /// written in order. A receiver that merely reads slowly cannot pace a download: the server fills the connection's
    /// buffers (megabytes) at once; a range asks for no more than the slice. The first answer's Content-Range gives the
    /// size (no HEAD first: each request between two parts is time the schedule loses), and each slice is charged
    /// `rangeHeaderAllowance` bytes more than it asks for (the answer's headers cross the network too).
    func pacedDownload(_ name: String, url: String, to path: String, maxBytes: Int64, pacer: BandwidthPacer) async throws -> Int64 {
        let partial = path + ".partial"
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TargetError("staging_unavailable", POSIXFailure("create \(partial)").description) }
        var closed = false
        defer {
            if !closed {
                close(descriptor)
                unlink(partial)
            }
        }
        let allowance = Self.rangeHeaderAllowance
        let firstSlice = try await pacer.pace((1 << 20) + allowance)
        let first: (body: ByteBuffer, total: Int64)
        do {
            first = try await firstRange(url, count: min(Int64(firstSlice - allowance), maxBytes + 1))
            pacer.arrived(first.body.readableBytes + allowance, reserved: firstSlice)
        } catch {
            pacer.arrived(0, reserved: firstSlice)
            throw error
        }
        if first.total > maxBytes { throw TargetStores.tooLarge(name, maxBytes) }
        let total = first.total
        try Self.writeAll(first.body, to: descriptor, path: partial)
        try await withThrowingTaskGroup(of: (Int64, ByteBuffer).self) { group in
            var requested = Int64(first.body.readableBytes)
            var written = requested
            var inFlight = 0
            var arrived: [Int64: ByteBuffer] = [:]
            while written < total {
                if requested < total && inFlight < BandwidthPacers.rangedDownloadInFlight {
                    let start = requested
                    let reserved = try await pacer.pace(Int(min(total - start, 1 << 20)) + allowance)
                    let count = Int64(reserved - allowance)
                    requested += count
                    inFlight += 1
                    group.addTask { (start, try await self.pacedRange(url, start: start, reserved: reserved, pacer: pacer)) }
                    continue
                }
                guard let (start, buffer) = try await group.next() else { break }
                inFlight -= 1
                arrived[start] = buffer
                while let next = arrived.removeValue(forKey: written) {
                    try Self.writeAll(next, to: descriptor, path: partial)
                    // Starts writing the bytes back now, so the fsync at the end has little left to wait for.
                    _ = bastion_start_writeback(descriptor, written, Int64(next.readableBytes))
                    written += Int64(next.readableBytes)
                }
            }
        }
        guard fsync(descriptor) == 0 else { throw TargetError("staging_unavailable", POSIXFailure("fsync \(partial)").description) }
        close(descriptor)
        closed = true
        guard rename(partial, path) == 0 else { throw TargetError("staging_unavailable", POSIXFailure("rename \(partial)").description) }
        return total
    }

    /// The bytes a ranged answer's status line and headers are charged (`HTTP/1.1 206`, Content-Range, Content-Length,
    /// ETag, Date, Last-Modified, Server: about 250 bytes from rclone and Apache).
    static let rangeHeaderAllowance = 512

    /// Writes all of `buffer` to `descriptor` (the staged `.partial` at `path`), again after EINTR.
    static func writeAll(_ buffer: ByteBuffer, to descriptor: Int32, path: String) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw TargetError("staging_unavailable", POSIXFailure("write \(path)").description)
                }
                offset += count
            }
        }
    }

    /// The first `count` bytes of `url` and the object's size, from the answer's `Content-Range: bytes 0-e/size` (an
    /// object shorter than `count` comes back whole). An empty object answers 416 (or 200 with no body); an answer
    /// without a usable size asks a HEAD.
    func firstRange(_ url: String, count: Int64) async throws -> (body: ByteBuffer, total: Int64) {
        let response = try await send("GET", url, expect: [200, 206, 416], headers: [("Range", "bytes=0-\(count - 1)")]) {
            HTTPClientRequest(url: "")
        }
        if response.status.code == 416 {
            let size = try await send("HEAD", url, expect: [200]) { HTTPClientRequest(url: "") }
            guard size.headers.first(name: "Content-Length").flatMap({ Int64($0) }) == 0 else {
                throw TargetError("webdav_network", "GET \(Self.redact(url)) refused the range 0-\(count - 1) of a non-empty file", retryable: true)
            }
            return (ByteBuffer(), 0)
        }
        // An empty object may come back whole (Apache ignores a range of an empty file).
        if response.status.code == 200, response.body.readableBytes == 0, response.headers.first(name: "Content-Length") == "0" {
            return (response.body, 0)
        }
        guard response.status.code == 206 else { throw Self.rangeUnsupported(url) }
        var total = response.headers.first(name: "Content-Range").flatMap(Self.rangeTotal)
        if total == nil {
            let size = try await send("HEAD", url, expect: [200]) { HTTPClientRequest(url: "") }
            total = size.headers.first(name: "Content-Length").flatMap { Int64($0) }
        }
        guard let total, total >= 0, Int64(response.body.readableBytes) == min(count, total) else {
            throw TargetError("webdav_network", "a range of \(count) bytes came back with \(response.body.readableBytes)", retryable: true)
        }
        return (response.body, total)
    }

    /// The size in `Content-Range: bytes 0-e/size`; nil when absent or unknown (`*`).
    static func rangeTotal(_ header: String) -> Int64? {
        guard let slash = header.lastIndex(of: "/"), header.lowercased().hasPrefix("bytes 0-") else { return nil }
        return Int64(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }

    static func rangeUnsupported(_ url: String) -> TargetError {
        TargetError(
            "webdav_range_unsupported",
            "GET \(Self.redact(url)) ignored its Range header",
            hint: "a paced download needs a server that answers ranges (206); remove the target's bandwidth limit"
        )
    }

    /// `count` bytes of `url` from `start` (a 206 answer of exactly that length).
    func range(_ url: String, start: Int64, count: Int64) async throws -> ByteBuffer {
        let response = try await send("GET", url, expect: [200, 206], headers: [("Range", "bytes=\(start)-\(start + count - 1)")]) {
            HTTPClientRequest(url: "")
        }
        guard response.status.code == 206 else { throw Self.rangeUnsupported(url) }
        guard response.body.readableBytes == count else {
            throw TargetError("webdav_network", "a range of \(count) bytes came back with \(response.body.readableBytes)", retryable: true)
        }
        return response.body
    }

    /// The range of a slice of `reserved` bytes that `pacer` let through (its bytes less the header allowance), reported
    /// to the pacer's window when it arrives or fails: a slice never reported would hold its room for good.
    func pacedRange(_ url: String, start: Int64, reserved: Int, pacer: BandwidthPacer) async throws -> ByteBuffer {
        do {
            let buffer = try await range(url, start: start, count: Int64(reserved - Self.rangeHeaderAllowance))
            pacer.arrived(reserved, reserved: reserved)
            return buffer
        } catch {
            pacer.arrived(0, reserved: reserved)
            throw error
        }
    }

    /// One Range GET (paced like a slice of a paced download); a server that ignores the range answers nil, and the
    /// reader takes whole parts instead.
    public func readRange(_ name: String, offset: Int64, count: Int) async throws -> [UInt8]? {
        guard count > 0 else { return [] }
        let url = collection + Self.escape(name)
        do {
            guard let downloadPacer else {
                var body = try await range(url, start: offset, count: Int64(count))
                return body.readBytes(length: body.readableBytes)
            }
            // Paced like a part (docs/targets.md, "Bandwidth"): one ranged GET per slice.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            while bytes.count < count {
                let reserved = try await downloadPacer.pace(min(count - bytes.count, 1 << 20) + Self.rangeHeaderAllowance)
                var body = try await pacedRange(url, start: offset + Int64(bytes.count), reserved: reserved, pacer: downloadPacer)
                bytes += body.readBytes(length: body.readableBytes) ?? []
            }
            return bytes
        } catch let error as TargetError where error.code == "webdav_range_unsupported" {
            return nil
        }
    }

    public func size(of name: String) async throws -> Int64? {
        let response = try await send("HEAD", collection + Self.escape(name), expect: [200, 404]) { HTTPClientRequest(url: "") }
        guard response.status.code == 200 else { return nil }
        return response.headers.first(name: "Content-Length").flatMap { Int64($0) }
    }

    public func list() async throws -> [String: Int64] {
        try await propfind(collection).filter { !$0.collection }.reduce(into: [:]) { $0[$1.name] = $1.size }
    }

    public func delete(_ name: String) async throws {
        _ = try await send("DELETE", collection + Self.escape(name), expect: [200, 204, 404]) { HTTPClientRequest(url: "") }
    }

    public func removeJobIfEmpty() async {
        let jobCollection = base + Self.escape(location.jobId) + "/"
        guard let members = try? await propfind(jobCollection), members.isEmpty else { return }
        _ = try? await send("DELETE", jobCollection, expect: [200, 204, 404]) { HTTPClientRequest(url: "") }
    }

    /// DELETE of the collection; when the server refuses that, each file and then the collection.
    public func removeRun() async throws {
        do {
            _ = try await send("DELETE", collection, expect: [200, 204, 404]) { HTTPClientRequest(url: "") }
        } catch let error as TargetError where !error.retryable && error.code != "webdav_auth_failed" {
            for entry in try await propfind(collection) where !entry.collection {
                try await delete(entry.name)
            }
            _ = try await send("DELETE", collection, expect: [200, 204, 404]) { HTTPClientRequest(url: "") }
        }
    }

    // MARK: Requests

    /// `url` without userinfo, query or fragment: what logs and errors show.
    static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<url>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "<url>"
    }

    func execute(_ method: String, _ url: String, headers: [(String, String)] = [], make: () -> HTTPClientRequest) async throws -> HTTPClientResponse
    {
        var request = make()
        request.url = url
        request.method = HTTPMethod(rawValue: method)
        request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        do {
            return try await Self.client.execute(request, timeout: .hours(24))
        } catch let error as TargetError {
            throw error
        } catch {
            throw Self.classify(error, method: method, url: url)
        }
    }

    /// Sends a request until it answers one of `expect` (retrying what is retryable); the response's body is drained.
    func send(
        _ method: String,
        _ url: String,
        expect: Set<UInt>,
        headers: [(String, String)] = [],
        make: () -> HTTPClientRequest
    ) async throws -> (status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) {
        var attempt = 1
        while true {
            var retryAfter: String?
            let error: TargetError
            do {
                let response = try await execute(method, url, headers: headers, make: make)
                let body = (try? await response.body.collect(upTo: 16 << 20)) ?? ByteBuffer()
                if expect.contains(response.status.code) {
                    if attempt > 1 {
                        logger?.info(
                            "WebDAV request succeeded after retries",
                            metadata: ["method": "\(method)", "url": "\(Self.redact(url))", "attempts": "\(attempt)"]
                        )
                    }
                    return (response.status, response.headers, body)
                }
                error = Self.classify(response.status.code, method: method, url: url)
                retryAfter = response.headers.first(name: "Retry-After")
            } catch let failure as TargetError {
                error = failure
            }
            try await retryOrThrow(error, attempt: &attempt, retryAfter: retryAfter)
        }
    }

    /// Waits before the next attempt when `error` is retryable and attempts are left; throws it otherwise.
    func retryOrThrow(_ error: TargetError, attempt: inout Int, retryAfter: String?) async throws {
        guard error.retryable, attempt < attempts else { throw error }
        let delay = Self.retryDelay(retryAfter, attempt: attempt, first: firstDelay)
        logger?.warning(
            "WebDAV request failed; retrying",
            metadata: [
                "error": "\(error)", "attempt": "\(attempt)",
                "delay_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
            ]
        )
        attempt += 1
        try await Task.sleep(for: delay)
    }

    /// Retry-After in seconds or as an HTTP date, capped at 60 s; else `first` doubling per attempt, capped at 30 s.
    static func retryDelay(_ retryAfter: String?, attempt: Int, first: Duration) -> Duration {
        if let retryAfter {
            let text = retryAfter.trimmingCharacters(in: .whitespaces)
            if let seconds = Int(text) { return .seconds(min(max(seconds, 0), 60)) }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            if let date = formatter.date(from: text) { return .seconds(min(max(Int64(saturating: date.timeIntervalSinceNow, rounding: .up), 0), 60)) }
        }
        return min(first * (1 << min(attempt - 1, 10)), .seconds(30))
    }

    /// An HTTP status that is not a success, as a code (docs/targets.md, "Error codes").
    static func classify(_ status: UInt, method: String, url: String) -> TargetError {
        let what = "\(method) \(redact(url)) answered \(status)"
        switch status {
        case 401: return TargetError("webdav_auth_failed", what, hint: "check the username and password of the webdav secret")
        case 403: return TargetError("webdav_permission_denied", what, hint: "the account may not write there")
        case 404: return TargetError("webdav_not_found", what)
        case 409, 412: return TargetError("webdav_config", what, hint: "check base_url: a parent collection may be missing or not a collection")
        case 413: return TargetError("webdav_payload_too_large", what, hint: "lower part_size_bytes below the server's body limit")
        case 507: return TargetError("webdav_storage_full", what, hint: "the server has no space left")
        case 429: return TargetError("webdav_rate_limited", what, retryable: true)
        case 408, 504: return TargetError("webdav_timeout", what, retryable: true)
        case 500...599: return TargetError("webdav_unavailable", what, retryable: true)
        default: return TargetError("webdav_failed", what)
        }
    }

    static func classify(_ error: any Error, method: String, url: String) -> TargetError {
        let text = "\(error)"
        if text.contains("Timeout") || text.contains("deadlineExceeded") {
            return TargetError("webdav_timeout", "\(method) \(redact(url)): \(text)", retryable: true)
        }
        return TargetError("webdav_network", "\(method) \(redact(url)): \(text)", retryable: true, hint: "is the server reachable?")
    }

    // MARK: Collections

    /// MKCOL `url`; 201 (made) and 405 (already there) are success. Returns the status (409 means a parent is missing).
    @discardableResult
    func mkcol(_ url: String) async throws -> UInt {
        try await send("MKCOL", url, expect: [201, 405, 409, 301]) { HTTPClientRequest(url: "") }.status.code
    }

    /// Creates every collection on the path to `url`, from the top down. Collections above `base_url` may be refused
    /// (they exist, or belong to someone else); from `base_url` down, any failure counts.
    func mkcolWalk(to url: String) async throws {
        guard let components = URLComponents(string: url) else { throw TargetError("webdav_config", "\(Self.redact(url)) is not a URL") }
        let segments = components.percentEncodedPath.split(separator: "/").prefix(32)
        var path = ""
        for segment in segments {
            path += "/" + segment
            var prefix = components
            prefix.percentEncodedPath = path + "/"
            guard let prefixURL = prefix.string else { continue }
            let status: UInt
            do {
                status = try await mkcol(prefixURL)
            } catch let error as TargetError where prefixURL.count < base.count && error.code != "webdav_auth_failed" {
                continue
            }
            if status == 409, prefixURL.count >= base.count {
                throw TargetError("webdav_config", "MKCOL \(Self.redact(prefixURL)) answered 409", hint: "a parent of base_url is not a collection")
            }
        }
    }

    struct Entry {
        var name: String
        var size: Int64
        var collection: Bool
    }

    /// PROPFIND Depth 1 of `url`: its members (not itself); empty when it does not exist.
    func propfind(_ url: String) async throws -> [Entry] {
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <propfind xmlns="DAV:"><prop><resourcetype/><getcontentlength/></prop></propfind>
            """
        let response = try await send("PROPFIND", url, expect: [207, 404], headers: [("Depth", "1"), ("Content-Type", "application/xml")]) {
            var request = HTTPClientRequest(url: "")
            request.body = .bytes(ByteBuffer(string: body))
            return request
        }
        guard response.status.code == 207 else { return [] }
        let ownPath = URLComponents(string: url)?.percentEncodedPath ?? ""
        return MultistatusParser.parse(Data(response.body.readableBytesView)).compactMap { item in
            let path = URLComponents(string: item.href)?.percentEncodedPath ?? item.href
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            guard trimmed != (ownPath.hasSuffix("/") ? String(ownPath.dropLast()) : ownPath) else { return nil }
            guard let last = trimmed.split(separator: "/").last, let name = String(last).removingPercentEncoding else { return nil }
            return Entry(name: name, size: item.size, collection: item.collection)
        }
    }

    /// Streams a GET body into `<path>.partial`, syncs it and renames it to `path`; its size (which must be
    /// `expected` when the server said).
    static func write(
        _ body: HTTPClientResponse.Body,
        to path: String,
        expected: Int64?,
        maxBytes: Int64 = TargetStores.maxObjectBytes,
        name: String = ""
    ) async throws -> Int64 {
        let partial = path + ".partial"
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TargetError("staging_unavailable", POSIXFailure("create \(partial)").description) }
        var closed = false
        defer {
            if !closed {
                close(descriptor)
                unlink(partial)
            }
        }
        var written: Int64 = 0
        do {
            for try await chunk in body {
                guard written + Int64(chunk.readableBytes) <= maxBytes else { throw TargetStores.tooLarge(name, maxBytes) }
                try Self.writeAll(chunk, to: descriptor, path: partial)
                written += Int64(chunk.readableBytes)
            }
        } catch let error as TargetError {
            throw error
        } catch {
            throw TargetError("webdav_network", "the download broke off after \(written) bytes: \(error)", retryable: true)
        }
        if let expected, expected != written {
            throw TargetError("webdav_network", "the download has \(written) bytes, Content-Length said \(expected)", retryable: true)
        }
        guard fsync(descriptor) == 0 else { throw TargetError("staging_unavailable", POSIXFailure("fsync \(partial)").description) }
        close(descriptor)
        closed = true
        guard rename(partial, path) == 0 else { throw TargetError("staging_unavailable", POSIXFailure("rename \(partial)").description) }
        return written
    }
}

/// A local file as a request body: 1 MiB `ByteBuffer`s read with `pread`, exactly `size` bytes (a file that changed
/// size fails the upload rather than sending other bytes than the ones hashed). With a pacer, each buffer is one slice,
/// handed over no earlier than its time (docs/targets.md, "Bandwidth").
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let size: Int64
    var pacer: BandwidthPacer? = nil

    func makeAsyncIterator() -> Iterator { Iterator(path: path, size: size, pacer: pacer) }

    final class Iterator: AsyncIteratorProtocol {
        let path: String
        let size: Int64
        let pacer: BandwidthPacer?
        var descriptor: Int32 = -1
        var offset: Int64 = 0

        init(path: String, size: Int64, pacer: BandwidthPacer?) {
            self.path = path
            self.size = size
            self.pacer = pacer
        }

        deinit { if descriptor >= 0 { close(descriptor) } }

        func next() async throws -> ByteBuffer? {
            guard offset < size else { return nil }
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw TargetError("target_write_failed", POSIXFailure("open \(path)").description) }
            }
            var count = Int(Swift.min(1 << 20, size - offset))
            if let pacer { count = try await pacer.pace(count) }
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
                pread(descriptor, bytes.baseAddress, count, off_t(offset))
            }
            guard read > 0 else { throw TargetError("target_write_failed", "\(path) is shorter than \(size) bytes") }
            offset += Int64(read)
            return buffer
        }
    }
}

/// The members of a WebDAV multistatus answer: href, size, and whether each is a collection.
final class MultistatusParser: NSObject, XMLParserDelegate {
    struct Item {
        var href = ""
        var size: Int64 = 0
        var collection = false
    }

    private var items: [Item] = []
    private var current: Item?
    private var text = ""

    static func parse(_ data: Data) -> [Item] {
        let parser = XMLParser(data: data)
        let delegate = MultistatusParser()
        parser.delegate = delegate
        parser.shouldProcessNamespaces = true
        _ = parser.parse()
        return delegate.items
    }

    func parser(
        _ parser: XMLParser,
        didStartElement elementName: String,
        namespaceURI: String?,
        qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        text = ""
        switch elementName {
        case "response": current = Item()
        case "collection": current?.collection = true
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch elementName {
        case "href": current?.href = value
        case "getcontentlength": current?.size = Int64(value) ?? 0
        case "response":
            if let item = current { items.append(item) }
            current = nil
        default: break
        }
        text = ""
    }
}
