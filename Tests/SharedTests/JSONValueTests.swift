import Foundation
import Testing

@testable import Shared

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
        ("\"abc", 4), ("\"\\x\"", 3), ("\"\\ud800\"", 7), ("{\"a\":1}x", 7), ("\"a\u{01}b\"", 2), ("1e999", 0),
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
}
