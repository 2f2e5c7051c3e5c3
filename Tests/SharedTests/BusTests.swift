import Foundation
import Synchronization
import TestClients
import Testing

@testable import Bus
@testable import Core

/// Collects a client's or server's events so tests can wait for them.
final class Recorder<Event: Sendable>: Sendable {
    final class Store: Sendable {
        let events = Mutex<[Event]>([])
    }

    let store = Store()
    let task: Task<Void, Never>

    init(_ stream: AsyncStream<Event>) {
        let store = store
        task = Task {
            for await event in stream { store.events.withLock { $0.append(event) } }
        }
    }

    var all: [Event] { store.events.withLock { $0 } }
}

/// The real libuv bus over a real Unix socket, server and clients in this process on their own loop threads.
@Suite(.serialized) struct BusTests {
    struct Fixture {
        let dir = TemporaryDirectory()
        var path: String { dir.path + "/bus.sock" }

        func server() async throws -> (BusServer, Recorder<BusServer.Event>) {
            let server = BusServer(socketPath: path, logger: testLogger)
            try await server.start()
            return (server, Recorder(server.events))
        }

        func client(_ role: BusRole, _ id: String) -> (BusClient, Recorder<BusClient.Event>) {
            let client = BusClient(
                socketPath: path,
                peer: BusPeer(role: role, id: id),
                backoff: ReconnectBackoff(base: .milliseconds(10), cap: .milliseconds(100)),
                logger: testLogger
            )
            let recorder = Recorder(client.events)
            client.start()
            return (client, recorder)
        }
    }

    static func messages(_ events: [BusClient.Event]) -> [BusMessage] {
        events.compactMap { if case .message(let message) = $0 { return message } else { return nil } }
    }

    static func messages(_ events: [BusServer.Event]) -> [BusMessage] {
        events.compactMap { if case .message(_, let message) = $0 { return message } else { return nil } }
    }

    @Test func roundTripsAndRelay() async throws {
        let fixture = Fixture()
        let (server, serverEvents) = try await fixture.server()
        let (worker, workerEvents) = fixture.client(.worker, "w1")
        let (janitor, janitorEvents) = fixture.client(.janitor, "j1")
        #expect(await eventually { server.connectedPeers().count == 2 })
        #expect(server.connectedPeers().map(\.id).sorted() == ["j1", "w1"])

        // worker → api
        let event = RunEvent(runId: "r1", seq: 1, ts: 1, level: .info, kind: "start", message: "hello")
        worker.send(.events([event]))
        #expect(await eventually { Self.messages(serverEvents.all).contains(.events([event])) })

        // api → worker (not to the janitor)
        server.broadcast(.wake(.runs), to: .worker)
        #expect(await eventually { Self.messages(workerEvents.all).contains(.wake(.runs)) })

        // janitor → api → every worker: wake and cancel are relayed
        janitor.send(.cancel(runId: "r9"))
        #expect(await eventually { Self.messages(workerEvents.all).contains(.cancel(runId: "r9")) })
        try await Task.sleep(for: .milliseconds(50))
        #expect(Self.messages(janitorEvents.all).isEmpty)

        // The socket is private to its owner.
        var info = stat()
        #expect(lstat(fixture.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)

        await worker.shutdown()
        await janitor.shutdown()
        await server.shutdown()
        #expect(access(fixture.path, F_OK) != 0, "socket file removed on shutdown")
    }

    @Test func thousandMessagesArriveInOrderBothWays() async throws {
        let fixture = Fixture()
        let (server, serverEvents) = try await fixture.server()
        let (worker, workerEvents) = fixture.client(.worker, "w1")
        #expect(await eventually { server.connectedPeers().count == 1 })

        for seq in 1...1000 {
            worker.send(.events([RunEvent(runId: "r", seq: Int64(seq), ts: 0, level: .info, kind: "k", message: "m\(seq)")]))
            server.broadcast(.cancel(runId: "run-\(seq)"))
        }
        #expect(await eventually { Self.messages(serverEvents.all).count == 1000 && Self.messages(workerEvents.all).count == 1000 })
        let seqs = Self.messages(serverEvents.all).compactMap { if case .events(let e) = $0 { return e.first?.seq } else { return nil } }
        #expect(seqs == Array(1...1000))
        let cancels = Self.messages(workerEvents.all).compactMap { if case .cancel(let id) = $0 { return id } else { return nil } }
        #expect(cancels == (1...1000).map { "run-\($0)" })
        await worker.shutdown()
        await server.shutdown()
    }

