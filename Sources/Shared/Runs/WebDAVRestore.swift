import Core
import Foundation
import Targets

/// A restore into a WebDAV collection (docs/targets.md, "Restore to WebDAV"). The snapshot is restored as a local
/// restore is (every part checked before use, every member against the index) into `<staging>/<run_id>.webdav/`,
/// then uploaded: MKCOL per directory, one PUT per regular file, each file deleted from the staging once the server
/// took it. What WebDAV cannot hold (symlinks, devices, FIFOs, sockets; modes, owners, times, xattrs and ACLs) is
/// listed in `<base_url>/.bastion-meta/restore-<run_id>.json`, written last, with the source snapshot, the time
/// and the counts. Conflicts are decided by HEAD: `fail` checks every file before the first upload.
enum WebDAVRestore {
    static func run(_ context: RunContext, _ operation: RestoreOperation, target: WebDAVTarget, executor: RestoreExecutor) async throws -> JSONValue {
        let tree: WebDAVTree
        do {
            guard let secret = try await context.targetSecrets?.secret(kind: "webdav", name: target.secretName) else {
                throw TargetError(
                    "target_secret_missing",
                    "the webdav secret \(target.secretName) does not exist",
                    hint: "add it under Settings → Targets"
                )
            }
            tree = try WebDAVTree(baseURL: target.baseURL, secretName: target.secretName, secret: secret, logger: nil)
            // Credentials and the server are checked before anything is restored.
            try await tree.prepare()
        } catch let error as TargetError {
            throw RunFailure(code: error.code, message: error.description)
        }
        let staging = executor.stagingDirectory + "/\(context.run.id).webdav"
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        var local = operation
        local.webdav = nil
        local.directory = staging
        local.conflictPolicy = .overwrite
        local.ownership = .never
        var run = context.run
        run.operation = local.json
        let restoreContext = RunContext(
            run: run,
            job: context.job,
            spec: context.spec,
            events: context.events,
            progress: context.progress,
            cancellation: context.cancellation,
            keys: context.keys,
            catalogs: context.catalogs,
            targetSecrets: context.targetSecrets
        )
        let restored = try await executor.execute(restoreContext)

        // The staged tree, parents before children.
        var directories: [String] = []
        var files: [(relative: String, size: Int64)] = []
        var notKept: [JSONValue] = []
        let enumerator = FileManager.default.enumerator(atPath: staging)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            // A name that is not UTF-8 comes back with U+FFFD in it and names nothing: it cannot be uploaded under its
            // own name, so it is listed rather than dropped in silence.
            guard lstat(staging + "/" + relative, &info) == 0 else {
                if notKept.count < 1000 { notKept.append(.object(["path": .string("/" + relative), "kind": .string("name_not_utf8")])) }
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: directories.append(relative)
            case S_IFREG: files.append((relative, Int64(info.st_size)))
            default:
                let kind: String
                switch info.st_mode & S_IFMT {
                case S_IFLNK: kind = "symlink"
                case S_IFCHR, S_IFBLK: kind = "device"
                case S_IFIFO: kind = "fifo"
                default: kind = "socket"
                }
                if notKept.count < 1000 { notKept.append(.object(["path": .string("/" + relative), "kind": .string(kind)])) }
            }
        }
        let notKeptCount = notKept.count
        context.events.emit(kind: "restore", message: "Uploading \(files.count) file(s) in \(directories.count) director(ies) to \(tree.base)")
        var uploaded: Int64 = 0
        var bytes: Int64 = 0
        var skipped: Int64 = 0
        do {
            if operation.conflictPolicy == .fail {
                for file in files where try await tree.exists(file.relative) {
                    throw RunFailure(
                        code: "restore_conflict",
                        message: "\(tree.url(file.relative)) exists (conflict policy fail); nothing was uploaded"
                    )
                }
            }
            for directory in directories {
                if context.cancellation.reason != nil { throw CancellationError() }
                try await tree.makeCollection(directory)
            }
            for file in files {
                if context.cancellation.reason != nil { throw CancellationError() }
                if operation.conflictPolicy == .skip, try await tree.exists(file.relative) {
                    skipped += 1
                    continue
                }
                try await tree.upload(file.relative, from: staging + "/" + file.relative)
                unlink(staging + "/" + file.relative)
                uploaded += 1
                bytes += file.size
            }
            let note: JSONValue = .object([
                "source_run_id": operation.sourceRunId.map(JSONValue.string) ?? .null, "restore_run_id": .string(context.run.id),
                "job_id": .string(context.job.id), "restored_at": .string(ISO8601DateFormatter().string(from: Date())),
                "restored_files": .number(Double(uploaded)), "restored_bytes": .number(Double(bytes)),
                "directories": .number(Double(directories.count)), "skipped": .number(Double(skipped)),
                "not_kept": .number(Double(notKeptCount)), "not_kept_entries": .array(notKept),
                "metadata_not_kept": .array(["mode", "owner", "group", "mtime", "xattrs", "acls"]),
            ])
            let notePath = staging + ".note.json"
            defer { unlink(notePath) }
            guard FileManager.default.createFile(atPath: notePath, contents: Data(note.jsonString().utf8)) else {
                throw RunFailure(code: "staging_unavailable", message: "cannot write \(notePath)")
            }
            try await tree.makeCollection(".bastion-meta")
            try await tree.upload(".bastion-meta/restore-\(context.run.id).json", from: notePath)
        } catch let error as TargetError {
            throw RunFailure(code: error.code, message: error.description)
        }
        guard case .object(var summary) = restored else { return restored }
        summary["destination"] = .string(tree.base)
        summary["destination_type"] = .string("webdav")
        summary["restored_files"] = .number(Double(uploaded))
        summary["restored_bytes"] = .number(Double(bytes))
        summary["skipped"] = .number(Double(skipped))
        summary["not_kept"] = .number(Double(notKeptCount))
        summary["not_kept_entries"] = .array(notKept)
        summary["note"] = .string(".bastion-meta/restore-\(context.run.id).json")
        return .object(summary)
    }
}
