/// POSIX ACLs as Linux stores them: the `system.posix_acl_access` / `system.posix_acl_default` extended attributes
/// (version 2, then one `{tag: u16, perm: u16, id: u32}` little-endian entry per line of the ACL). The archive carries
/// that value as `SCHILY.xattr.*` and, for GNU tar's `--acls` and bsdtar, the same ACL as text in `SCHILY.acl.*`.
enum POSIXACL {
    /// `access` or `default` for an ACL attribute's name, else nil.
    static func kind(ofAttribute name: [UInt8]) -> String? {
        switch String(decoding: name, as: UTF8.self) {
        case "system.posix_acl_access": "access"
        case "system.posix_acl_default": "default"
        default: nil
        }
    }

    /// The long text form (`user::rw-\nuser:1000:r--\n…`, ids as numbers), or nil when `value` is not an ACL.
    static func text(_ value: [UInt8]) -> String? {
        guard value.count >= 4, (value.count - 4) % 8 == 0, value[0] == 2, value[1] == 0, value[2] == 0, value[3] == 0 else { return nil }
        var text = ""
        var offset = 4
        while offset < value.count {
            let tag = UInt16(value[offset]) | UInt16(value[offset + 1]) << 8
            let perm = UInt16(value[offset + 2]) | UInt16(value[offset + 3]) << 8
            let id = (0..<4).reduce(UInt32(0)) { $0 | UInt32(value[offset + 4 + $1]) << (8 * UInt32($1)) }
            offset += 8
            let qualifier: String
            switch tag {
            case 0x01: qualifier = "user::"
            case 0x02: qualifier = "user:\(id):"
            case 0x04: qualifier = "group::"
            case 0x08: qualifier = "group:\(id):"
            case 0x10: qualifier = "mask::"
            case 0x20: qualifier = "other::"
            default: return nil
            }
            text += qualifier + (perm & 4 != 0 ? "r" : "-") + (perm & 2 != 0 ? "w" : "-") + (perm & 1 != 0 ? "x" : "-") + "\n"
        }
        return text
    }
}
