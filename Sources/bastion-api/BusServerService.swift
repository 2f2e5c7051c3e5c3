import Logging
import ServiceLifecycle
import Shared

/// Owns the bus server for the life of the API: feeds workers' run events into the WebSocket hub, and on graceful
/// shutdown closes every connection and removes the socket file.
struct BusServerService: Service {
    let bus: BusServer
    let hub: RunEventsHub
    let logger: Logger

    func run() async throws {
        for await event in bus.events.cancelOnGracefulShutdown() {
            switch event {
            case .message(_, .event(let event)):
                hub.publish([event])
            case .hello, .message, .disconnected:
                break
            }
        }
        await bus.shutdown()
    }
}
