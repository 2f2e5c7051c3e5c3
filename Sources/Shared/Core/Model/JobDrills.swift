import Foundation

/// A job's `drills` section (docs/architecture.md, "Restore drills"): verify runs fired by their own cron, in the job's
/// `schedule_timezone`, of the newest or a random present snapshot; with `test_restore` each drill also restores the
/// snapshot into a scratch directory, compares every entry with the snapshot's index and removes it.
public struct JobDrills: Sendable, Equatable {
    /// Which snapshot a drill checks.
    public enum Pick: String, Sendable, CaseIterable {
        case newest, random
    }

    public static let keys: Set<String> = ["enabled", "schedule", "pick", "test_restore"]

    public var enabled: Bool
    /// A cron expression (as `jobs.schedule`); nil: drills only when asked (`POST /api/jobs/{id}/drill`).
    public var schedule: String?
    public var pick: Pick
    public var testRestore: Bool

    public init(enabled: Bool = true, schedule: String? = nil, pick: Pick = .newest, testRestore: Bool = false) {
        self.enabled = enabled
        self.schedule = schedule
        self.pick = pick
        self.testRestore = testRestore
    }

    /// The schedule that fires drills: set and enabled.
    public var activeSchedule: String? { enabled ? schedule : nil }

    /// The stored form.
    public var json: JSONValue {
        .object([
            "enabled": .bool(enabled), "schedule": schedule.map(JSONValue.string) ?? .null, "pick": .string(pick.rawValue),
            "test_restore": .bool(testRestore),
        ])
    }

    /// Parses `spec.drills`; nil when absent. Every problem is `invalid_spec` naming its field.
    public static func parse(_ value: JSONValue?) throws -> JobDrills? {
        let object: [String: JSONValue]
        switch value {
        case nil, .null?: return nil
        case .object(let given)?: object = given
        default: throw ValidationError.spec("drills", "not_object", "drills must be an object {enabled, schedule, pick, test_restore}")
        }
        var drills = JobDrills()
        switch object["enabled"] {
        case nil, .null?: break
        case .bool(let enabled)?: drills.enabled = enabled
        default: throw ValidationError.spec("drills.enabled", "invalid", "drills.enabled must be true or false")
        }
        switch object["test_restore"] {
        case nil, .null?: break
        case .bool(let testRestore)?: drills.testRestore = testRestore
        default: throw ValidationError.spec("drills.test_restore", "invalid", "drills.test_restore must be true or false")
        }
        switch object["pick"] {
        case nil, .null?: break
        case .string(let raw)?:
            guard let pick = Pick(rawValue: raw) else {
                throw ValidationError.spec("drills.pick", "invalid", "drills.pick must be newest or random")
            }
            drills.pick = pick
        default: throw ValidationError.spec("drills.pick", "invalid", "drills.pick must be newest or random")
        }
        switch object["schedule"] {
        case nil, .null?: break
        case .string(let text)?:
            let cron = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !cron.isEmpty else { break }
            let expression: CronExpression
            do {
                expression = try CronExpression(parsing: cron)
            } catch let error as CronExpression.ParseError {
                throw ValidationError.spec("drills.schedule", "invalid_cron", error.message)
            }
            guard expression.canFire else {
                throw ValidationError.spec("drills.schedule", "never_fires", "drills.schedule \"\(cron)\" can never fire")
            }
            drills.schedule = cron
        default: throw ValidationError.spec("drills.schedule", "invalid", "drills.schedule must be a cron expression")
        }
        return drills
    }
}
