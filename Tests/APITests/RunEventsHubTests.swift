import Foundation
import NIOCore
import Testing

@testable import Core
@testable import bastion_api

@Suite struct RunEventsHubTests {
    static func event(_ seq: Int64, run: String = "r") -> RunEvent {
        RunEvent(runId: run, seq: seq, ts: 0, level: .info, kind: "k", message: "m")
    }

    @Test func deliversToSubscribersOfThatRunOnly() async {
        let hub = RunEventsHub()
        let a = hub.subscribe(runId: "r")
        let b = hub.subscribe(runId: "other")
        hub.publish([Self.event(1), Self.event(1, run: "other"), Self.event(2)])
        #expect(
            await a.next() == [
                .event(Self.event(1), frame: ByteBuffer(string: Self.event(1).json)),
                .event(Self.event(2), frame: ByteBuffer(string: Self.event(2).json)),
            ],
            "a commit's events reach a subscriber together, in order"
        )
        #expect(await b.next() == [.event(Self.event(1, run: "other"), frame: ByteBuffer(string: Self.event(1, run: "other").json))])
        a.cancel()
        b.cancel()
    }

    @Test func pendingDeliveriesAreTakenTogetherInOrder() async {
        let hub = RunEventsHub()
        let subscription = hub.subscribe(runId: "r")
        for seq in 1...5 { hub.publish([Self.event(Int64(seq))]) }
        subscription.poke()
        let taken = await subscription.next() ?? []
        #expect(taken.count == 6, "five commits and a tick, all pending, in one take")
        #expect(taken.compactMap { if case .event(let event, _) = $0 { event.seq } else { nil } } == [Int64(1), 2, 3, 4, 5])
        #expect(taken.last == .tick)
        subscription.cancel()
        #expect(await subscription.next() == nil)
    }

    @Test func overflowKeepsTheNewestAndFlagsLag() async {
        let hub = RunEventsHub(capacity: 8)
        let subscription = hub.subscribe(runId: "r")
        hub.publish((1...20).map { Self.event($0) })
        #expect(subscription.takeLagged())
        #expect(!subscription.takeLagged(), "the flag is taken once")
        subscription.finish()
        var seqs: [Int64] = []
        while let deliveries = await subscription.next() {
            for case .event(let event, _) in deliveries { seqs.append(event.seq) }
        }
        #expect(seqs == Array(13...20))
        subscription.cancel()
    }

    @Test func closeEndsEveryStreamAndRefusesNewOnes() async {
        let hub = RunEventsHub()
        let open = hub.subscribe(runId: "r")
        hub.close()
        while await open.next() != nil {}  // ends instead of waiting forever
        let late = hub.subscribe(runId: "r")
        while await late.next() != nil {}
        hub.publish([Self.event(1)])
        #expect(hub.isClosed && hub.subscriberCount == 0)
    }

    @Test func idleEntriesWithoutSubscribersArePruned() {
        let hub = RunEventsHub(capacity: 8, idleTTL: .seconds(600))
        let subscription = hub.subscribe(runId: "r")
        let kept = hub.subscribe(runId: "busy")
        subscription.cancel()
        #expect(hub.entryCount == 2)
        #expect(hub.prune(now: .now + .seconds(599)) == 0)
        #expect(hub.prune(now: .now + .seconds(601)) == 1, "only the run without subscribers goes")
        #expect(hub.entryCount == 1)
        #expect(hub.prune(now: .now + .seconds(6000)) == 0, "a run with a subscriber is never pruned")
        kept.cancel()
    }
}
