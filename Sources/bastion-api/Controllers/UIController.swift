import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the web UI from `--ui-dir` for every GET/HEAD path no API route matched (docs/architecture.md,
/// "HTTP edge"): files streamed from disk, `index.html` as the SPA fallback for unknown non-`/api`
/// paths, weak ETags with `If-None-Match` → 304, and cache rules by kind (`index.html` no-cache, `assets/`
/// immutable for a year, the rest an hour). A path with `..`, `.`, hidden or empty-after-decoding components, a
/// backslash or NUL is a 404, and so is any file whose real path (symlinks resolved) leaves the UI directory.
struct UIController {
    let root: String
    let fileIO = FileIO()

    func addRoutes(to router: RecordingRouterGroup) {
        for path: RouterPath in ["/", "**"] {
            router.get(path, use: serve)
            router.head(path, use: serve)
        }
    }

    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8", "json": "application/json", "map": "application/json", "svg": "image/svg+xml",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "ico": "image/x-icon", "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "txt": "text/plain; charset=utf-8",
        "wasm": "application/wasm", "xml": "application/xml", "webmanifest": "application/manifest+json",
    ]

    @Sendable func serve(_ request: Request, context: AppRequestContext) async throws -> Response {
        let rawPath = request.uri.path
        if rawPath == "/api" || rawPath.hasPrefix("/api/") { throw HTTPError(.notFound) }
        guard let relative = Self.safeRelativePath(rawPath) else { throw APIError.uiNotFound }
        let rootReal = Self.realPath(root)
        var file: (path: String, size: Int64, mtime: Int64)?
        var isIndex = false
        if !relative.isEmpty, let found = Self.regularFile(root + "/" + relative, inside: rootReal) {
            file = found
            isIndex = relative == "index.html"
        } else if let index = Self.regularFile(root + "/index.html", inside: rootReal) {
            file = index
            isIndex = true
        }
        guard let file else { throw APIError.uiNotFound }

        var headers = HTTPFields()
        let etag = "W/\"\(String(file.size, radix: 16))-\(String(file.mtime, radix: 16))\""
        headers[.eTag] = etag
        headers[.cacheControl] =
            isIndex ? "no-cache" : relative.hasPrefix("assets/") ? "public, max-age=31536000, immutable" : "public, max-age=3600"
        if let ifNoneMatch = request.headers[.ifNoneMatch],
            ifNoneMatch.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).contains(where: { $0 == etag || $0 == "*" })
        {
            return Response(status: .notModified, headers: headers)
        }
        let fileExtension = (file.path as NSString).pathExtension.lowercased()
        headers[.contentType] = Self.contentTypes[fileExtension] ?? "application/octet-stream"
        headers[.contentLength] = "\(file.size)"
        if request.method == .head { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: try await fileIO.loadFile(path: file.path, context: context))
    }

    /// The request path as a relative file path, or nil when it is not a plain path inside the directory.
    static func safeRelativePath(_ rawPath: String) -> String? {
        guard let decoded = rawPath.removingPercentEncoding, !decoded.contains("\0"), !decoded.contains("\\") else { return nil }
        var components: [Substring] = []
        for component in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            guard component != ".", component != "..", !component.hasPrefix(".") else { return nil }
            components.append(component)
        }
        return components.joined(separator: "/")
    }

    /// A regular file at `path` whose real location is inside `rootReal`: its real path, size and mtime.
    static func regularFile(_ path: String, inside rootReal: String) -> (path: String, size: Int64, mtime: Int64)? {
        let real = realPath(path)
        guard real.hasPrefix(rootReal + "/") else { return nil }
        var info = stat()
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (real, Int64(info.st_size), Int64(info.st_mtim.tv_sec))
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return "" }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension APIError {
    static let uiNotFound = APIError(status: .notFound, code: "not_found", message: "no such file (and no index.html in the UI directory)")
}
