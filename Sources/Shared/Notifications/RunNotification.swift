import Core
import Foundation

/// What a notification says about a finished run: the webhook's JSON body and the WeCom template's placeholders
/// (`{{title}}`, `{{job_id}}`, `{{job_name}}`, `{{run_id}}`, `{{status}}`, `{{status_text}}`, `{{started_at}}`,
/// `{{ended_at}}`, `{{target_type}}`, `{{target_location}}`, `{{target}}`, `{{error}}`, `{{error_line}}`,
/// `{{target_line_wecom}}`, `{{error_line_wecom}}`, as the original's templates; `NotificationSettings.templateVariables`).
public struct RunNotification: Sendable, Equatable {
    public var runId: String
    public var jobId: String
    public var jobName: String
    public var status: String
    public var startedAt: Int64?
    public var endedAt: Int64?
    public var error: String?
    public var summary: JSONValue?
    /// A restore drill's run (docs/architecture.md, "Restore drills"): the title says so.
    public var drill = false

    public init(run: Run?, runId: String, jobName: String?) {
        self.runId = runId
        jobId = run?.jobId ?? "-"
        self.jobName = jobName ?? run?.jobId ?? "-"
        status = run?.status.rawValue ?? "unknown"
        startedAt = run?.startedAt
        endedAt = run?.endedAt
        error = run?.error
        summary = run?.summary
        drill = run?.kind == .verify && run?.operation?["drill"] == .bool(true)
    }

    /// A message for `POST …/destinations/{channel}/{name}/test`.
    public static func test(now: Int64) -> RunNotification {
        var notification = RunNotification(run: nil, runId: "test", jobName: "Bastion test notification")
        notification.status = "test"
        notification.startedAt = now
        notification.endedAt = now
        return notification
    }

    public var title: String {
        if drill { return status == "failed" ? "Restore drill failed: \(jobName)" : "Restore drill \(statusText.lowercased()): \(jobName)" }
        switch status {
        case "success": return "Bastion backup succeeded"
        case "failed": return "Bastion backup failed"
        case "rejected": return "Bastion backup rejected"
        case "test": return "Bastion test notification"
        default: return "Bastion backup completed (\(status))"
        }
    }

    var statusText: String {
        switch status {
        case "success": return "Succeeded"
        case "failed": return "Failed"
        case "rejected": return "Rejected"
        default: return status
        }
    }

    var target: (type: String, location: String) {
        guard case .object(let object)? = summary?["target"] else { return ("-", "-") }
        var location = "-"
        if case .string(let value)? = object["run_url"] ?? object["run_dir"] { location = value }
        if case .string(let type)? = object["type"] { return (type, location) }
        return ("-", location)
    }

    static func format(_ timestamp: Int64?) -> String {
        guard let timestamp else { return "-" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(timestamp)))
    }

    /// The template with every placeholder replaced.
    public func render(_ template: String) -> String {
        let (targetType, targetLocation) = target
        let targetText: String
        switch (targetType, targetLocation) {
        case ("-", "-"): targetText = "-"
        case (_, "-"): targetText = targetType
        case ("-", _): targetText = targetLocation
        default: targetText = "\(targetType) \(targetLocation)"
        }
        let errorText = (error ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let values: [(String, String)] = [
            ("title", title), ("job_id", jobId), ("job_name", jobName), ("run_id", runId), ("status", status),
            ("status_text", statusText), ("started_at", Self.format(startedAt)), ("ended_at", Self.format(endedAt)),
            ("target_type", targetType), ("target_location", targetLocation), ("target", targetText), ("error", errorText),
            ("error_line", errorText.isEmpty ? "" : "Error: \(errorText)\n"),
            ("target_line_wecom", targetText == "-" ? "" : "> Target: \(targetText)\n"),
            ("error_line_wecom", errorText.isEmpty ? "" : "> Error: \(errorText)\n"),
        ]
        return Self.expand(template, Dictionary(values, uniquingKeysWith: { first, _ in first }))
    }

    /// Replaces each `{{name}}` of `template` whose name is in `values`, in one pass: text that a value brings in is
    /// never expanded again (a job named `{{error}}` stays `{{error}}`). Unknown placeholders stay as they are.
    static func expand(_ template: String, _ values: [String: String]) -> String {
        var output = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = String(rest[open.upperBound..<close.lowerBound])
            if let value = values[name] {
                output += value
                rest = rest[close.upperBound...]
            } else {
                output += "{{"
                rest = rest[open.upperBound...]
            }
        }
        return output + rest
    }

    /// The webhook's JSON body.
    public func webhookBody(notificationId: String, attempt: Int, sentAt: Int64) -> JSONValue {
        func number(_ value: Int64?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
        return .object([
            "type": .string(status == "test" ? "notification.test" : "run.finished"),
            "notification_id": .string(notificationId),
            "attempt": .number(Double(attempt)),
            "sent_at": .number(Double(sentAt)),
            "title": .string(title),
            "run": .object([
                "id": .string(runId), "job_id": .string(jobId), "job_name": .string(jobName), "status": .string(status),
                "started_at": number(startedAt), "ended_at": number(endedAt), "error": error.map(JSONValue.string) ?? .null,
                "summary": summary ?? .null,
            ]),
        ])
    }
}
