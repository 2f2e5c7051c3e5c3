import Archive
import AsyncHTTPClient
import Core
import Foundation
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A target above one run's collection: the jobs under its base, the runs of a job, and the small files a job keeps
/// beside its runs (`<base>/<job_id>/bastion-job.json`, `bastion-key-<name>.age`; docs/recovery.md). Paths are
/// segments under the base; every segment is a plain name (no `/`, not `.` or `..`). What a listing returns comes from
/// the target and is checked by the caller.
public protocol TargetTree: Sendable {
    /// The names of the collections directly under `path` (empty when it does not exist).
    func directories(under path: [String]) async throws -> [String]
    /// The files directly under `path` and their sizes (empty when it does not exist).
    func files(under path: [String]) async throws -> [String: Int64]
    /// The file at `path`; nil when it is not there; larger than `maxBytes` is `target_object_too_large`.
    func read(_ path: [String], maxBytes: Int) async throws -> [UInt8]?
    /// Writes the file at `path` (replacing it), creating its parents.
    func write(_ path: [String], bytes: [UInt8]) async throws
}

extension TargetStores {
    /// The tree of `target`, its secret looked up in `secrets` for remote targets.
    public static func tree(_ target: JobSpec.Target, secrets: (any TargetSecretProvider)?, logger: Logger? = nil) async throws -> any TargetTree {
        // A store opened on a placeholder run only lends its connection and its credentials to the tree.
        let location = RunLocation(target: target, jobId: "tree", runId: "tree")
        switch target {
        case .localDir(let local):
            return LocalDirTree(base: local.baseDir)
        case .webdav(let webdav):
            let secret = try await lookUp(kind: "webdav", name: webdav.secretName, in: secrets)
            return WebDAVTargetTree(store: try WebDAVStore(location: location, target: webdav, secret: secret, logger: logger))
        case .rclone(let rclone):
            let secret = try await lookUp(kind: "rclone", name: rclone.secretName, in: secrets)
            let store = try RcloneStore(location: location, target: rclone, secret: secret, logger: logger)
            let root = "\(rclone.remoteName):\(rclone.remotePath)"
            return RcloneTree(store: store, root: root)
        }
    }

    static func checked(_ path: [String]) throws -> [String] {
        guard path.allSatisfy(Manifest.isPlainName) else { throw TargetError("target_path_refused", "not a plain path under the target's base") }
        return path
    }
}

struct LocalDirTree: TargetTree {
    let base: String

    func full(_ path: [String]) throws -> String { ([base] + (try TargetStores.checked(path))).joined(separator: "/") }

    func entries(_ path: [String]) throws -> [(name: String, info: stat)] {
        let directory = try full(path)
        var entries: [(String, stat)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            var info = stat()
            if lstat("\(directory)/\(name)", &info) == 0 { entries.append((name, info)) }
        }
        return entries
    }

    func directories(under path: [String]) async throws -> [String] {
        try entries(path).filter { $0.info.st_mode & S_IFMT == S_IFDIR }.map(\.name)
    }

    func files(under path: [String]) async throws -> [String: Int64] {
        try entries(path).filter { $0.info.st_mode & S_IFMT == S_IFREG }.reduce(into: [:]) { $0[$1.name] = Int64($1.info.st_size) }
    }

    func read(_ path: [String], maxBytes: Int) async throws -> [UInt8]? {
        let file = try full(path)
        // Regular files only, never through a symlink (docs/security.md, "Archives and restore"); O_NONBLOCK: opening a
        // FIFO would wait for a writer (fstat refuses it next).
        let descriptor = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw TargetError("target_read_failed", POSIXFailure("open \(file)").description)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw TargetError("target_read_failed", "\(file) is not a regular file")
        }
        guard info.st_size <= maxBytes else { throw TargetStores.tooLarge(path.last ?? "", Int64(maxBytes)) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw TargetError("target_read_failed", POSIXFailure("read \(file)").description) }
            if count == 0 { break }
            bytes += buffer[0..<count]
            guard bytes.count <= maxBytes else { throw TargetStores.tooLarge(path.last ?? "", Int64(maxBytes)) }
        }
        return bytes
    }

    func write(_ path: [String], bytes: [UInt8]) async throws {
        let file = try full(path)
        let partial = file + ".partial"
        do {
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            unlink(partial)
            try Data(bytes).write(to: URL(fileURLWithPath: partial))
            let descriptor = open(partial, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 {
                fsync(descriptor)
                close(descriptor)
            }
            guard rename(partial, file) == 0 else { throw POSIXFailure("rename \(partial)") }
        } catch {
            unlink(partial)
            throw TargetError("target_write_failed", "cannot write \(file): \(error)")
        }
    }
}

