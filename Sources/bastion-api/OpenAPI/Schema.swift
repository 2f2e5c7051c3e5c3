import Core

/// Small builders for the JSON Schema objects of the OpenAPI document (OpenAPI 3.0: `nullable`, `$ref`).
enum Schema {
    static let string: JSONValue = .object(["type": "string"])
    static let integer: JSONValue = .object(["type": "integer", "format": "int64"])
    static let boolean: JSONValue = .object(["type": "boolean"])
    static let nullableString: JSONValue = .object(["type": "string", "nullable": true])
    static let nullableInteger: JSONValue = .object(["type": "integer", "format": "int64", "nullable": true])
    /// Any JSON value (object, array, string, number, boolean or null).
    static let any: JSONValue = .object(["nullable": true])
    static let anyObject: JSONValue = .object(["type": "object", "additionalProperties": true])

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/\(name)")]) }

    static func array(_ items: JSONValue) -> JSONValue { .object(["type": "array", "items": items]) }

    static func enumeration(_ values: [String], nullable: Bool = false) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string", "enum": .array(values.map(JSONValue.string))]
        if nullable { schema["nullable"] = true }
        return .object(schema)
    }

    static func object(_ properties: [String: JSONValue], required: [String]? = nil, nullable: Bool = false) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        // OpenAPI 3.0 forbids an empty `required` (it must hold at least one name): none required, no `required`.
        let names = required ?? properties.keys.sorted()
        if !names.isEmpty { schema["required"] = .array(names.map(JSONValue.string)) }
        if nullable { schema["nullable"] = true }
        return .object(schema)
    }

    static func string(minLength: Int? = nil, maxLength: Int? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string"]
        if let minLength { schema["minLength"] = .number(Double(minLength)) }
        if let maxLength { schema["maxLength"] = .number(Double(maxLength)) }
        return .object(schema)
    }
}
