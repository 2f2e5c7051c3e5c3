import Foundation

/// A backup job as stored and as the API shows it.
public struct Job: Sendable, Equatable {
    public var id: String
    public var name: String
    public var agentId: String?
    public var schedule: String?
    public var scheduleTimezone: String
    public var overlapPolicy: OverlapPolicy
    public var spec: JSONValue
    public var createdAt: Int64
    public var updatedAt: Int64
    public var archivedAt: Int64?

    public init(
        id: String,
        name: String,
        agentId: String? = nil,
        schedule: String? = nil,
        scheduleTimezone: String,
        overlapPolicy: OverlapPolicy,
        spec: JSONValue,
        createdAt: Int64,
        updatedAt: Int64,
        archivedAt: Int64? = nil
    ) {
        self.id = id
        self.name = name
        self.agentId = agentId
        self.schedule = schedule
        self.scheduleTimezone = scheduleTimezone
        self.overlapPolicy = overlapPolicy
        self.spec = spec
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }
}

/// A create/update request after validation: trimmed name, parsed schedule and timezone, typed spec.
public struct JobInput: Sendable, Equatable {
    public var name: String
    public var schedule: String?
    public var scheduleTimezone: String
    public var overlapPolicy: OverlapPolicy
    public var spec: JobSpec
    /// The agent that runs it (docs/agents.md); nil: the hub's workers.
    public var agentId: String?

    /// Validates the original's request fields, throwing `ValidationError` with the original's codes:
    /// `invalid_name`, `invalid_schedule`, `invalid_timezone`, `invalid_overlap_policy`, `invalid_spec`.
    public init(name: String?, schedule: String?, scheduleTimezone: String?, overlapPolicy: String?, spec: JSONValue?, defaultTimezone: String) throws
    {
        let trimmed = (name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw ValidationError(code: "invalid_name", field: "name", reason: "required", message: "name must not be empty")
        }
        guard trimmed.count <= 200 else {
            throw ValidationError(code: "invalid_name", field: "name", reason: "max_length", message: "name must be at most 200 characters")
        }
        self.name = trimmed
        let cron = schedule?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let cron, !cron.isEmpty {
            let expression: CronExpression
            do {
                expression = try CronExpression(parsing: cron)
            } catch let error as CronExpression.ParseError {
                throw ValidationError(code: "invalid_schedule", field: "schedule", reason: "invalid_cron", message: error.message)
            }
            guard expression.canFire else {
                throw ValidationError(
                    code: "invalid_schedule",
                    field: "schedule",
                    reason: "never_fires",
                    message: "schedule \"\(cron)\" can never fire"
                )
            }
            self.schedule = cron
        } else {
            self.schedule = nil
        }
        let zone = scheduleTimezone?.trimmingCharacters(in: .whitespaces) ?? defaultTimezone
        guard Self.isIANATimeZone(zone) else {
            throw ValidationError(
                code: "invalid_timezone",
                field: "schedule_timezone",
                reason: "unknown",
                message: "unknown IANA time zone \"\(zone)\""
            )
        }
        self.scheduleTimezone = zone
        guard let policy = OverlapPolicy(rawValue: overlapPolicy ?? "queue") else {
            throw ValidationError(
                code: "invalid_overlap_policy",
                field: "overlap_policy",
                reason: "unknown",
                message: "overlap_policy must be queue or reject"
            )
        }
        self.overlapPolicy = policy
        guard let spec else { throw ValidationError.spec("spec", "required", "spec is required") }
        // What is saved is strict: a key the spec does not define is refused by name, and every field is named from
        // the body's root (`spec.source.paths`), as the UI's form maps them.
        if let unknown = JobSpec.unknownFields(spec).first { throw ValidationError.unknownField("spec.\(unknown)") }
        do {
            self.spec = try JobSpec.parse(spec)
        } catch var error as ValidationError {
            if error.field != "spec" { error.field = "spec.\(error.field)" }
            throw error
        }
    }

    /// True for names in the IANA database (`Europe/Berlin`, `UTC`); abbreviations such as `EST` are refused.
    public static func isIANATimeZone(_ identifier: String) -> Bool {
        guard !identifier.isEmpty, identifier.count <= 64 else { return false }
        return TimeZone.knownTimeZoneIdentifiers.contains(identifier) || identifier == "UTC"
    }
}
