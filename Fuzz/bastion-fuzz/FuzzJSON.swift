import Core

/// `JSONValue.parse`: what it reads, it writes and reads back to the same value, and writing is deterministic; the
/// element ranges the bus relies on (`parse(bytes:elementRangesOf:)`) each hold their element.
enum FuzzJSON {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let value = try? JSONValue.parse(bytes: bytes) else { return }
        let text = value.jsonString()
        let again: JSONValue
        do {
            again = try JSONValue.parse(text)
        } catch {
            check(false, "the written JSON does not parse (\(error)): \(text)")
            return
        }
        check(again == value, "parse → write → parse changed the value: \(text)")
        check(again.jsonString() == text, "writing the same value twice gave different text: \(text)")

        let array = Array(bytes)
        guard let (spanned, ranges) = try? JSONValue.parse(bytes: array, elementRangesOf: "events") else {
            check(false, "parse(bytes:elementRangesOf:) refused what parse(bytes:) read")
            return
        }
        check(spanned == value, "parse(bytes:elementRangesOf:) read another value")
        // A duplicate "events" key records the ranges of every copy; the bus refuses a count that disagrees.
        guard case .array(let items)? = value["events"], items.count == ranges.count else { return }
        for (item, range) in zip(items, ranges) {
            check((try? JSONValue.parse(bytes: array[range])) == item, "an element range does not hold its element: \(range)")
        }
    }
}