    @Test func clientsReconnectAfterServerRestart() async throws {
        let fixture = Fixture()
        var (server, _) = try await fixture.server()
        let (worker, workerEvents) = fixture.client(.worker, "w1")
        #expect(await eventually { worker.isConnected && server.connectedPeers().count == 1 })

        await server.shutdown()
        #expect(await eventually { !worker.isConnected })

        let serverEvents: Recorder<BusServer.Event>
        (server, serverEvents) = try await fixture.server()
        #expect(await eventually { server.connectedPeers().map(\.id) == ["w1"] })
        worker.send(.wake(.jobs))
        #expect(await eventually { Self.messages(serverEvents.all).contains(.wake(.jobs)) })
        server.broadcast(.wake(.notifications))
        #expect(await eventually { Self.messages(workerEvents.all).contains(.wake(.notifications)) })
        #expect(workerEvents.all.filter { $0 == .connected }.count == 2)
        await worker.shutdown()
        await server.shutdown()
    }

    @Test(arguments: [
        ("malformed", Array("{\"type\": nope".utf8)),
        ("unknown type", Array(#"{"type":"reboot"}"#.utf8)),
    ])
    func badPeerIsDisconnectedOthersUnharmed(_ name: String, _ payload: [UInt8]) async throws {
        let fixture = Fixture()
        let (server, serverEvents) = try await fixture.server()
        let (worker, workerEvents) = fixture.client(.worker, "w1")
        #expect(await eventually { server.connectedPeers().count == 1 })

        let fd = try #require(UnixSocket.connect(to: fixture.path))
        defer { close(fd) }
        let length = UInt32(payload.count)
        UnixSocket.writeAll(fd, [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + payload)
        // The server closes the bad connection: our read sees EOF.
        #expect(UnixSocket.readExactly(fd, 1) == nil)

        server.broadcast(.wake(.runs))
        worker.send(.wake(.jobs))
        #expect(await eventually { Self.messages(workerEvents.all).contains(.wake(.runs)) })
        #expect(await eventually { Self.messages(serverEvents.all).contains(.wake(.jobs)) })
        #expect(worker.isConnected)
        await worker.shutdown()
        await server.shutdown()
    }

    @Test func oversizedFrameClosesOnlyThatConnection() async throws {
        let fixture = Fixture()
        let (server, _) = try await fixture.server()
        let (worker, workerEvents) = fixture.client(.worker, "w1")
        #expect(await eventually { server.connectedPeers().count == 1 })
        let fd = try #require(UnixSocket.connect(to: fixture.path))
        defer { close(fd) }
        // Claims 16 MiB; the server must refuse at the header, not buffer it.
        UnixSocket.writeAll(fd, [0x01, 0x00, 0x00, 0x00] + Array(repeating: 0x41, count: 1000))
        #expect(UnixSocket.readExactly(fd, 1) == nil)
        server.broadcast(.wake(.runs))
        #expect(await eventually { Self.messages(workerEvents.all).contains(.wake(.runs)) })
        await worker.shutdown()
        await server.shutdown()
    }

    @Test func staleSocketIsReplacedLiveOneIsNot() async throws {
        let fixture = Fixture()
        // A socket file nobody listens on, as a crashed API leaves behind.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(fixture.path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(access(fixture.path, F_OK) == 0)

        let (server, _) = try await fixture.server()
        let second = BusServer(socketPath: fixture.path, logger: testLogger)
        await #expect(throws: BusServerError.addressInUse(fixture.path)) { try await second.start() }
        await second.shutdown()
        // The refused server must leave the live server's socket alone.
        #expect(UnixSocket.canConnect(to: fixture.path))
        await server.shutdown()
    }
}
