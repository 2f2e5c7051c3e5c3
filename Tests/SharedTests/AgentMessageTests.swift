import Core
import Testing

/// The agent link's one decoder (docs/agents.md, "Protocol errors"): every message round-trips, and anything else is
/// an `AgentProtocolError`, never a trap.
struct AgentMessageTests {
    static let event = AgentMessage.AgentEvent(aseq: 3, level: .warn, kind: "file_skipped", message: "skipped /x", fields: .object(["path": "/x"]))

    static let messages: [AgentMessage] = [
        .hello(
            .init(
                agentId: "a-1",
                name: "web 1",
                heartbeatSeconds: 15,
                info: ["version": "0.1.0"],
                capabilities: .object(["backup": .array(["sqlite"])])
            )
        ),
        .hello(.init()),
        .ping, .pong, .rotateKeyAck,
        .ack(taskId: "run-1"),
        .runEvent(runId: "run-1", claimToken: "tok", event),
        .runEvents(runId: "run-1", claimToken: "tok", [event, .init(aseq: 4, level: .info, kind: "log", message: "", fields: nil)]),
        .progress(runId: "run-1", claimToken: "tok", RunProgress(kind: "backup", stage: "copy", ts: 5, done: .init(bytes: 10))),
        .taskResult(
            .init(taskId: "run-1", runId: "run-1", claimToken: "tok", status: .failed, summary: .object([:]), errorCode: "io_error", error: "no")
        ),
        .helloAck(agentId: "a-1", idleTimeoutSeconds: 45),
        .task(taskId: "run-1", claimToken: "tok", task: .object(["spec": .object([:])])),
        .eventAck(runId: "run-1", aseq: 0),
        .resultAck(runId: "run-1"), .cancelRunTask(runId: "run-1"), .taskRevoked(runId: "run-1"),
        .rotateKey(agentKey: "AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB"),
    ]

    @Test(arguments: messages) func everyMessageRoundTrips(_ message: AgentMessage) throws {
        #expect(try AgentMessage.decode(message.text) == message)
    }

    @Test(arguments: [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        (#"{"type":"ping"}"#, "v is not 1"),
        (#"{"v":2,"type":"ping"}"#, "v is not 1"),
        (#"{"v":1,"type":"take_over"}"#, "unknown type"),
        (#"{"v":1,"type":"ping","x":1}"#, "unknown field \"x\""),
        (#"{"v":1,"type":"hello","heartbeat_seconds":1e19}"#, "heartbeat_seconds"),
        (#"{"v":1,"type":"hello","heartbeat_seconds":1.5}"#, "heartbeat_seconds"),
        (#"{"v":1,"type":"hello","heartbeat_seconds":0}"#, "heartbeat_seconds"),
        (#"{"v":1,"type":"hello","info":{"version":7}}"#, "info.version"),
        (#"{"v":1,"type":"ack","task_id":"../../etc"}"#, "task_id is not an id"),
        (#"{"v":1,"type":"ack","task_id":""}"#, "task_id is not an id"),
        (#"{"v":1,"type":"event_ack","run_id":"r","aseq":-1}"#, "aseq"),
        (#"{"v":1,"type":"run_event","run_id":"r","claim_token":"t","aseq":9007199254740993,"kind":"log","message":""}"#, "aseq"),
        (#"{"v":1,"type":"run_event","run_id":"r","claim_token":"t","aseq":1,"kind":"Log!","message":""}"#, "kind"),
        (#"{"v":1,"type":"run_event","run_id":"r","claim_token":"t","aseq":1,"level":"fatal","kind":"log","message":""}"#, "level"),
        (#"{"v":1,"type":"run_events","run_id":"r","claim_token":"t","events":[]}"#, "events"),
        (#"{"v":1,"type":"run_events","run_id":"r","claim_token":"t","events":[{"aseq":1,"kind":"log","message":"","extra":1}]}"#, "extra"),
        (#"{"v":1,"type":"task_result","task_id":"r","run_id":"r","claim_token":"t","status":"won"}"#, "status"),
        (#"{"v":1,"type":"progress","run_id":"r","claim_token":"t","progress":{"v":2}}"#, "progress"),
        (#"{"v":1,"type":"rotate_key","agent_key":"a b"}"#, "agent_key"),
    ])
    func anythingElseIsAProtocolError(_ text: String, _ reason: String) {
        #expect {
            _ = try AgentMessage.decode(text)
        } throws: { error in
            (error as? AgentProtocolError)?.reason.contains(reason) == true
        }
    }

    @Test func sizesAreBounded() {
        let long = String(repeating: "x", count: AgentMessage.Limits.messageBytes + 1)
        let frame = #"{"v":1,"type":"run_event","run_id":"r","claim_token":"t","aseq":1,"kind":"log","message":"\#(long)"}"#
        #expect(throws: AgentProtocolError.self) { try AgentMessage.decode(frame) }
        let events = (1...(AgentMessage.Limits.maxEventsPerFrame + 1)).map { #"{"aseq":\#($0),"kind":"log","message":""}"# }
        let batch = #"{"v":1,"type":"run_events","run_id":"r","claim_token":"t","events":[\#(events.joined(separator: ","))]}"#
        #expect(throws: AgentProtocolError.self) { try AgentMessage.decode(batch) }
    }
}
