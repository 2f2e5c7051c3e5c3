import Core
import Foundation
import Logging

/// A fresh temporary data directory, removed when the value is deinitialized.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init() {
        // Unix socket paths are limited to 108 bytes: keep temp paths short.
        let base = "/tmp/bst-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    public var dataDirectory: DataDirectory { DataDirectory(path: path + "/data") }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

public let testLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// Polls `condition` until true or `timeout` elapses.
public func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
