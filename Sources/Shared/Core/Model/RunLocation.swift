import Foundation

/// Where one run's files live on its target: `<base>/<job_id>/<run_id>/` (docs/targets.md). Stored in the backup
/// summary's `target` and in `run_artifacts.target_snapshot_json`, so a snapshot stays readable and deletable after its
/// job's target changed.
public struct RunLocation: Sendable, Equatable {
    public var target: JobSpec.Target
    public var jobId: String
    public var runId: String

    public init(target: JobSpec.Target, jobId: String, runId: String) {
        self.target = target
        self.jobId = jobId
        self.runId = runId
    }

    /// The local directory of a `local_dir` run; nil on other targets.
    public var localDirectory: String? {
        guard case .localDir(let local) = target else { return nil }
        return "\(local.baseDir)/\(jobId)/\(runId)"
    }

    /// For logs, events and the UI: the directory, the URL without credentials, or `remote:path`.
    public var display: String {
        switch target {
        case .localDir: return localDirectory ?? ""
        case .webdav(let webdav): return Self.collection(webdav.baseURL) + "\(jobId)/\(runId)/"
        case .rclone(let rclone): return "\(rclone.remoteName):\(rclone.remotePath.isEmpty ? "" : rclone.remotePath + "/")\(jobId)/\(runId)"
        }
    }

    /// `url` with exactly one trailing `/`.
    public static func collection(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url + "/"
    }

    /// The stored form: the target's fields plus `job_id`, `run_id` and `run_dir` (the display location).
    public var json: JSONValue {
        guard case .object(var object) = target.json else { return .null }
        object["job_id"] = .string(jobId)
        object["run_id"] = .string(runId)
        object["run_dir"] = .string(display)
        return .object(object)
    }

    /// Reads the stored form; records written before remote targets hold only `{type: local_dir, run_dir}`.
    public init?(json: JSONValue?) {
        guard case .object(var object)? = json, case .string(let type)? = object["type"] else { return nil }
        if type == "local_dir", object["base_dir"] == nil {
            guard case .string(let runDir)? = object["run_dir"] else { return nil }
            let parts = runDir.split(separator: "/", omittingEmptySubsequences: true)
            guard parts.count >= 2 else { return nil }
            object["base_dir"] = .string("/" + parts.dropLast(2).joined(separator: "/"))
            object["job_id"] = object["job_id"] ?? .string(String(parts[parts.count - 2]))
            object["run_id"] = object["run_id"] ?? .string(String(parts[parts.count - 1]))
        }
        // The ids name directories under the target's base: ids as Bastion makes them, never `..`, `/` or empty.
        guard case .string(let jobId)? = object["job_id"], case .string(let runId)? = object["run_id"],
            SnapshotChain.isRunId(jobId), SnapshotChain.isRunId(runId),
            let target = try? JobSpec.parseTarget(type: type, .object(object), field: "target")
        else { return nil }
        self.init(target: target, jobId: jobId, runId: runId)
    }
}
