import Core
import Foundation

/// What reading one snapshot takes (docs/formats.md, "Incremental snapshots"), from its entries index, which lists
/// every entry of the tree: the members its own payload holds, and for each earlier snapshot of its chain the members
/// whose bytes are there (`stored_in`), with where each starts and, for a verify, what it must be. A full snapshot has
/// no sources.
public struct ChainPlan: Sendable {
    /// This snapshot's own members that are wanted (with `selection`; all of them without one).
    public var own: [Snapshot.Wanted] = []
    /// Own members without an offset (an index written before frames): read by streaming.
    public var ownWithoutOffset = false
    /// Earlier snapshots' members, by run id.
    public var sources: [String: [Snapshot.Wanted]] = [:]
    /// Earlier snapshots' members without an offset, by run id: that snapshot is read by streaming.
    public var unplaced: [String: [[UInt8]]] = [:]
    /// What each referenced member must be, by run id then path (only when planned `verifying`).
    var expected: [String: [[UInt8]: SnapshotVerifier.Digest]] = [:]
    /// What each of `own` must be (only when planned `verifying`).
    var ownExpected: [[UInt8]: SnapshotVerifier.Digest] = [:]

    /// Reads the index at `path` (`identity` decrypts an encrypted one); `selection` limits the wanted entries;
    /// `verifying` keeps what each wanted member must be (a verify, and a restore, which checks every member against
    /// the index); `stopAfter` ends the read after that many wanted entries.
    public init(
        entriesIndex path: String,
        identity: String? = nil,
        selection: RestoreWriter.Selection?,
        verifying: Bool = false,
        stopAfter: Int = .max
    ) throws {
        let reader = try EntriesIndexReader(path: path, identity: identity)
        var wanted = 0
        while wanted < stopAfter, let entry = try reader.nextFields() {
            guard let entryPath = entry.name("path", base64: "path_b64") else { continue }
            if let selection, !selection.includes(entryPath) { continue }
            wanted += 1
            let offset = entry.int("offset")
            if let stored = entry.string("stored_in") {
                let source = String(decoding: stored, as: UTF8.self)
                if let offset {
                    sources[source, default: []].append(.init(offset: offset, path: entryPath))
                } else {
                    unplaced[source, default: []].append(entryPath)
                }
                if verifying { expected[source, default: [:]][entryPath] = SnapshotVerifier.digest(entry) }
            } else if let offset {
                own.append(.init(offset: offset, path: entryPath))
                if verifying { ownExpected[entryPath] = SnapshotVerifier.digest(entry) }
            } else {
                ownWithoutOffset = true
            }
        }
    }

    /// The earlier snapshots this read needs, in chain order (`chain` oldest first).
    public func sourceRuns(chain: [String]) throws -> [String] {
        let needed = Set(sources.keys).union(unplaced.keys)
        if let stray = needed.subtracting(chain).first {
            throw ArchiveError.corrupt("the entries index points to run \(stray), which is not in this snapshot's chain")
        }
        return chain.filter(needed.contains)
    }

    /// A verifier of the members `source` holds for this snapshot (a plan made with `verifying`); `strict` for a
    /// restore.
    public func verifier(for source: String, strict: Bool = false, isCanceled: @escaping () -> Bool) -> SnapshotVerifier {
        SnapshotVerifier(expected: expected[source] ?? [:], strict: strict, isCanceled: isCanceled)
    }

    /// A restore's strict check of the snapshot's own wanted members read by frame (a plan made with `verifying`).
    public func ownVerifier(isCanceled: @escaping () -> Bool) -> SnapshotVerifier {
        SnapshotVerifier(expected: ownExpected, strict: true, isCanceled: isCanceled)
    }

    /// All wanted paths of `source` (for a read that streams it).
    public func paths(of source: String) -> Set<[UInt8]> { Set((sources[source] ?? []).map(\.path) + (unplaced[source] ?? [])) }
}
