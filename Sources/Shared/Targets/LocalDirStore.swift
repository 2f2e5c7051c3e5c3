import Archive
import Core
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A run's directory on this host (`local_dir`). Backups write it directly (`PartWriter`, with the byte-compare
/// resume); this store serves the test connection, the janitor's cleanup of incomplete runs and deletes.
public struct LocalDirStore: TargetStore {
    public let location: RunLocation
    let directory: String

    public init(location: RunLocation) {
        self.location = location
        directory = location.localDirectory ?? "/nonexistent"
    }

    public func prepare() async throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TargetError("target_unavailable", "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    public func upload(_ name: String, from path: String) async throws {
        let destination = "\(directory)/\(name)"
        unlink(destination + ".partial")
        do {
            try FileManager.default.copyItem(atPath: path, toPath: destination + ".partial")
            guard rename(destination + ".partial", destination) == 0 else { throw POSIXFailure("rename \(destination).partial") }
        } catch {
            unlink(destination + ".partial")
            throw TargetError("target_write_failed", "cannot write \(destination): \(error)")
        }
    }

    public func download(_ name: String, to path: String, maxBytes: Int64) async throws -> Int64 {
        let source = "\(directory)/\(name)"
        guard let stored = try await size(of: name) else { throw TargetError("target_not_found", "\(source) does not exist") }
        guard stored <= maxBytes else { throw TargetStores.tooLarge(name, maxBytes) }
        unlink(path)
        do {
            try FileManager.default.copyItem(atPath: source, toPath: path)
        } catch {
            throw TargetError("target_read_failed", "cannot read \(source): \(error)")
        }
        return try await size(of: name) ?? 0
    }

    public func size(of name: String) async throws -> Int64? {
        var info = stat()
        guard stat("\(directory)/\(name)", &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    public func list() async throws -> [String: Int64] {
        var files: [String: Int64] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            if let size = try await size(of: name) { files[name] = size }
        }
        return files
    }

    public func delete(_ name: String) async throws {
        guard unlink("\(directory)/\(name)") == 0 || errno == ENOENT else {
            throw TargetError("target_delete_failed", POSIXFailure("delete \(directory)/\(name)").description)
        }
    }

    public func removeJobIfEmpty() async {
        rmdir((directory as NSString).deletingLastPathComponent)
    }

    /// Removes the run directory, `complete.json` first (from then on it is not restorable, even half-deleted). Only a
    /// path ending in `/<job_id>/<run_id>` is ever removed.
    public func removeRun() async throws {
        guard directory.hasPrefix("/"), directory.hasSuffix("/\(location.jobId)/\(location.runId)"), !location.runId.isEmpty,
            !location.runId.contains("/"), location.runId != "..", location.jobId != ".."
        else { throw TargetError("target_delete_refused", "refusing to delete \(directory): not <base_dir>/<job_id>/<run_id>") }
        guard FileManager.default.fileExists(atPath: directory) else { return }
        unlink(directory + "/complete.json")
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            // Removed meanwhile by another janitor: gone is what was asked.
            guard FileManager.default.fileExists(atPath: directory) else { return }
            throw TargetError("target_delete_failed", "cannot delete \(directory): \(error.localizedDescription)")
        }
    }
}
