import Archive
import Core
import Foundation
import Targets

/// A restore into a WebDAV collection (docs/targets.md, "Restore to WebDAV"). The snapshot is restored as a local
/// restore is (every part checked before use, every member against the index) into `<staging>/<run_id>.webdav/`,
/// and each entry is uploaded as soon as it is in place there (a regular file once its content matched the index):
/// MKCOL of its directories first, one PUT per regular file, then the file is deleted from the staging. The restore
/// waits while `stagedLimit` entries wait for upload, so the staging never holds the whole snapshot (files that hard
/// links point to stay until the end). What WebDAV cannot hold (symlinks, devices, FIFOs, sockets; modes, owners,
/// times, xattrs and ACLs) is listed in `<base_url>/.bastion-meta/restore-<run_id>.json`, written last, with the
/// source snapshot, the time and the counts. Conflicts are decided by HEAD: `fail` checks every file the entries
/// index lists before anything is restored or uploaded.
enum WebDAVRestore {
    /// The most entries restored into the staging and not uploaded yet.
    static let stagedLimit = 8

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
        let uploader = Uploader(tree: tree, staging: staging, policy: operation.conflictPolicy, context: context)
        async let uploading: Void = uploader.run()
        let restored: Result<JSONValue, any Error>
        do {
            restored = .success(try await executor.execute(restoreContext, stream: uploader))
        } catch {
            restored = .failure(error)
        }
        if case .success = restored {
            let (written, uploaded) = uploader.counts
            context.events.emit(
                kind: "restore",
                message: "Restored \(written) entr(ies) into the staging; \(uploaded) already uploaded",
                fields: .object(["entries_restored": .number(Double(written)), "entries_uploaded": .number(Double(uploaded))])
            )
            uploader.finishWriting()
        } else {
            uploader.stop()
        }
        await uploading
        // The uploader's failure first: the restore stopped because of it.
        if let error = uploader.failure {
            if let error = error as? TargetError { throw RunFailure(code: error.code, message: error.description) }
            throw error
        }
        let summaryValue = try restored.get()
        let notKept = uploader.notKept
        do {
            let note: JSONValue = .object([
                "source_run_id": operation.sourceRunId.map(JSONValue.string) ?? .null, "restore_run_id": .string(context.run.id),
                "job_id": .string(context.job.id), "restored_at": .string(ISO8601DateFormatter().string(from: Date())),
                "restored_files": .number(Double(uploader.uploaded)), "restored_bytes": .number(Double(uploader.bytes)),
                "directories": .number(Double(uploader.collections.count)), "skipped": .number(Double(uploader.skipped)),
                "not_kept": .number(Double(uploader.notKeptCount)), "not_kept_entries": .array(notKept),
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
        guard case .object(var summary) = summaryValue else { return summaryValue }
        summary["destination"] = .string(tree.base)
        summary["destination_type"] = .string("webdav")
        summary["restored_files"] = .number(Double(uploader.uploaded))
        summary["restored_bytes"] = .number(Double(uploader.bytes))
        summary["skipped"] = .number(Double(uploader.skipped))
        summary["not_kept"] = .number(Double(uploader.notKeptCount))
        summary["not_kept_entries"] = .array(notKept)
        summary["note"] = .string(".bastion-meta/restore-\(context.run.id).json")
        return .object(summary)
    }

    /// Uploads each entry the restore puts in the staging, in the order restored; the restore's thread waits in
    /// `restored` while `stagedLimit` entries are not uploaded yet.
    final class Uploader: RestoreStream, @unchecked Sendable {
        let tree: WebDAVTree
        let staging: String
        let policy: RestoreOperation.ConflictPolicy
        let context: RunContext
        private let condition = NSCondition()
        /// Each restored entry: its name as text (nil when it is not UTF-8: a WebDAV URL cannot name it as it was), its
        /// bytes, its kind.
        private let items: AsyncStream<(relative: String?, raw: [UInt8], kind: TarEntry.Kind)>
        private let continuation: AsyncStream<(relative: String?, raw: [UInt8], kind: TarEntry.Kind)>.Continuation
        // Under `condition`.
        private var waiting = 0
        private var written = 0
        private var handled = 0
        private var stoppedFlag = false
        // The uploader task's own (read after it ended).
        private(set) var failure: (any Error)?
        private(set) var uploaded: Int64 = 0
        private(set) var bytes: Int64 = 0
        private(set) var skipped: Int64 = 0
        private(set) var collections: Set<String> = []
        private(set) var notKept: [JSONValue] = []
        private(set) var notKeptCount: Int64 = 0
        /// Files hard links point to: kept in the staging until the end (a later link is made from them).
        private var linkTargets: Set<String> = []

        init(tree: WebDAVTree, staging: String, policy: RestoreOperation.ConflictPolicy, context: RunContext) {
            self.tree = tree
            self.staging = staging
            self.policy = policy
            self.context = context
            (items, continuation) = AsyncStream.makeStream(of: (relative: String?, raw: [UInt8], kind: TarEntry.Kind).self)
        }

        var stopped: Bool {
            condition.lock()
            defer { condition.unlock() }
            return stoppedFlag
        }

        /// Entries restored and entries uploaded (or skipped, or noted as not kept) so far.
        var counts: (written: Int, handled: Int) {
            condition.lock()
            defer { condition.unlock() }
            return (written, handled)
        }

        /// Reads the index: the files hard links point to and, under `fail`, a HEAD of every file to restore before
        /// anything is restored.
        func prepare(index: String, identity: String?, selection: RestoreWriter.Selection?) async throws {
            let checkAll = policy == .fail
            let (files, targets) = try await runBlocking { () -> ([String], Set<String>) in
                let reader = try EntriesIndexReader(path: index, identity: identity)
                var files: [String] = []
                var targets: Set<String> = []
                while case .object(let fields)? = try reader.next() {
                    guard case .string(let kind)? = fields["kind"] else { continue }
                    if kind == "hardlink", let target = Self.name(fields, "hardlink_target").flatMap(RestoreWriter.normalize) {
                        targets.insert(target)
                    }
                    guard checkAll, kind == "file" || kind == "hardlink", let path = Self.name(fields, "path"),
                        let relative = RestoreWriter.normalize(path), !relative.isEmpty
                    else { continue }
                    if let selection, !selection.includes(Array(relative.utf8)) { continue }
                    files.append(relative)
                }
                return (files, targets)
            }
            linkTargets = targets
            do {
                for file in files {
                    if context.cancellation.reason != nil { throw CancellationError() }
                    if try await tree.exists(file) {
                        throw RunFailure(
                            code: "restore_conflict",
                            message: "\(tree.url(file)) exists (conflict policy fail); nothing was uploaded"
                        )
                    }
                }
            } catch let error as TargetError {
                throw RunFailure(code: error.code, message: error.description)
            }
        }

        static func name(_ fields: [String: JSONValue], _ key: String) -> String? {
            if case .string(let encoded)? = fields[key + "_b64"] {
                return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
            }
            if case .string(let plain)? = fields[key] { return plain }
            return nil
        }

        func restored(_ relative: [UInt8], _ entry: TarEntry) throws {
            condition.lock()
            defer { condition.unlock() }
            while waiting >= WebDAVRestore.stagedLimit && !stoppedFlag { condition.wait() }
            if stoppedFlag { throw CancellationError() }
            waiting += 1
            written += 1
            continuation.yield((String(validating: relative, as: UTF8.self), relative, entry.kind))
        }

        /// Nothing more comes: the uploads go on to the last entry.
        func finishWriting() { continuation.finish() }

        /// The restore or the uploads failed: the restore's thread stops waiting, the entries left are not uploaded.
        func stop() {
            condition.lock()
            stoppedFlag = true
            condition.broadcast()
            condition.unlock()
            continuation.finish()
        }

        func run() async {
            for await item in items {
                if failure == nil {
                    do {
                        if let relative = item.relative {
                            try await upload(relative, item.kind)
                        } else {
                            notUTF8(item.raw, item.kind)
                        }
                    } catch {
                        failure = error
                        stop()
                    }
                }
                handledOne()
            }
        }

        /// A name that is not UTF-8 (or under a directory whose name is not) is listed as not kept, never dropped in
        /// silence; its staged file is removed by its bytes.
        private func notUTF8(_ raw: [UInt8], _ kind: TarEntry.Kind) {
            notKeptCount += 1
            if notKept.count < 1000 {
                notKept.append(
                    .object([
                        "path": .string("/" + String(decoding: raw, as: UTF8.self)),
                        "path_b64": .string(Data(("/".utf8) + raw).base64EncodedString()), "kind": "name_not_utf8",
                    ])
                )
            }
            guard kind != .directory else { return }
            let path = Array(staging.utf8) + [UInt8(ascii: "/")] + raw + [0]
            path.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { _ = unlink($0) }
            }
        }

        /// One entry less waits: the restore's thread may go on.
        private func handledOne() {
            condition.lock()
            waiting -= 1
            handled += 1
            condition.signal()
            condition.unlock()
        }

        /// MKCOL of `relative` and of its parents not made yet, parents first.
        private func makeCollections(_ relative: String) async throws {
            var path = ""
            for segment in relative.split(separator: "/") {
                path += path.isEmpty ? String(segment) : "/" + segment
                if collections.contains(path) { continue }
                try await tree.makeCollection(path)
                collections.insert(path)
            }
        }

        private func upload(_ relative: String, _ kind: TarEntry.Kind) async throws {
            if context.cancellation.reason != nil { throw CancellationError() }
            let local = staging + "/" + relative
            let parent = relative.split(separator: "/").dropLast().joined(separator: "/")
            switch kind {
            case .directory:
                try await makeCollections(relative)
            case .file, .hardlink:
                try await makeCollections(parent)
                var info = stat()
                guard lstat(local, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
                if policy == .skip, try await tree.exists(relative) {
                    skipped += 1
                } else {
                    try await tree.upload(relative, from: local)
                    uploaded += 1
                    bytes += Int64(info.st_size)
                }
                if !linkTargets.contains(relative) { unlink(local) }
            case .symlink, .fifo, .characterDevice, .blockDevice:
                let name = kind == .symlink ? "symlink" : kind == .fifo ? "fifo" : "device"
                notKeptCount += 1
                if notKept.count < 1000 { notKept.append(.object(["path": .string("/" + relative), "kind": .string(name)])) }
                unlink(local)
            }
        }
    }
}
