import Core
import Testing

/// `spec.hooks` (docs/hooks.md): parsed in both spec shapes, stored in the V1 form, every bad value refused by name.
@Suite struct JobHooksTests {
    static let target: JSONValue = ["type": "local_dir", "base_dir": "/backups"]

    static func v1(_ hooks: JSONValue) -> JSONValue {
        ["v": 1, "type": "filesystem", "source": ["paths": ["/etc"]], "target": target, "hooks": hooks]
    }

    static func v2(_ hooks: JSONValue) -> JSONValue {
        [
            "v": 2, "source": ["type": "filesystem", "version": 1, "config": ["paths": ["/etc"]]],
            "target": ["type": "local_dir", "version": 1, "config": ["base_dir": "/backups"]], "hooks": hooks,
        ]
    }

    static func refusal(_ spec: JSONValue) -> (code: String, field: String, reason: String)? {
        do {
            _ = try JobInput(name: "j", schedule: nil, scheduleTimezone: nil, overlapPolicy: nil, spec: spec, defaultTimezone: "UTC")
            return nil
        } catch let error as ValidationError {
            return (error.code, error.field, error.reason)
        } catch {
            return ("?", "\(error)", "")
        }
    }

    @Test func bothShapesParseWithDefaultsAndTheStoredFormKeepsThem() throws {
        let hooks: JSONValue = [
            "before": [["argv": ["/usr/bin/docker", "stop", "app"], "cwd": "/srv", "timeout_seconds": 60, "env": ["KEY": "value"]]],
            "after": [["argv": ["/usr/bin/docker", "start", "app"]]],
            "continue_on_before_failure": true,
        ]
        for spec in [Self.v1(hooks), Self.v2(hooks)] {
            let parsed = try JobSpec.parse(spec)
            #expect(
                parsed.hooks.before == [
                    JobHooks.Hook(argv: ["/usr/bin/docker", "stop", "app"], cwd: "/srv", timeoutSeconds: 60, env: ["KEY": "value"])
                ]
            )
            #expect(parsed.hooks.after == [JobHooks.Hook(argv: ["/usr/bin/docker", "start", "app"], cwd: "/", timeoutSeconds: 300, env: [:])])
            #expect(parsed.hooks.continueOnBeforeFailure)
            #expect(Self.refusal(spec) == nil)
            // The stored V1 form parses back to the same hooks (what a worker and an agent read).
            #expect(try JobSpec.parse(parsed.storedJSON).hooks == parsed.hooks)
        }
        // No hooks: nothing stored, so the stored form of a job without hooks is unchanged.
        let plain = try JobSpec.parse(Self.v1(.null))
        #expect(plain.hooks.isEmpty && plain.storedJSON["hooks"] == nil)
        #expect(try JobSpec.parse(Self.v1(["before": [], "after": []])).storedJSON["hooks"] == nil)
        // A flag without a hook is no hook at all, so the stored form reads back as the same spec.
        let flagOnly = try JobSpec.parse(Self.v1(["continue_on_before_failure": true]))
        let reread = try JobSpec.parse(flagOnly.storedJSON)
        #expect(flagOnly.hooks == JobHooks() && reread == flagOnly)
    }

    @Test func unknownKeysAreRefusedWithTheirDottedPathInBothShapes() {
        let cases: [(JSONValue, String)] = [
            (["befor": []], "spec.hooks.befor"),
            (["before": [["argv": ["/bin/true"], "tmeout": 5]]], "spec.hooks.before.0.tmeout"),
            (["after": [["argv": ["/bin/true"]], ["argv": ["/bin/true"], "shell": true]]], "spec.hooks.after.1.shell"),
        ]
        for (hooks, field) in cases {
            for spec in [Self.v1(hooks), Self.v2(hooks)] {
                let refused = Self.refusal(spec)
                #expect(refused?.code == "unknown_field" && refused?.field == field, "\(hooks): \(String(describing: refused))")
            }
        }
    }

    @Test func badValuesAreRefusedByField() {
        let long = String(repeating: "x", count: 4097)
        let cases: [(JSONValue, String, String)] = [
            ("docker stop app", "hooks", "not_object"),
            (["before": ["argv": ["/bin/true"]]], "hooks.before", "invalid"),
            (["before": ["/bin/true"]], "hooks.before.0", "not_object"),
            (["before": [["cwd": "/"]]], "hooks.before.0.argv", "required"),
            (["before": [["argv": []]]], "hooks.before.0.argv", "required"),
            (["before": [["argv": "/bin/true"]]], "hooks.before.0.argv", "required"),
            (["before": [["argv": ["docker", "stop"]]]], "hooks.before.0.argv.0", "not_absolute"),
            (["before": [["argv": ["/bin/echo", ""]]]], "hooks.before.0.argv.1", "invalid"),
            (["before": [["argv": ["/bin/echo", 3]]]], "hooks.before.0.argv.1", "invalid"),
            (["before": [["argv": ["/bin/echo", "a\u{0}b"]]]], "hooks.before.0.argv.1", "invalid"),
            (["before": [["argv": ["/bin/echo", .string(long)]]]], "hooks.before.0.argv.1", "too_long"),
            (["before": [["argv": .array(Array(repeating: "/bin/echo", count: 257))]]], "hooks.before.0.argv", "too_many"),
            (["after": [["argv": ["/bin/true"], "cwd": "srv"]]], "hooks.after.0.cwd", "not_absolute"),
            (["after": [["argv": ["/bin/true"], "cwd": 1]]], "hooks.after.0.cwd", "invalid"),
            (["after": [["argv": ["/bin/true"], "timeout_seconds": 0]]], "hooks.after.0.timeout_seconds", "invalid"),
            (["after": [["argv": ["/bin/true"], "timeout_seconds": 86401]]], "hooks.after.0.timeout_seconds", "invalid"),
            (["after": [["argv": ["/bin/true"], "timeout_seconds": .number(1.5)]]], "hooks.after.0.timeout_seconds", "invalid"),
            (["after": [["argv": ["/bin/true"], "timeout_seconds": "60"]]], "hooks.after.0.timeout_seconds", "invalid"),
            (["after": [["argv": ["/bin/true"], "env": ["A": 1]]]], "hooks.after.0.env.A", "invalid"),
            (["after": [["argv": ["/bin/true"], "env": ["1A": "x"]]]], "hooks.after.0.env", "invalid_name"),
            (["after": [["argv": ["/bin/true"], "env": ["A=B": "x"]]]], "hooks.after.0.env", "invalid_name"),
            (["after": [["argv": ["/bin/true"], "env": ["BASTION_STATUS": "success"]]]], "hooks.after.0.env.BASTION_STATUS", "reserved"),
            (["after": [["argv": ["/bin/true"], "env": ["A": "x\u{0}"]]]], "hooks.after.0.env.A", "invalid"),
            (["after": [["argv": ["/bin/true"], "env": ["A": "x"], "cwd": "/"], "x"]], "hooks.after.1", "not_object"),
            (["after": .array(Array(repeating: ["argv": ["/bin/true"]], count: 17))], "hooks.after", "too_many"),
            (["continue_on_before_failure": "yes"], "hooks.continue_on_before_failure", "invalid"),
        ]
        for (hooks, field, reason) in cases {
            for spec in [Self.v1(hooks), Self.v2(hooks)] {
                let refused = Self.refusal(spec)
                #expect(
                    refused?.code == "invalid_spec" && refused?.field == "spec.\(field)" && refused?.reason == reason,
                    "\(hooks): \(String(describing: refused))"
                )
            }
        }
        let env = JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<65).map { ("V\($0)", JSONValue.string("x")) }))
        #expect(Self.refusal(Self.v1(["after": [["argv": ["/bin/true"], "env": env]]]))?.reason == "too_many")
        // The limits themselves are accepted.
        let fullEnv = JSONValue.object(
            Dictionary(uniqueKeysWithValues: (0..<64).map { ("V\($0)", JSONValue.string(String(repeating: "v", count: 4096))) })
        )
        let widest: JSONValue = [
            "before": .array(
                Array(repeating: ["argv": .array(Array(repeating: .string(String(repeating: "/", count: 4096)), count: 256))], count: 16)
            ),
            "after": [["argv": ["/bin/true"], "timeout_seconds": 86400, "env": fullEnv]],
        ]
        #expect(Self.refusal(Self.v1(widest)) == nil)
        #expect(Self.refusal(Self.v1(["after": [["argv": ["/bin/true"], "timeout_seconds": 1]]])) == nil)
    }
}
