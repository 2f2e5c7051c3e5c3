import ArgumentParser
import Testing

@testable import Core

@Suite struct ConfigTests {
    @Test func flagBeatsEnvironmentBeatsDefault() throws {
        let env = OptionResolver(environment: ["BASTION_DATA_DIR": "/from/env", "BASTION_LOG": "debug"])
        let flagged = try CommonOptions.parse(["--data-dir", "/from/flag"]).resolve(env)
        #expect(flagged.dataDirectory.path == "/from/flag")
        #expect(flagged.logLevel == .debug)

        let fromEnv = try CommonOptions.parse([]).resolve(env)
        #expect(fromEnv.dataDirectory.path == "/from/env")

        let defaults = try CommonOptions.parse([]).resolve(OptionResolver(environment: [:]))
        #expect(defaults.dataDirectory.path.hasSuffix("/data"))
        #expect(defaults.logLevel == .info)
        #expect(defaults.safetyPoll == .seconds(30))
    }

    @Test func badValuesAreErrorsNamingTheirSource() {
        #expect(throws: ConfigError.invalidEnvironment(name: "BASTION_SAFETY_POLL_SECONDS", value: "soon")) {
            try CommonOptions.parse([]).resolve(OptionResolver(environment: ["BASTION_SAFETY_POLL_SECONDS": "soon"]))
        }
        #expect(throws: ConfigError.self) {
            try CommonOptions.parse(["--log-level", "loud"]).resolve(OptionResolver(environment: [:]))
        }
        #expect(throws: ConfigError.self) {
            try CommonOptions.parse(["--safety-poll-seconds", "0"]).resolve(OptionResolver(environment: [:]))
        }
    }

    @Test func helpDocumentsEveryOption() {
        let help = CommonOptions.helpMessage()
        for option in ["--data-dir", "BASTION_DATA_DIR", "--log-level", "BASTION_LOG", "--safety-poll-seconds"] {
            #expect(help.contains(option), "help lacks \(option)")
        }
    }
}
