import Archive
import Core
import Foundation
import Hummingbird
import Secrets
import Store
import Targets

/// Reading inside snapshots without restoring them (docs/architecture.md, "Browsing snapshots"): one directory level
/// or a name search (`GET /api/runs/{id}/entries`), what changed between two snapshots of a job
/// (`GET /api/jobs/{id}/diff`), and one path across a job's snapshots (`GET /api/jobs/{id}/versions`). All read the
/// snapshots' catalogs (docs/formats.md, "The snapshot catalog"); one file's bytes (`GET /api/runs/{id}/file`,
/// BrowseController+File.swift).
struct BrowseController {
    let services: APIServices

    func addRoutes(to group: RecordingRouterGroup) {
        group.get("runs/:id/entries", use: entries)
        group.get("runs/:id/file", use: file)
        group.get("jobs/:id/diff", use: diff)
        group.get("jobs/:id/versions", use: versions)
    }

    static let kinds = ["file", "dir", "symlink", "hardlink", "fifo", "char", "block"]

    /// A name as the API writes it (docs/formats.md, "Names are bytes"): text, plus base64 when it is not UTF-8.
    static func text(_ bytes: [UInt8]) -> (String, Omittable<String>) {
        if let text = String(validating: bytes, as: UTF8.self) { return (text, .absent) }
        return (String(decoding: bytes, as: UTF8.self), .present(Data(bytes).base64EncodedString()))
    }

    struct EntryDTO: ResponseEncodable {
        var name: String
        var nameB64: Omittable<String>
        var path: String
        var pathB64: Omittable<String>
        var kind: String
        var size: Int64
        var mtime: Int64?
        var mtimeNsec: Int64?
        var mode: Int64?
        var uid: Int64?
        var gid: Int64?
        var hash: String?
        var linkTarget: String?
        var linkTargetB64: Omittable<String>
        /// A directory above the backed-up paths: in the tree, not in the archive.
        var implied: Bool

        init(_ entry: SnapshotCatalog.Entry) {
            (name, nameB64) = BrowseController.text(entry.name)
            (path, pathB64) = BrowseController.text(entry.path)
            kind = entry.kind
            size = entry.size
            mtime = entry.mtime
            mtimeNsec = entry.mtimeNsec
            mode = entry.mode
            uid = entry.uid
            gid = entry.gid
            hash = entry.hashHex
            let link = entry.link.map(BrowseController.text)
            linkTarget = link?.0
            linkTargetB64 = link?.1 ?? .absent
            implied = entry.implied
        }
    }

    struct EntriesPage: ResponseEncodable {
        var runId: String
        var prefix: String
        var prefixB64: Omittable<String>
        var q: String?
        var items: [EntryDTO]
        var nextCursor: String?
    }

