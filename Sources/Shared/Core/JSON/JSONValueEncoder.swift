/// Turns any `Encodable` into a `JSONValue` the way the API's responses are written (docs/architecture.md, "HTTP
/// API"): property names become snake_case (`jobId` → `job_id`), a nil optional is written as an explicit `null`
/// (Swift's synthesized coding would leave it out), an `Omittable` that is absent is left out. Keys of dictionaries
/// and of `JSONValue` objects are data, never converted. Serialize the result with `jsonString()`.
public struct JSONValueEncoder: Sendable {
    public init() {}

    public func encode(_ value: some Encodable) throws -> JSONValue {
        let root = Slot()
        try root.store(value, convertKeys: true)
        return root.resolved
    }

    /// `camelCase` → `camel_case`; a run of capitals is one word (`sqliteURLPath` → `sqlite_url_path`).
    public static func snakeCase(_ key: String) -> String {
        let characters = Array(key)
        var output = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { output += "_" }
            }
            output += character.lowercased()
        }
        return output
    }
}

/// A member that is either left out of its object or present (then encoded as its value, `null` included).
public enum Omittable<Wrapped: Encodable & Sendable>: Encodable, Sendable {
    case absent
    case present(Wrapped)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .absent: try container.encodeNil()
        case .present(let value): try container.encode(value)
        }
    }
}

private protocol AbsentMarker {
    var isAbsent: Bool { get }
}

extension Omittable: AbsentMarker {
    var isAbsent: Bool { if case .absent = self { true } else { false } }
}

/// Dictionaries keyed by strings are encoded entry by entry with their keys as they are.
private protocol StringKeyedEntries {
    func storeEntries(into slot: Slot) throws
}

extension Dictionary: StringKeyedEntries where Key == String, Value: Encodable {
    fileprivate func storeEntries(into slot: Slot) throws {
        slot.object = [:]
        for (key, value) in self {
            let child = Slot()
            try child.store(value, convertKeys: true)
            slot.object?[key] = child
        }
    }
}

/// One value under construction: a finished `value`, or an object or array still being filled.
private final class Slot {
    var value: JSONValue = .null
    var object: [String: Slot]?
    var array: [Slot]?

    var resolved: JSONValue {
        if let object { return .object(object.mapValues(\.resolved)) }
        if let array { return .array(array.map(\.resolved)) }
        return value
    }

    func store(_ encodable: some Encodable, convertKeys: Bool) throws {
        if let json = encodable as? JSONValue {
            value = json
        } else if let dictionary = encodable as? any StringKeyedEntries {
            try dictionary.storeEntries(into: self)
        } else {
            try encodable.encode(to: SlotEncoder(slot: self, convertKeys: convertKeys))
        }
    }
}

private struct SlotEncoder: Encoder {
    let slot: Slot
    let convertKeys: Bool
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if slot.object == nil { slot.object = [:] }
        return KeyedEncodingContainer(KeyedSlotContainer<Key>(slot: slot, convertKeys: convertKeys))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if slot.array == nil { slot.array = [] }
        return UnkeyedSlotContainer(slot: slot, convertKeys: convertKeys)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleSlotContainer(slot: slot, convertKeys: convertKeys)
    }
}

private struct KeyedSlotContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let convertKeys: Bool
    var codingPath: [any CodingKey] { [] }

    func name(_ key: Key) -> String { convertKeys ? JSONValueEncoder.snakeCase(key.stringValue) : key.stringValue }

    func child(_ key: Key) -> Slot {
        let child = Slot()
        slot.object?[name(key)] = child
        return child
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).value = .null }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let marker = value as? any AbsentMarker, marker.isAbsent { return }
        try child(key).store(value, convertKeys: convertKeys)
    }

    /// Nil is written as `null`, not left out.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    // The synthesized coding calls these for optional primitives; they too write nil as null.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key)
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key)
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        try value.map { try encode($0, forKey: key) } ?? encodeNil(forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = child(key)
        child.object = [:]
        return KeyedEncodingContainer(KeyedSlotContainer<NestedKey>(slot: child, convertKeys: convertKeys))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = child(key)
        child.array = []
        return UnkeyedSlotContainer(slot: child, convertKeys: convertKeys)
    }

    mutating func superEncoder() -> any Encoder { SlotEncoder(slot: slot, convertKeys: convertKeys) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { SlotEncoder(slot: child(key), convertKeys: convertKeys) }
}

private struct UnkeyedSlotContainer: UnkeyedEncodingContainer {
    let slot: Slot
    let convertKeys: Bool
    var codingPath: [any CodingKey] { [] }
    var count: Int { slot.array?.count ?? 0 }

    func append() -> Slot {
        let child = Slot()
        slot.array?.append(child)
        return child
    }

    mutating func encodeNil() throws { append().value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try append().store(value, convertKeys: convertKeys) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = append()
        child.object = [:]
        return KeyedEncodingContainer(KeyedSlotContainer<NestedKey>(slot: child, convertKeys: convertKeys))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = append()
        child.array = []
        return UnkeyedSlotContainer(slot: child, convertKeys: convertKeys)
    }

    mutating func superEncoder() -> any Encoder { SlotEncoder(slot: append(), convertKeys: convertKeys) }
}

private struct SingleSlotContainer: SingleValueEncodingContainer {
    let slot: Slot
    let convertKeys: Bool
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { slot.value = .null }
    mutating func encode(_ value: Bool) throws { slot.value = .bool(value) }
    mutating func encode(_ value: String) throws { slot.value = .string(value) }
    mutating func encode(_ value: Double) throws { slot.value = .number(value) }
    mutating func encode(_ value: Float) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: Int) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: Int8) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: Int16) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: Int32) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: Int64) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: UInt) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: UInt8) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: UInt16) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: UInt32) throws { slot.value = .number(Double(value)) }
    mutating func encode(_ value: UInt64) throws { slot.value = .number(Double(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { try slot.store(value, convertKeys: convertKeys) }
}
