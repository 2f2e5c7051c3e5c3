/// An enrolled agent as the hub keeps it (docs/agents.md): its key is stored as a hash only.
public struct Agent: Sendable, Equatable {
    public var id: String
    public var name: String
    public var createdAt: Int64
    public var revokedAt: Int64?
    public var lastSeenAt: Int64?
    /// What the agent said of itself in its last `hello` (version, os, arch, capabilities).
    public var info: JSONValue?
    public var keyRotatedAt: Int64?

    public init(
        id: String,
        name: String,
        createdAt: Int64,
        revokedAt: Int64? = nil,
        lastSeenAt: Int64? = nil,
        info: JSONValue? = nil,
        keyRotatedAt: Int64? = nil
    ) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.lastSeenAt = lastSeenAt
        self.info = info
        self.keyRotatedAt = keyRotatedAt
    }
}
