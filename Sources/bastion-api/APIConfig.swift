import ArgumentParser
import Shared

/// Options only the API takes.
struct APIOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: "Address to listen on. Env BASTION_HOST; default 127.0.0.1.")
    var host: String?

    @Option(name: .customLong("port"), help: "TCP port to listen on (0 picks a free one). Env BASTION_PORT; default 9876.")
    var port: Int?

    @Option(
        name: .customLong("ws-close-delay-seconds"),
        help:
            "Close a run's event WebSocket this long after the run finished and everything was sent. Env BASTION_WS_CLOSE_DELAY_SECONDS; default 30."
    )
    var webSocketCloseDelay: Double?
}

/// The API's resolved configuration.
struct APIConfig: Sendable {
    var common: CommonConfig
    var host: String
    var port: Int
    var webSocketCloseDelay: Duration = .seconds(30)

    init(common: CommonConfig, host: String = "127.0.0.1", port: Int = 9876) {
        self.common = common
        self.host = host
        self.port = port
    }

    init(common: CommonConfig, options: APIOptions, resolver: OptionResolver = OptionResolver()) throws {
        let host = try resolver.resolve(options.host, env: "BASTION_HOST", default: "127.0.0.1")
        let port = try resolver.resolve(options.port, env: "BASTION_PORT", default: 9876)
        guard (0...65535).contains(port) else {
            throw ConfigError.invalidValue(option: "--port", value: "\(port)", reason: "must be 0...65535")
        }
        self.init(common: common, host: host, port: port)
        let delay = try resolver.resolve(options.webSocketCloseDelay, env: "BASTION_WS_CLOSE_DELAY_SECONDS", default: 30)
        guard delay >= 0, delay.isFinite else {
            throw ConfigError.invalidValue(option: "--ws-close-delay-seconds", value: "\(delay)", reason: "must be ≥ 0")
        }
        webSocketCloseDelay = .milliseconds(Int64(delay * 1000))
    }
}
