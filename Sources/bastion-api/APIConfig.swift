import ArgumentParser
import Core
import Foundation

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

    @Flag(
        name: .customLong("insecure-http"),
        help: "Accept plain HTTP from non-loopback clients (behind no TLS proxy). Env BASTION_INSECURE_HTTP=1; default off."
    )
    var insecureHTTP = false

    @Option(
        name: .customLong("trusted-proxy"),
        help:
            "CIDR of a reverse proxy whose X-Forwarded-* headers are believed; repeatable. Env BASTION_TRUSTED_PROXIES (comma-separated); default 127.0.0.1/32 and ::1/128."
    )
    var trustedProxies: [String] = []

    @Option(
        name: .customLong("allowed-host"),
        help:
            "A host name the API answers to (the Host a browser sends, e.g. backups.example.org), besides localhost and IP addresses; repeatable. Env BASTION_ALLOWED_HOSTS (comma-separated); default none."
    )
    var allowedHosts: [String] = []

    @Option(name: .customLong("ui-dir"), help: "Directory of the web UI's files. Env BASTION_UI_DIR; default ./Public.")
    var uiDirectory: String?

    @Option(
        name: .customLong("hub-timezone"),
        help: "IANA time zone of jobs created without one (and shown to the UI). Env BASTION_HUB_TIMEZONE; default UTC."
    )
    var hubTimezone: String?

    @Option(
        name: .customLong("agent-events-per-second"),
        help: "Events one agent may send per second (a burst of twice as many). Env BASTION_AGENT_EVENTS_PER_SECOND; default 500."
    )
    var agentEventsPerSecond: Int?

    @Option(
        name: .customLong("agent-events-per-run"),
        help: "Events stored per agent run; past it they are acknowledged and dropped. Env BASTION_AGENT_EVENTS_PER_RUN; default 100000."
    )
    var agentEventsPerRun: Int?
}

