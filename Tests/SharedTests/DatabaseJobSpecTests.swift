import Core
import Testing

/// `postgres` and `mariadb` job specs (docs/databases.md): both shapes, defaults, unknown keys refused by name, values
/// type-checked.
@Suite struct DatabaseJobSpecTests {
    static let target: JSONValue = ["type": "local_dir", "base_dir": "/backups"]

    static func field(_ spec: JSONValue) -> (code: String, field: String)? {
        do {
            _ = try JobSpecUnknownFieldsTests.save(spec)
            return nil
        } catch let error as ValidationError {
            return (error.code, error.field)
        } catch {
            return ("?", "\(error)")
        }
    }

    @Test func bothShapesParseToTheSameSourceWithDefaults() throws {
        let v1 = try JobSpec.parse([
            "v": 1, "type": "postgres",
            "source": ["host": "127.0.0.1", "port": 5433, "user": "backup", "secret_name": "pg-main", "databases": ["app", "wiki"]],
            "target": Self.target,
        ])
        let v2 = try JobSpec.parse([
            "v": 2,
            "source": [
                "type": "postgres", "version": 1,
                "config": ["host": "127.0.0.1", "port": 5433, "user": "backup", "secret_name": "pg-main", "databases": ["app", "wiki"]],
            ],
            "target": ["type": "local_dir", "config": ["base_dir": "/backups"]],
        ])
        #expect(v1.source == v2.source)
        guard case .database(let source) = v1.source else {
            Issue.record("not a database source")
            return
        }
        #expect(source.engine == .postgres && source.port == 5433 && source.globals && source.databases == ["app", "wiki"])
        #expect(v1.type == "postgres")
        let defaults = try JobSpec.parse(["v": 1, "type": "mariadb", "source": [:], "target": Self.target])
        guard case .database(let maria) = defaults.source else {
            Issue.record("not a database source")
            return
        }
        #expect(maria.host == "/run/mysqld/mysqld.sock" && maria.port == 3306 && maria.databases.isEmpty && !maria.verifyScratchRestore)
        // The stored form parses back to the same.
        #expect(try JobSpec.parse(v1.storedJSON) == v1)
    }

    @Test func unknownKeysAndBadValuesAreRefusedByName() {
        let cases: [(JSONValue, String, String)] = [
            (["host": "db", "password": "x"], "unknown_field", "spec.source.password"),
            (["verify_scratch_restore": true], "unknown_field", "spec.source.verify_scratch_restore"),
            (["port": 70000], "invalid_spec", "spec.source.port"),
            (["port": "5432"], "invalid_spec", "spec.source.port"),
            (["host": "-oProxyCommand=x"], "invalid_spec", "spec.source.host"),
            (["host": "db host"], "invalid_spec", "spec.source.host"),
            (["databases": "app"], "invalid_spec", "spec.source.databases"),
            (["databases": ["a\nb"]], "invalid_spec", "spec.source.databases"),
            (["globals": "yes"], "invalid_spec", "spec.source.globals"),
            (["secret_name": "a/b"], "invalid_spec", "spec.source.secret_name"),
            (["user": ""], "invalid_spec", "spec.source.user"),
        ]
        for (source, code, field) in cases {
            let found = Self.field(["v": 1, "type": "postgres", "source": source, "target": Self.target])
            #expect(found?.code == code && found?.field == field, "\(source): \(String(describing: found))")
        }
        let v2 = Self.field([
            "v": 2, "source": ["type": "mariadb", "config": ["host": "/run/mysqld/mysqld.sock", "pasword": "x"]],
            "target": ["type": "local_dir", "config": ["base_dir": "/b"]],
        ])
        #expect(v2?.field == "spec.source.config.pasword")
    }

    @Test func anIncrementalSettingIsRefusedSinceADumpIsAlwaysWhole() {
        let found = Self.field([
            "v": 1, "type": "postgres", "source": [:], "target": Self.target, "pipeline": ["incremental": ["full_every": 7]],
        ])
        #expect(found?.code == "invalid_spec" && found?.field == "spec.pipeline.incremental", "\(String(describing: found))")
    }
}
