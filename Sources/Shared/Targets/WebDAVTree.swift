import Archive
import AsyncHTTPClient
import Core
import Foundation
import Logging
import NIOCore

/// A WebDAV collection written as a tree of files (a restore to WebDAV, docs/targets.md, "Restore to WebDAV"): paths
/// relative to `base_url`, each segment percent-encoded, over the same client, credentials, origin binding, retries
/// and error codes as a target (`WebDAVStore`).
public struct WebDAVTree: Sendable {
    let store: WebDAVStore
    /// `base_url` with one trailing `/`.
    public let base: String

    /// Refuses a secret saved for another origin (`webdav_origin_mismatch`) or none (`webdav_secret_unbound`).
    public init(baseURL: String, secretName: String, secret: TargetSecret, logger: Logger?) throws {
        let target = WebDAVTarget(baseURL: baseURL, secretName: secretName)
        store = try WebDAVStore(
            location: RunLocation(target: .webdav(target), jobId: "restore", runId: "restore"),
            target: target,
            secret: secret,
            logger: logger
        )
        base = RunLocation.collection(baseURL)
    }

    /// The URL of `relative` (`a/b c/d`): each segment percent-encoded under `base`.
    public func url(_ relative: String) -> String {
        base + relative.split(separator: "/").map { WebDAVStore.escape(String($0)) }.joined(separator: "/")
    }

    /// Creates `base_url` (and its parents when missing).
    public func prepare() async throws {
        if try await store.mkcol(base) == 409 { try await store.mkcolWalk(to: base) }
    }

    /// MKCOL of `relative`; one already there is success.
    public func makeCollection(_ relative: String) async throws {
        let target = url(relative) + "/"
        if try await store.mkcol(target) == 409 {
            throw TargetError("webdav_config", "MKCOL \(WebDAVStore.redact(target)) answered 409", hint: "a parent is not a collection")
        }
    }

    /// Whether something is at `relative` (HEAD).
    public func exists(_ relative: String) async throws -> Bool {
        try await store.send("HEAD", url(relative), expect: [200, 404]) { HTTPClientRequest(url: "") }.status.code == 200
    }

    /// One streamed PUT of the local file at `path` as `relative`.
    public func upload(_ relative: String, from path: String) async throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TargetError("target_write_failed", POSIXFailure("stat \(path)").description) }
        let size = Int64(info.st_size)
        _ = try await store.send("PUT", url(relative), expect: [200, 201, 204]) {
            var request = HTTPClientRequest(url: "")
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .stream(FileChunks(path: path, size: size, pacer: store.uploadPacer), length: .known(size))
            return request
        }
    }
}
