import Bus
import Logging
import ServiceLifecycle

/// Owns the bus server for the life of the API: feeds workers' run events and progress into the WebSocket hub, and on graceful
/// shutdown closes every connection and removes the socket file.
struct BusServerService: Service {
    let bus: BusServer
    let hub: RunEventsHub
    /// A worker's `wake runs` (a scheduled run enqueued) may be for an agent's node.
    let agents: AgentRelay
    let logger: Logger

    func run() async throws {
        for await event in bus.events.cancelOnGracefulShutdown() {
            switch event {
            case .message(_, .events(let events)):
                hub.publish(events)
            case .message(_, .progress(let update)):
                hub.publishProgress(update)
            case .message(_, .wake(.runs)):
                agents.runsWoken()
            case .hello, .message, .disconnected:
                break
            }
        }
        await bus.shutdown()
    }
}

/// Closes the run-events hub at the start of graceful shutdown. Listed after the HTTP application, it is shut
/// down first (reverse order): every WebSocket stream ends with `1001 going away`, so the server's drain of
/// in-flight connections finishes at once instead of waiting for clients that never leave.
struct RunEventsHubService: Service {
    let hub: RunEventsHub

    func run() async throws {
        try? await gracefulShutdown()
        hub.close()
    }
}
