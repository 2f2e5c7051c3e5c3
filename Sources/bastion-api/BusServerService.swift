import Logging
import ServiceLifecycle
import Shared

/// Owns the bus server for the life of the API: consumes what peers send, and on graceful shutdown closes every
/// connection and removes the socket file.
struct BusServerService: Service {
    let bus: BusServer
    let logger: Logger

    func run() async throws {
        for await event in bus.events.cancelOnGracefulShutdown() {
            switch event {
            case .message(_, .event(let event)):
                logger.trace("Run event from bus", metadata: ["run.id": "\(event.runId)", "seq": "\(event.seq)"])
            case .hello, .message, .disconnected:
                break
            }
        }
        await bus.shutdown()
    }
}
