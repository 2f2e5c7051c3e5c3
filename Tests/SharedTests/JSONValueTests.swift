import Foundation
import Testing

@testable import Bus
@testable import Core

@Suite struct JSONValueTests {
    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        #"[1.5,-2,3e2,0,-0.25,1E-3]"#,
        #""\u00e9\ud83d\ude00 \"quoted\" \\ \/ \n\t""#,
        #"{"ünïcödé":"✓","empty":{},"list":[]}"#,
        "  \n 42 \t",
        "null",
    ])
    func agreesWithFoundation(_ text: String) throws {
        let ours = try JSONValue.parse(text)
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == theirs)
        #expect(try JSONValue.parse(ours.jsonString()) == ours, "round trip")
    }

    @Test(arguments: [
        ("", 0), ("{", 1), ("{\"a\" 1}", 5), ("[1,]", 3), ("[1 2]", 3), ("01", 1), ("1.", 2), ("-", 1), ("tru", 0),
        ("\"abc", 4), ("\"\\x\"", 3), ("\"\\u+041\"", 3), ("\"\\u-041\"", 3), ("\"\\u 041\"", 3), ("\"\\ud800\"", 7), ("{\"a\":1}x", 7),
        ("\"a\u{01}b\"", 2), ("1e999", 0),
    ])
    func refusesMalformedTextSayingWhere(_ text: String, _ offset: Int) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch let error as JSONValue.ParseError {
            #expect(error.offset == offset, "\(text): \(error)")
        } catch {}
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue.parse(fine) }
    }

    @Test func writesDeterministicEscapedJSON() {
        let value: JSONValue = .object(["b": .string("line\nbreak \"q\" \u{01}"), "a": .number(3), "c": .number(0.5)])
        #expect(value.jsonString() == #"{"a":3,"b":"line\nbreak \"q\" \u0001","c":0.5}"#)
    }

    @Test func recordsWhereEachElementOfABatchLies() throws {
        let text = #"{"type":"events","events":[{"a":1}, "x\"y" ,[2,[3]]],"after":[9]}"#
        let bytes = Array(text.utf8)
        let (value, ranges) = try JSONValue.parse(bytes: bytes, elementRangesOf: "events")
        #expect(ranges.map { String(decoding: bytes[$0], as: UTF8.self) } == [#"{"a":1}"#, #""x\"y""#, "[2,[3]]"])
        #expect(value["after"] == .array([.number(9)]))
    }
}

@Suite struct RunEventFrameTests {
    @Test func theFrameIsTheEventAsJSONWithTheStoredFieldsText() throws {
        let event = RunEvent(
            runId: "r/1",
            seq: 3,
            ts: -5,
            level: .warn,
            kind: "k\"",
            message: "line\nnext \u{1} ü",
            fields: .object(["b": .number(1), "a": .array([.null])])
        )
        let parsed = try JSONValue.parse(event.json)
        #expect(
            parsed
                == .object([
                    "run_id": "r/1", "seq": 3, "ts": -5, "level": "warn", "kind": "k\"", "message": "line\nnext \u{1} ü",
                    "fields": .object(["b": .number(1), "a": .array([.null])]),
                ])
        )
        #expect(event.json.contains(#""fields":{"a":[null],"b":1}"#), "the fields text is the stored one, keys sorted")
        #expect(RunEvent(parsed: parsed, json: event.json) == event)
        let bare = RunEvent(runId: "r", seq: 1, ts: 0, level: .info, kind: "k", message: "m")
        #expect(try JSONValue.parse(bare.json)["fields"] == .null)
    }

    @Test func batchesSplitOnlyWhereAFrameWouldOverflow() throws {
        let events = (1...300).map {
            RunEvent(runId: "r", seq: Int64($0), ts: 0, level: .info, kind: "log", message: String(repeating: "x", count: 100))
        }
        #expect(BusMessage.eventBatches(events).count == 1)
        let small = BusMessage.eventBatches(events, maxPayloadBytes: 4096)
        #expect(small.count > 1)
        var seqs: [Int64] = []
        for message in small {
            #expect(try BusFrame.encode(message).count - 4 <= 4096)
            if case .events(let batch) = message { seqs += batch.map(\.seq) }
        }
        #expect(seqs == Array(1...300))
        let huge = RunEvent(runId: "r", seq: 301, ts: 0, level: .info, kind: "log", message: String(repeating: "y", count: 5000))
        #expect(BusMessage.eventBatches([huge], maxPayloadBytes: 4096).isEmpty, "too big for any frame: left to the WebSocket's resync")
    }
}
