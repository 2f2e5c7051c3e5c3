import Core
import Foundation
import Logging
import Synchronization

/// The downloads of single files from snapshots on remote targets (docs/ui.md, "Snapshot browser: files, versions,
/// search"): each stages what it reads (manifest, entries index, frame table, then the parts that hold the file, one at
/// a time) in a directory of its own under `<data-dir>/file-reads/`, removed when the response ends. At most `limit`
/// run at once, so clients can neither fill the hub's disk nor hold more than that many of its blocking threads.
final class RemoteFileReads: Sendable {
    let root: String
    let limit: Int
    private let running = Mutex(0)
    static let defaultLimit = 2

    init(data: DataDirectory, limit: Int = RemoteFileReads.defaultLimit) {
        root = data.fileReadsPath
        self.limit = limit
    }

    /// At API start: what a killed API left (only the API writes here, and one API serves a data directory).
    func sweep(logger: Logger) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for name in names {
            do {
                try FileManager.default.removeItem(atPath: root + "/" + name)
            } catch {
                logger.warning("A file download's leftover staging cannot be removed", metadata: ["path": "\(root)/\(name)", "error": "\(error)"])
            }
        }
        if !names.isEmpty { logger.info("File download staging left by an earlier API removed", metadata: ["count": "\(names.count)"]) }
    }

    /// A slot and a fresh staging directory; nil when `limit` downloads are running.
    func begin(logger: Logger) throws -> Lease? {
        let taken = running.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard taken else { return nil }
        let lease = Lease(directory: root + "/" + UUID().uuidString.lowercased(), owner: self, logger: logger)
        do {
            try FileManager.default.createDirectory(
                atPath: lease.directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            lease.end()
            throw error
        }
        return lease
    }

    fileprivate func release() { running.withLock { $0 -= 1 } }

    /// One download's slot and staging directory, given back once (`end`, or when the last holder lets go).
    final class Lease: Sendable {
        let directory: String
        private let owner: RemoteFileReads
        private let logger: Logger
        private let ended = Atomic(false)

        fileprivate init(directory: String, owner: RemoteFileReads, logger: Logger) {
            self.directory = directory
            self.owner = owner
            self.logger = logger
        }

        /// Removes the staging directory and frees the slot; call once nothing reads from the directory any more.
        func end() {
            guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
            do {
                if FileManager.default.fileExists(atPath: directory) { try FileManager.default.removeItem(atPath: directory) }
            } catch {
                // Left for the sweep at the next start; the slot is free either way.
                logger.warning("A file download's staging cannot be removed", metadata: ["path": "\(directory)", "error": "\(error)"])
            }
            owner.release()
        }

        deinit { end() }
    }
}
