import Foundation
import Glibc

/// One HTTP/1.1 request sent byte for byte over a fresh TCP connection (tests only): the request target is not
/// normalised as URLSession would (`//api/jobs`, `/./api`, `%2f` travel as written), and any header spelling can be
/// sent. Reads until the server closes, or stops after the head of a `101 Switching Protocols`.
public enum RawHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String

        /// The JSON error body's `error` code, if any.
        public var code: String? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? String
        }

        /// `details[key]` of the JSON error body, if any.
        public func detail(_ key: String) -> String? {
            let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return (object?["details"] as? [String: Any])?[key] as? String
        }
    }

    public struct ConnectFailed: Error {}

    /// Sends `method target` with `headers` (and `Host`, `Connection: close`, and `Content-Length` for a body).
    public static func send(
        port: Int,
        _ method: String,
        _ target: String,
        headers: [(String, String)] = [],
        body: String? = nil,
        timeout: Int = 5
    ) throws -> Response {
        var request = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let body { request += "Content-Length: \(body.utf8.count)\r\n" }
        request += "\r\n" + (body ?? "")
        return try raw(port: port, request, headOnly: method == "HEAD", timeout: timeout)
    }

    /// A TCP socket connected to 127.0.0.1:`port`, reads timing out after `timeout` seconds; `receiveBuffer` (set
    /// before connecting) makes a small window, for a client that stops reading.
    public static func connectLoopback(port: Int, timeout: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw ConnectFailed()
        }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends `request` verbatim and parses the answer: read until the server closes, or the body its
    /// `Content-Length` announces is complete (nothing after the head when `headOnly`, for `HEAD`).
    /// A server that never answers within `timeout` seconds gives status 0.
    public static func raw(port: Int, _ request: String, headOnly: Bool = false, timeout: Int = 5) throws -> Response {
        let fd = try connectLoopback(port: port, timeout: timeout)
        defer { close(fd) }
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            data += buffer[0..<count]
            guard let end = data.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound else { continue }
            // A socket was opened: the head is all there is to read.
            if headOnly || data.starts(with: Array("HTTP/1.1 101".utf8)) { break }
            let head = String(decoding: data[..<end], as: UTF8.self).lowercased()
            if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)), data.count - end >= length
            {
                break
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Response(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
