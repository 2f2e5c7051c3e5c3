import Archive
import Foundation
import GRDB

extension SnapshotCatalog {
    /// The catalog built in the same pass as the archive (docs/architecture.md, "One pass"): the builder's writer
    /// thread hands it each batch of index entries (`IndexObserver`), and a thread of its own inserts them into a
    /// temporary file through the same `Fill` as a build from `entries.jsonl.zst`, so both give the same catalog.
    /// `finish` (after the snapshot is complete) waits for the last rows, adds the listing index and renames the file
    /// into place; `abandon` (the build failed, or was canceled) removes it. Until `finish`, nothing is at the
    /// catalog's path: a run killed half-way leaves only a temporary file (`sweepTemporaries`).
    ///
    /// Memory is bounded: at most `queueLimit` entries (16,384, a few MB) wait; the writer waits when the catalog falls that far behind.
    /// A failure here never fails the backup: it is `finish`'s error, the run's warning, and the API builds the
    /// catalog on first use as for an older snapshot.
    public final class LiveBuild: IndexObserver, @unchecked Sendable {
        // @unchecked Sendable: every mutable property is touched with `condition` locked; the database is the
        // builder thread's alone.
        public let path: String
        static let queueLimit = 16 << 10
        private let condition = NSCondition()
        private var batches: [[IndexedEntry]] = []
        private var queued = 0
        private var inputEnded = false
        private var abandoned = false
        private var finishCalled = false
        private var done = false
        private var failure: (any Error)?
        private var temporary: String?
        private var queue: DatabaseQueue?
        private var count: Int64 = 0

        public init(path: String) {
            self.path = path
            let thread = Thread { [self] in run() }
            thread.name = "bastion-catalog"
            thread.start()
        }

        public func indexed(_ entries: [IndexedEntry]) {
            condition.lock()
            defer { condition.unlock() }
            while queued >= Self.queueLimit && !abandoned && !done { condition.wait() }
            guard !abandoned, !done else { return }
            batches.append(entries)
            queued += entries.count
            condition.broadcast()
        }

        /// Waits for the rows of every entry handed over, completes the catalog and moves it to `path`; the entries
        /// counted. Call it once the snapshot is complete.
        public func finish() throws -> Int64 {
            condition.lock()
            inputEnded = true
            finishCalled = true
            condition.broadcast()
            while !done { condition.wait() }
            let (failure, queue, temporary, count) = (self.failure, self.queue, self.temporary, self.count)
            condition.unlock()
            if let failure { throw failure }
            guard let queue, let temporary else { throw SnapshotCatalog.BuildError(description: "the catalog was not built") }
            defer { SnapshotCatalog.removeTemporary(temporary) }
            _ = try SnapshotCatalog.moveIntoPlace(queue, temporary, path)
            return count
        }

        /// The snapshot will not be complete: stop, and remove what was written. Does not wait; nothing once
        /// `finish` was called.
        public func abandon() {
            condition.lock()
            guard !finishCalled, !abandoned else {
                condition.unlock()
                return
            }
            abandoned = true
            // Rows already done: the file is removed here, else by the thread when it sees the flag.
            let (queue, temporary) = done ? (self.queue, self.temporary) : (nil, nil)
            self.queue = nil
            condition.broadcast()
            condition.unlock()
            try? queue?.close()
            if let temporary { SnapshotCatalog.removeTemporary(temporary) }
        }

        private struct Abandoned: Error {}

        /// The next batch, nil once the input ended and all was taken; throws when abandoned.
        private func next() throws -> [IndexedEntry]? {
            condition.lock()
            defer { condition.unlock() }
            while batches.isEmpty && !inputEnded && !abandoned { condition.wait() }
            if abandoned { throw Abandoned() }
            guard !batches.isEmpty else { return nil }
            let batch = batches.removeFirst()
            queued -= batch.count
            condition.broadcast()
            return batch
        }

        private func run() {
            var temporary: String?
            var queue: DatabaseQueue?
            var failure: (any Error)?
            var count: Int64 = 0
            do {
                let file = try SnapshotCatalog.temporaryPath(for: path)
                temporary = file
                let database = try SnapshotCatalog.createFile(file)
                queue = database
                try database.inDatabase { db in
                    try db.inTransaction {
                        let fill = try SnapshotCatalog.Fill(db)
                        while let batch = try next() {
                            for entry in batch {
                                try fill.add(
                                    path: entry.path,
                                    kind: entry.kind,
                                    size: Self.asJSON(entry.size),
                                    mtime: Self.asJSON(entry.mtime),
                                    mtimeNsec: Self.asJSON(entry.mtimeNsec),
                                    mode: Self.asJSON(entry.mode),
                                    uid: Self.asJSON(entry.uid),
                                    gid: Self.asJSON(entry.gid),
                                    hash: entry.hash,
                                    link: entry.link
                                )
                            }
                        }
                        try fill.finish()
                        count = fill.count
                        return .commit
                    }
                    try SnapshotCatalog.createListingIndex(db)
                }
            } catch {
                failure = error
                try? queue?.close()
                if let temporary { SnapshotCatalog.removeTemporary(temporary) }
            }
            condition.lock()
            self.failure = failure
            self.queue = failure == nil ? queue : nil
            self.temporary = temporary
            self.count = count
            done = true
            // Abandoned after the rows were done: nobody will call `finish`.
            let remove = abandoned && failure == nil
            condition.broadcast()
            condition.unlock()
            if remove, let temporary {
                try? queue?.close()
                SnapshotCatalog.removeTemporary(temporary)
            }
        }

        /// A number as the index's JSON reader gives it (`JSONValue.int64Value`: unknown from 9e15 on), so both builds
        /// store the same.
        static func asJSON(_ value: Int64) -> Int64? { value.magnitude < 9_000_000_000_000_000 ? value : nil }
    }
}
