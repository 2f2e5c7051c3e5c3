import Foundation
import Glibc
import TestClients
import Testing

/// The web UI route: streaming, cache headers, ETags, SPA fallback, and no way out of the UI directory.
@Suite(.serialized) struct UIServingTests {
    /// Sends `request` verbatim over TCP (URLSession would normalize the path) and returns status, headers, body.
    static func raw(port: Int, _ request: String) throws -> (status: Int, headers: [String: String], body: String) {
        let response = try RawHTTP.raw(port: port, request)
        return (response.status, response.headers, response.body)
    }

    static func get(
        _ port: Int,
        _ path: String,
        extra: String = "",
        method: String = "GET"
    ) throws -> (status: Int, headers: [String: String], body: String) {
        try raw(port: port, "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\(extra)\r\n")
    }

    @Test func servesTheUIDirectoryAndNothingOutsideIt() async throws {
        let scratch = Scratch()
        let ui = scratch.path + "/ui"
        let fm = FileManager.default
        try fm.createDirectory(atPath: ui + "/assets", withIntermediateDirectories: true)
        try "<html>index</html>".write(toFile: ui + "/index.html", atomically: true, encoding: .utf8)
        try "console.log(1)".write(toFile: ui + "/assets/app-3f2a9c1b.js", atomically: true, encoding: .utf8)
        try "User-agent: *".write(toFile: ui + "/robots.txt", atomically: true, encoding: .utf8)
        try "TOP SECRET".write(toFile: scratch.path + "/secret.txt", atomically: true, encoding: .utf8)
        try "hidden".write(toFile: ui + "/.env", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: ui + "/escape.txt", withDestinationPath: scratch.path + "/secret.txt")
        try fm.createSymbolicLink(atPath: ui + "/linkdir", withDestinationPath: scratch.path)
        let big = String(repeating: "0123456789abcdef", count: 1 << 16)  // 1 MiB: streamed, not buffered whole
        try big.write(toFile: ui + "/assets/big-00aa11bb.txt", atomically: true, encoding: .utf8)
        let port = freePort()
        let api = try Child.bastion("bastion-api", dataDir: scratch.dataDir, logDir: scratch.path, ["--port", "\(port)", "--ui-dir", ui])
        defer { api.kill9() }
        #expect(await eventually { await HTTP.tryGet("http://127.0.0.1:\(port)/api/ready")?.status == 200 })

        let index = try Self.get(port, "/")
        #expect(index.status == 200 && index.body == "<html>index</html>" && index.headers["cache-control"] == "no-cache")
        #expect(index.headers["content-type"] == "text/html; charset=utf-8")
        let asset = try Self.get(port, "/assets/app-3f2a9c1b.js")
        #expect(asset.status == 200 && asset.headers["cache-control"] == "public, max-age=31536000, immutable")
        #expect(asset.headers["content-type"] == "text/javascript; charset=utf-8")
        let robots = try Self.get(port, "/robots.txt")
        #expect(robots.headers["cache-control"] == "public, max-age=3600" && robots.body == "User-agent: *")
        let bigFile = try Self.get(port, "/assets/big-00aa11bb.txt")
        #expect(bigFile.status == 200 && bigFile.body.utf8.count == 1 << 20 && bigFile.headers["content-length"] == "1048576")

        // ETag → 304; HEAD has the headers and no body.
        let etag = try #require(asset.headers["etag"])
        #expect(etag.hasPrefix("W/\""))
        let cached = try Self.get(port, "/assets/app-3f2a9c1b.js", extra: "If-None-Match: \"other\", \(etag)\r\n")
        #expect(cached.status == 304 && cached.body.isEmpty && cached.headers["etag"] == etag)
        let head = try Self.get(port, "/robots.txt", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == "13")

        // SPA fallback for unknown app paths, never for /api.
        let deep = try Self.get(port, "/jobs/123/runs")
        #expect(deep.status == 200 && deep.body == "<html>index</html>" && deep.headers["cache-control"] == "no-cache")
        // An unknown /api path is a JSON 404 (no route, so nothing to sign in to), never index.html.
        let api404 = try Self.get(port, "/api/nope")
        #expect(api404.status == 404 && !api404.body.contains("index"))
        #expect(api404.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(try Self.get(port, "/", method: "POST").status == 405)

        // Traversal probes: never a byte from outside the UI directory (most are not canonical paths: 400).
        for probe in [
            "/..%2f..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/..\\..\\secret.txt", "/%5c..%5csecret.txt",
            "/index.html%00.js", "/escape.txt", "/linkdir/secret.txt", "/.env", "/assets/../../secret.txt", "//secret.txt",
            "/ui/../secret.txt",
        ] {
            let result = try Self.get(port, probe)
            let body = result.body
            #expect(!body.contains("TOP SECRET") && !body.contains("hidden"), "\(probe) leaked: \(result.status)")
            #expect(
                result.status == 400 || result.status == 404 || body == "<html>index</html>",
                "\(probe): \(result.status) \(String(body.prefix(80)))"
            )
        }
    }
}
