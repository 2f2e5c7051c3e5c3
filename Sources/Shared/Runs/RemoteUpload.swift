import Archive
import Core
import Foundation
import Synchronization
import Targets

/// Uploads a snapshot's parts to a remote target as the builder finishes them (docs/targets.md, "Writing a
/// snapshot"): one upload in flight while the next part is written, so at most two parts are staged on local disk.
///
/// The ledger (`ledger.json` in the staging directory) records each part the target confirmed, with its size and
/// BLAKE3. When a run resumes after its worker died, a part is skipped only when the new part has the same hash as the
/// ledger's and the target still holds that many bytes; a part of the same size alone is uploaded again.
final class RemoteUpload: PartShipper, @unchecked Sendable {
    struct Entry: Equatable {
        var size: Int64
        var hash: String
    }

    let store: any TargetStore
    let ledgerPath: String
    private let state = Mutex<(ledger: [String: Entry], kept: Int, failure: (any Error)?)>(([:], 0, nil))
    /// One upload in flight: taken before an upload starts, given back when it ends.
    private let slot = DispatchSemaphore(value: 1)
    private let isCanceled: @Sendable () -> Bool

    init(store: any TargetStore, staging: String, isCanceled: @escaping @Sendable () -> Bool) {
        self.store = store
        ledgerPath = staging + "/ledger.json"
        self.isCanceled = isCanceled
        var ledger: [String: Entry] = [:]
        if let data = FileManager.default.contents(atPath: ledgerPath), let stored = try? JSONValue.parse(bytes: data),
            stored["location"]?.stringValue == store.location.display, case .object(let parts)? = stored["parts"]
        {
            for (name, value) in parts {
                if let size = value["size"]?.int64Value, size >= 0, case .string(let hash)? = value["hash"] {
                    ledger[name] = Entry(size: size, hash: hash)
                }
            }
        }
        state.withLock { $0.ledger = ledger }
    }

    var keptParts: Int { state.withLock { $0.kept } }

    /// On the builder's thread: waits for the previous upload, then starts this one.
    func ship(_ part: PartWriter.Part, path: String) throws {
        slot.wait()
        if let failure = state.withLock({ $0.failure }) {
            slot.signal()
            unlink(path)
            throw failure
        }
        if isCanceled() {
            slot.signal()
            throw CancellationError()
        }
        Task { [self] in
            defer {
                unlink(path)
                slot.signal()
            }
            do {
                try await upload(part, path: path)
            } catch {
                state.withLock { $0.failure = error }
            }
        }
    }

    /// Waits for the last upload; throws the first failure.
    func finish() throws {
        slot.wait()
        slot.signal()
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    private func upload(_ part: PartWriter.Part, path: String) async throws {
        let recorded = state.withLock { $0.ledger[part.name] }
        if recorded == Entry(size: part.size, hash: part.hash), try await store.size(of: part.name) == part.size {
            state.withLock { $0.kept += 1 }
            return
        }
        try await store.upload(part.name, from: path)
        let ledger = state.withLock { state in
            state.ledger[part.name] = Entry(size: part.size, hash: part.hash)
            return state.ledger
        }
        try writeLedger(ledger)
    }

    private func writeLedger(_ ledger: [String: Entry]) throws {
        var parts: [String: JSONValue] = [:]
        for (name, entry) in ledger { parts[name] = .object(["size": .number(Double(entry.size)), "hash": .string(entry.hash)]) }
        let text = JSONValue.object(["location": .string(store.location.display), "parts": .object(parts)]).jsonString()
        let partial = ledgerPath + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: Data(text.utf8)) else {
            throw TargetError("staging_unavailable", "cannot write \(partial)")
        }
        let descriptor = open(partial, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        guard rename(partial, ledgerPath) == 0 else { throw TargetError("staging_unavailable", "cannot rename \(partial)") }
    }
}
