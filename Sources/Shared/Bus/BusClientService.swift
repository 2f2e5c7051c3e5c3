import Core
import Logging
import ServiceLifecycle

/// Runs a `BusClient` for the life of the process and hands each event to `onEvent`.
///
/// On graceful shutdown it closes the connection. Worker and janitor both use it; what an event means is the
/// caller's business (typically: signal a `WakeSignal`).
public struct BusClientService: Service {
    public let client: BusClient
    private let onEvent: @Sendable (BusClient.Event) -> Void

    public init(client: BusClient, onEvent: @escaping @Sendable (BusClient.Event) -> Void) {
        self.client = client
        self.onEvent = onEvent
    }

    public func run() async throws {
        client.start()
        for await event in client.events.cancelOnGracefulShutdown() {
            onEvent(event)
        }
        await client.shutdown()
    }
}