    /// `GET /api/runs/{id}/entries?prefix=&prefix_b64=&cursor=&limit=&q=&kind=`: without `q`, the directory `prefix`
    /// (default: the top) one level deep, directories first; with `q`, the entries below `prefix` whose name contains
    /// `q`, or matches it when it is a glob (`NameGlob`). Paged by an opaque cursor.
    @Sendable func entries(_ request: Request, context: AppRequestContext) async throws -> EntriesPage {
        let (run, location) = try await snapshot(try context.parameters.require("id"), location: Self.location(request))
        let prefix = try Self.path(request, "prefix") ?? []
        let limit = Int(try RequestInput.integer(request, "limit", range: 1...1000) ?? 200)
        let kind = try Self.kind(request)
        let query = request.uri.queryParameters.get("q").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        if let query, query.utf8.count > 256 {
            throw APIError(status: .badRequest, code: "invalid_query", message: "q must be at most 256 bytes", details: ["field": "q"])
        }
        var cursor: SnapshotCatalog.Cursor?
        if let raw = request.uri.queryParameters.get("cursor") {
            guard let parsed = SnapshotCatalog.Cursor(token: String(raw)), query != nil || parsed.directory == prefix else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_cursor",
                    message: "cursor is not one this listing issued",
                    details: ["field": "cursor"]
                )
            }
            cursor = parsed
        }
        let catalog = try await catalog(run.id, location)
        let start = cursor
        let page = try await runBlocking {
            let cursor = start
            if let query { return try catalog.search(under: prefix, query: query, after: cursor, limit: limit, kind: kind) }
            return try catalog.list(directory: prefix, after: cursor, limit: limit, kind: kind)
        }
        guard let page else {
            throw APIError(
                status: .notFound,
                code: "path_not_found",
                message: "the snapshot has no directory \(Self.text(prefix).0)",
                details: ["field": "prefix"]
            )
        }
        let (prefixText, prefixB64) = Self.text(prefix)
        return EntriesPage(
            runId: run.id,
            prefix: prefixText,
            prefixB64: prefixB64,
            q: query,
            items: page.items.map(EntryDTO.init),
            nextCursor: page.nextCursor?.token
        )
    }

    struct SideDTO: ResponseEncodable {
        var kind: String
        var size: Int64
        var hash: String?
        var mode: Int64?
        var mtime: Int64?
        var mtimeNsec: Int64?
        var linkTarget: String?

        init(_ side: SnapshotDiff.Side) {
            kind = side.kind
            size = side.size
            hash = side.hashHex
            mode = side.mode
            mtime = side.mtime
            mtimeNsec = side.mtimeNsec
            linkTarget = side.link.map { BrowseController.text($0).0 }
        }
    }

    struct ChangeDTO: ResponseEncodable {
        var change: String
        var path: String
        var pathB64: Omittable<String>
        var kind: String
        var fields: [String]
        var old: SideDTO?
        var new: SideDTO?
    }

    struct SnapshotRef: ResponseEncodable {
        var runId: String
        var endedAt: Int64?
    }

    struct DiffTotals: ResponseEncodable {
        var added: Int64
        var removed: Int64
        var changed: Int64
    }

    struct DiffPage: ResponseEncodable {
        var jobId: String
        var from: SnapshotRef
        var to: SnapshotRef
        var totals: DiffTotals
        var items: [ChangeDTO]
        var nextCursor: String?
    }

    /// `GET /api/jobs/{id}/diff?from=<run>&to=<run>&change=&q=&cursor=&limit=`: entries added, removed and changed
    /// from one snapshot of the job to another, in path order, with totals.
    @Sendable func diff(_ request: Request, context: AppRequestContext) async throws -> DiffPage {
        let jobId = try context.parameters.require("id")
        guard try await services.database.job(id: jobId) != nil else { throw APIError.jobNotFound }
        func side(_ name: String) async throws -> (Run, SnapshotCatalog) {
            guard let id = request.uri.queryParameters.get(name).map { String($0) }, !id.isEmpty else {
                throw APIError(status: .badRequest, code: "invalid_query", message: "\(name) (a run id) is required", details: ["field": name])
            }
            let (run, location) = try await snapshot(id, jobId: jobId, location: Self.location(request))
            return (run, try await catalog(run.id, location))
        }
        let (oldRun, oldCatalog) = try await side("from")
        let (newRun, newCatalog) = try await side("to")
        let limit = Int(try RequestInput.integer(request, "limit", range: 1...1000) ?? 200)
        let change: SnapshotDiff.Kind? = try RequestInput.filter(request, "change")
        let query = request.uri.queryParameters.get("q").map { String($0) }.flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }
        var after: Int64?
        if let raw = request.uri.queryParameters.get("cursor") {
            guard let value = Data(base64Encoded: String(raw)).flatMap({ String(data: $0, encoding: .utf8) }).flatMap({ Int64($0.dropFirst(2)) }),
                value >= 0
            else {
                throw APIError(
                    status: .badRequest,
                    code: "invalid_cursor",
                    message: "cursor is not one this listing issued",
                    details: ["field": "cursor"]
                )
            }
            after = value
        }
        let diff = try await services.catalogs.diff(
            from: (oldRun.id, oldCatalog),
            to: (newRun.id, newCatalog),
            in: services.config.common.dataDirectory
        )
        let start = after
        let (totals, page) = try await runBlocking { (try diff.totals(), try diff.page(after: start, limit: limit, kind: change, query: query)) }
        return DiffPage(
            jobId: jobId,
            from: SnapshotRef(runId: oldRun.id, endedAt: oldRun.endedAt),
            to: SnapshotRef(runId: newRun.id, endedAt: newRun.endedAt),
            totals: DiffTotals(added: totals.added, removed: totals.removed, changed: totals.changed),
            items: page.items.map { item in
                let (path, pathB64) = Self.text(item.path)
                return ChangeDTO(
                    change: item.kind.rawValue,
                    path: path,
                    pathB64: pathB64,
                    kind: (item.new ?? item.old)?.kind ?? "file",
                    fields: item.fields,
                    old: item.old.map(SideDTO.init),
                    new: item.new.map(SideDTO.init)
                )
            },
            nextCursor: page.next.map { Data("d:\($0)".utf8).base64EncodedString() }
        )
    }

    struct VersionDTO: ResponseEncodable {
        var runId: String
        var endedAt: Int64?
        var pinned: Bool
        /// `added` (first seen, or back after an absence), `changed`, `unchanged`, `removed` (gone since the previous
        /// snapshot), `absent`.
        var change: String
        var entry: EntryDTO?
    }

    struct Versions: ResponseEncodable {
        var jobId: String
        var path: String
        var pathB64: Omittable<String>
        var items: [VersionDTO]
    }

    /// `GET /api/jobs/{id}/versions?path=&path_b64=&limit=`: the path in each present snapshot of the job, newest
    /// first, with what happened to it since the snapshot before.
    @Sendable func versions(_ request: Request, context: AppRequestContext) async throws -> Versions {
        let jobId = try context.parameters.require("id")
        guard try await services.database.job(id: jobId) != nil else { throw APIError.jobNotFound }
        guard let path = try Self.path(request, "path"), !path.isEmpty else {
            throw APIError(status: .badRequest, code: "invalid_query", message: "path is required", details: ["field": "path"])
        }
        let limit = Int(try RequestInput.integer(request, "limit", range: 1...200) ?? 50)
        let chosen = try Self.location(request)
        let all = try await services.database.snapshots(jobId: jobId)
        let locations = try await services.database.snapshotLocations(of: all)
        // Each snapshot read at the chosen location, else at its first present one (docs/targets.md, "Copies").
        let readable = all.compactMap { record -> (SnapshotRecord, RunLocation)? in
            let present = (locations[record.runId] ?? []).filter { $0.status == "present" && $0.location != nil }
            guard let at = chosen.map({ id in present.first { $0.id == id } }) ?? present.first, let location = at.location else { return nil }
            return (record, location)
        }.prefix(limit)
        var found: [(SnapshotRecord, SnapshotCatalog.Entry?)] = []
        for (record, location) in readable {
            if let directory = location.localDirectory, !FileManager.default.fileExists(atPath: directory + "/complete.json") { continue }
            let catalog = try await catalog(record.runId, location)
            found.append((record, try await runBlocking { try catalog.lookup(path) }))
        }
        var items: [VersionDTO] = []
        for (index, (record, entry)) in found.enumerated() {
            let older = index + 1 < found.count ? found[index + 1].1 : nil
            let change: String
            switch (older, entry) {
            case (nil, nil): change = "absent"
            case (_?, nil): change = "removed"
            case (nil, _?): change = "added"
            case (let a?, let b?): change = SnapshotDiff.differences(a, b).isEmpty ? "unchanged" : "changed"
            }
            items.append(
                VersionDTO(
                    runId: record.runId,
                    endedAt: record.endedAt,
                    pinned: record.pinnedAt != nil,
                    change: change,
                    entry: entry.map(EntryDTO.init)
                )
            )
        }
        let (pathText, pathB64) = Self.text(path)
        return Versions(jobId: jobId, path: pathText, pathB64: pathB64, items: items)
    }

    /// `?location=` (docs/targets.md, "Copies"): `primary` or `copy:<key>`; nil when absent.
    static func location(_ request: Request) throws -> String? {
        guard let value = request.uri.queryParameters.get("location").map({ String($0) }), !value.isEmpty else { return nil }
        guard JobCopy.isLocationId(value) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_query",
                message: "location must be primary or copy:<key>",
                details: ["field": "location"]
            )
        }
        return value
    }

    /// A successful backup whose snapshot is still on its target (of `jobId` when given), and its directory. With
    /// `location`, read there (`409 location_unavailable` when it is not present there); without, at the primary, or at
    /// the first present copy when the primary no longer holds it.
    func snapshot(_ runId: String, jobId: String? = nil, location chosen: String? = nil) async throws -> (Run, RunLocation) {
        guard let run = try await services.database.run(id: runId), jobId == nil || run.jobId == jobId else { throw APIError.runNotFound }
        if run.kind == .backup, run.status == .success {
            let found = try await services.database.readableLocation(runId: runId, id: chosen)
            if chosen != nil, found == nil {
                throw APIError(status: .conflict, code: "location_unavailable", message: "the snapshot of run \(runId) is not present at \(chosen!)")
            }
            if let found, found.id != JobCopy.primaryLocationId, let location = found.location { return (run, location) }
        }
        guard run.kind == .backup, run.status == .success, let location = BackupSummary(json: run.summary)?.location else {
            throw APIError(
                status: .conflict,
                code: "snapshot_not_browsable",
                message: "run \(runId) is not a finished archive_v1 backup (status \(run.status.rawValue))"
            )
        }
        guard run.nodeId == AppDatabase.hubNode else {
            throw APIError(
                status: .conflict,
                code: "snapshot_on_agent",
                message: "the snapshot of run \(runId) is on agent \(run.nodeId): restore or verify it there; browsing it is not built yet"
            )
        }
        if let record = try await services.database.snapshot(runId: runId), record.status != "present" {
            throw APIError(status: .gone, code: "snapshot_deleted", message: "the snapshot of run \(runId) is \(record.status)")
        }
        if let directory = location.localDirectory, !FileManager.default.fileExists(atPath: directory + "/complete.json") {
            throw APIError(status: .conflict, code: "snapshot_not_browsable", message: "\(directory) has no complete.json")
        }
        return (run, location)
    }

    /// The snapshot's catalog; on a remote target its entries index is fetched first (a target failure is 502 with
    /// the target's code).
    func catalog(_ runId: String, _ location: RunLocation) async throws -> SnapshotCatalog {
        do {
            return try await services.catalogs.catalog(
                runId: runId,
                location: location,
                secrets: HubTargetSecrets(database: services.database),
                identity: { [services] name in
                    try await services.database.backupIdentity(
                        name: name,
                        box: SecretBox.open(in: services.config.common.dataDirectory),
                        create: false
                    )?.identity
                },
                in: services.config.common.dataDirectory
            )
        } catch let error as TargetError {
            throw APIError(status: .badGateway, code: error.code, message: error.description)
        } catch let error as ArchiveError {
            // The index does not match its manifest, or is out of bounds: never used (docs/security.md).
            throw APIError(status: .badGateway, code: "snapshot_corrupt", message: error.description)
        } catch let error as Snapshot.OpenError {
            throw APIError(status: .conflict, code: "snapshot_not_restorable", message: error.description)
        }
    }

    /// A path query parameter as bytes: `<name>_b64` (base64) or `<name>` (text); leading and trailing `/` dropped.
    static func path(_ request: Request, _ name: String) throws -> [UInt8]? {
        var bytes: [UInt8]
        if let encoded = request.uri.queryParameters.get(name + "_b64") {
            guard let data = Data(base64Encoded: String(encoded)) else {
                throw APIError(status: .badRequest, code: "invalid_query", message: "\(name)_b64 must be base64", details: ["field": name + "_b64"])
            }
            bytes = [UInt8](data)
        } else if let text = request.uri.queryParameters.get(name) {
            bytes = Array(String(text).utf8)
        } else {
            return nil
        }
        guard bytes.count <= 65_536, !bytes.contains(0) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_query",
                message: "\(name) must be a path of at most 64 KiB without NUL",
                details: ["field": name]
            )
        }
        while bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        while bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        return bytes
    }

    static func kind(_ request: Request) throws -> String? {
        guard let raw = request.uri.queryParameters.get("kind").map { String($0) }, raw != "all" else { return nil }
        guard kinds.contains(raw) else {
            throw APIError(
                status: .badRequest,
                code: "invalid_query",
                message: "kind must be one of \(kinds.joined(separator: ", "))",
                details: ["field": "kind"]
            )
        }
        return raw
    }
}