struct WebDAVTargetTree: TargetTree {
    let store: WebDAVStore

    func url(_ path: [String], collection: Bool) throws -> String {
        store.base + (try TargetStores.checked(path)).map(WebDAVStore.escape).joined(separator: "/") + (collection && !path.isEmpty ? "/" : "")
    }

    func directories(under path: [String]) async throws -> [String] {
        try await store.propfind(url(path, collection: true)).filter(\.collection).map(\.name)
    }

    func files(under path: [String]) async throws -> [String: Int64] {
        try await store.propfind(url(path, collection: true)).filter { !$0.collection }.reduce(into: [:]) { $0[$1.name] = $1.size }
    }

    func read(_ path: [String], maxBytes: Int) async throws -> [UInt8]? {
        let response = try await store.send("GET", url(path, collection: false), expect: [200, 404]) { HTTPClientRequest(url: "") }
        guard response.status.code == 200 else { return nil }
        guard response.body.readableBytes <= maxBytes else { throw TargetStores.tooLarge(path.last ?? "", Int64(maxBytes)) }
        return Array(response.body.readableBytesView)
    }

    func write(_ path: [String], bytes: [UInt8]) async throws {
        let target = try url(path, collection: false)
        if path.count > 1 {
            let parent = try url(Array(path.dropLast()), collection: true)
            if try await store.mkcol(parent) == 409 { try await store.mkcolWalk(to: parent) }
        }
        _ = try await store.send("PUT", target, expect: [200, 201, 204]) {
            var request = HTTPClientRequest(url: "")
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: bytes))
            return request
        }
    }
}

struct RcloneTree: TargetTree {
    let store: RcloneStore
    /// `name:path` of the target's base.
    let root: String

    func remote(_ path: [String]) throws -> String {
        let checked = try TargetStores.checked(path)
        guard !checked.isEmpty else { return root }
        return root + (root.hasSuffix(":") || root.hasSuffix("/") ? "" : "/") + checked.joined(separator: "/")
    }

    func directories(under path: [String]) async throws -> [String] {
        let output: Data
        do {
            output = try await store.run(["lsjson", "--dirs-only", try remote(path)])
        } catch let error as TargetError where error.code == "rclone_not_found" {
            return []
        }
        guard case .array(let items)? = try? JSONValue.parse(bytes: output) else {
            throw TargetError("rclone_failed", "rclone lsjson printed no JSON list")
        }
        return items.compactMap { $0["Name"]?.stringValue }
    }

    func files(under path: [String]) async throws -> [String: Int64] {
        try await store.listing(try remote(path))
    }

    func read(_ path: [String], maxBytes: Int) async throws -> [UInt8]? {
        let name = try remote(path)
        guard try await store.listing(name)[path.last ?? ""] != nil else { return nil }
        let output = try await store.run(["cat", "--count", "\(maxBytes + 1)", name])
        guard output.count <= maxBytes else { throw TargetStores.tooLarge(path.last ?? "", Int64(maxBytes)) }
        return Array(output)
    }

    func write(_ path: [String], bytes: [UInt8]) async throws {
        let staged = NSTemporaryDirectory() + "/bastion-tree-\(UUID().uuidString)"
        defer { unlink(staged) }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: staged))
        } catch {
            throw TargetError("staging_unavailable", "cannot stage \(staged): \(error)")
        }
        _ = try await store.run(["rcat", "--size", "\(bytes.count)", try remote(path)], input: staged)
    }
}