/// The API's resolved configuration.
struct APIConfig: Sendable {
    var common: CommonConfig
    var host: String
    var port: Int
    var webSocketCloseDelay: Duration = .seconds(30)
    var network = NetworkPolicy()
    /// Sessions last 7 days from login (no sliding renewal), as the original.
    var sessionTTL: Int64 = 7 * 86400
    var uiDirectory = "./Public"
    /// The time zone of jobs created without one.
    var hubTimezone = "UTC"
    /// What one agent may send (docs/agents.md, "Limits").
    var agentLimits = AgentLimits()
    /// Every setting read at start with its source, for `GET /api/system` (the common options first, added by `main`).
    var runtime: [RuntimeSetting] = []

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
        webSocketCloseDelay = .milliseconds(Int64(saturating: delay * 1000))
        let insecure = try resolver.resolve(options.insecureHTTP ? true : nil, env: "BASTION_INSECURE_HTTP", default: false) {
            ["1", "true", "yes"].contains($0.lowercased()) ? true : (["0", "false", "no"].contains($0.lowercased()) ? false : nil)
        }
        let proxies = try resolver.resolve(options.trustedProxies.isEmpty ? nil : options.trustedProxies, env: "BASTION_TRUSTED_PROXIES", default: [])
        {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var cidrs: [CIDR] = []
        for text in proxies {
            guard let cidr = CIDR(text) else {
                throw ConfigError.invalidValue(option: "--trusted-proxy", value: text, reason: "not an IPv4/IPv6 address or CIDR")
            }
            cidrs.append(cidr)
        }
        network = NetworkPolicy(trustedProxies: cidrs.isEmpty ? CIDR.loopback : cidrs, insecureHTTP: insecure)
        let hosts = try resolver.resolve(options.allowedHosts.isEmpty ? nil : options.allowedHosts, env: "BASTION_ALLOWED_HOSTS", default: []) {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        for host in hosts where NetworkPolicy.hostName(host) == nil || host.contains(":") {
            throw ConfigError.invalidValue(option: "--allowed-host", value: host, reason: "not a host name (no scheme, port or path)")
        }
        network.allowedHosts = Set(hosts.compactMap(NetworkPolicy.hostName))
        uiDirectory = try resolver.resolve(options.uiDirectory, env: "BASTION_UI_DIR", default: "./Public")
        hubTimezone = try resolver.resolve(options.hubTimezone, env: "BASTION_HUB_TIMEZONE", default: "UTC")
        guard JobInput.isIANATimeZone(hubTimezone), TimeZone(identifier: hubTimezone) != nil else {
            throw ConfigError.invalidValue(option: "--hub-timezone", value: hubTimezone, reason: "not an IANA time zone")
        }
        let perSecond = try resolver.resolve(
            options.agentEventsPerSecond,
            env: "BASTION_AGENT_EVENTS_PER_SECOND",
            default: AgentLimits().eventsPerSecond
        )
        guard (1...100_000).contains(perSecond) else {
            throw ConfigError.invalidValue(option: "--agent-events-per-second", value: "\(perSecond)", reason: "must be 1...100000")
        }
        let perRun = try resolver.resolve(options.agentEventsPerRun, env: "BASTION_AGENT_EVENTS_PER_RUN", default: Int(AgentLimits().eventsPerRun))
        guard (1...100_000_000).contains(perRun) else {
            throw ConfigError.invalidValue(option: "--agent-events-per-run", value: "\(perRun)", reason: "must be 1...100000000")
        }
        agentLimits = AgentLimits(eventsPerSecond: perSecond, eventsPerRun: Int64(perRun))
        let closeDelay = RuntimeSetting.number(delay)
        runtime = [
            resolver.setting("host", option: "--host", env: "BASTION_HOST", flagGiven: options.host != nil, value: host),
            resolver.setting("port", option: "--port", env: "BASTION_PORT", flagGiven: options.port != nil, value: String(port)),
            resolver.setting(
                "ws_close_delay_seconds",
                option: "--ws-close-delay-seconds",
                env: "BASTION_WS_CLOSE_DELAY_SECONDS",
                flagGiven: options.webSocketCloseDelay != nil,
                value: closeDelay
            ),
            resolver.setting(
                "insecure_http",
                option: "--insecure-http",
                env: "BASTION_INSECURE_HTTP",
                flagGiven: options.insecureHTTP,
                value: insecure ? "true" : "false"
            ),
            resolver.setting(
                "trusted_proxies",
                option: "--trusted-proxy",
                env: "BASTION_TRUSTED_PROXIES",
                flagGiven: !options.trustedProxies.isEmpty,
                value: proxies.isEmpty ? "127.0.0.1/32, ::1/128" : proxies.joined(separator: ", ")
            ),
            resolver.setting(
                "allowed_hosts",
                option: "--allowed-host",
                env: "BASTION_ALLOWED_HOSTS",
                flagGiven: !options.allowedHosts.isEmpty,
                value: hosts.joined(separator: ", ")
            ),
            resolver.setting("ui_dir", option: "--ui-dir", env: "BASTION_UI_DIR", flagGiven: options.uiDirectory != nil, value: uiDirectory),
            resolver.setting(
                "hub_timezone",
                option: "--hub-timezone",
                env: "BASTION_HUB_TIMEZONE",
                flagGiven: options.hubTimezone != nil,
                value: hubTimezone
            ),
            resolver.setting(
                "agent_events_per_second",
                option: "--agent-events-per-second",
                env: "BASTION_AGENT_EVENTS_PER_SECOND",
                flagGiven: options.agentEventsPerSecond != nil,
                value: String(perSecond)
            ),
            resolver.setting(
                "agent_events_per_run",
                option: "--agent-events-per-run",
                env: "BASTION_AGENT_EVENTS_PER_RUN",
                flagGiven: options.agentEventsPerRun != nil,
                value: String(perRun)
            ),
        ]
    }
}
