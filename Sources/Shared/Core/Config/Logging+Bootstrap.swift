import Foundation
import Logging
import Synchronization

/// Log bootstrap shared by the three binaries: structured lines on stderr (never block-buffered under a pipe).
public enum BastionLogging {
    private static let once = BootstrapOnce()

    /// Installs the stderr handler once per process; later calls only return a logger. `metadataProvider` adds to
    /// every line (the current trace and span ids when tracing is on, docs/observability.md).
    public static func bootstrap(level: Logger.Level, label: String, metadataProvider: Logger.MetadataProvider? = nil) -> Logger {
        once.run {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
                handler.logLevel = .trace
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

private final class BootstrapOnce: Sendable {
    private let done = Mutex(false)
    func run(_ body: () -> Void) {
        let first = done.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        if first { body() }
    }
}
