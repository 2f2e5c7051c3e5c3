import Archive
import CFileSystem
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A source tree with the names and metadata real home directories and servers hold (`docs/formats.md`): names that
/// are not UTF-8, 255-byte names, a path longer than PATH_MAX, backslashes, newlines, a leading dash, an NFC/NFD pair,
/// hardlinks, symlinks of every kind (loops, dangling, long, non-UTF-8 targets), a 1 GiB sparse file with 3 bytes of
/// data, a FIFO, setuid/setgid/sticky bits, nanosecond, pre-1970 and year-2200 mtimes, xattrs with binary values, ACLs,
/// and (as root) a character device, a trusted.* attribute and files owned by another uid.
public enum FidelityTree {
    public static var isRoot: Bool { geteuid() == 0 }

    /// Builds the tree in `root` (which must not exist). Everything is created relative to open directories, as the
    /// deep path is longer than the kernel takes in one call.
    public static func make(at root: String) throws {
        try check(mkdir(root, 0o755), "mkdir \(root)")
        let top = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(top) }
        func file(_ dir: Int32, _ name: [UInt8], _ content: [UInt8], mode: mode_t = 0o644) throws {
            let fd = name.cString { openat(dir, $0, O_WRONLY | O_CREAT | O_TRUNC, mode) }
            try check(fd, "create \(String(decoding: name, as: UTF8.self))")
            defer { close(fd) }
            if !content.isEmpty { try check(content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == content.count ? 0 : -1, "write") }
            fchmod(fd, mode)
        }
        func directory(_ dir: Int32, _ name: [UInt8], mode: mode_t = 0o755) throws -> Int32 {
            try check(name.cString { mkdirat(dir, $0, mode) }, "mkdir \(String(decoding: name, as: UTF8.self))")
            name.cString { _ = fchmodat(dir, $0, mode, 0) }
            return name.cString { openat(dir, $0, O_RDONLY | O_DIRECTORY) }
        }
        func symlink(_ dir: Int32, _ name: [UInt8], _ target: [UInt8]) throws {
            try check(target.cString { t in name.cString { symlinkat(t, dir, $0) } }, "symlink")
        }
        func times(_ dir: Int32, _ name: [UInt8], _ seconds: Int, _ nanoseconds: Int) {
            var values = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
            name.cString { _ = utimensat(dir, $0, &values, AT_SYMLINK_NOFOLLOW) }
        }
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

        try file(top, [0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x2d, 0xe9, 0xff, 0x2e, 0x62, 0x69, 0x6e], bytes("latin1 name\n"))  // latin1-\xe9\xff.bin
        try file(top, bytes(String(repeating: "n", count: 251) + ".txt"), bytes("a 255-byte name\n"))
        try file(top, bytes("back\\slash"), bytes("backslash\n"))
        try file(top, bytes("new\nline"), bytes("newline\n"))
        try file(top, bytes("-leading-dash"), bytes("dash\n"))
        try file(top, bytes("caf\u{00E9}"), bytes("NFC\n"))
        try file(top, bytes("cafe\u{0301}"), bytes("NFD\n"))
        try file(top, bytes(" spaces "), bytes("spaces\n"))
        try file(top, bytes("empty"), [])
        try file(top, bytes("hard-a"), bytes("one inode, two names\n"))
        try check(linkat(top, "hard-a", top, "hard-b", 0), "link")
        try file(top, bytes("setuid"), bytes("#!/bin/sh\n"), mode: 0o4755)
        try file(top, bytes("setgid"), bytes("#!/bin/sh\n"), mode: 0o2755)
        try file(top, bytes("ns-time"), bytes("nanoseconds\n"))
        times(top, bytes("ns-time"), 1_700_000_000, 123_456_789)
        try file(top, bytes("pre-1970-whole"), bytes("old\n"))
        times(top, bytes("pre-1970-whole"), -86_400, 0)
        try file(top, bytes("pre-1970"), bytes("old\n"))
        times(top, bytes("pre-1970"), -31_536_000, 250_000_000)
        try file(top, bytes("year-2200"), bytes("future\n"))
        times(top, bytes("year-2200"), 7_258_118_400, 500_000_000)
        var random = SystemRandomNumberGenerator()
        try file(top, bytes("random.bin"), (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) })

        // A 1 GiB sparse file with 3 bytes of data in the middle.
        let sparse = openat(top, "sparse.img", O_WRONLY | O_CREAT, 0o644)
        try check(ftruncate(sparse, 1 << 30), "truncate")
        try check(pwrite(sparse, "abc", 3, 512 << 20) == 3 ? 0 : -1, "pwrite")
        close(sparse)

        try check(mkfifoat(top, "fifo", 0o640), "mkfifo")
        if isRoot {
            try check(mknodat(top, "null-device", S_IFCHR | 0o666, dev_t(bastion_makedev(1, 3))), "mknod")
        }

        // Symlinks: relative, absolute, dangling, to a directory, a loop, to itself, long, and a non-UTF-8 target.
        try symlink(top, bytes("link-relative"), bytes("hard-a"))
        try symlink(top, bytes("link-absolute"), bytes("/etc/hostname"))
        try symlink(top, bytes("link-dangling"), bytes("does/not/exist"))
        try symlink(top, bytes("link-dir"), bytes("sub"))
        try symlink(top, bytes("loop-1"), bytes("loop-2"))
        try symlink(top, bytes("loop-2"), bytes("loop-1"))
        try symlink(top, bytes("self"), bytes("self"))
        try symlink(top, bytes("link-long"), bytes(String(repeating: "long/", count: 60) + "target"))
        try symlink(top, bytes("link-latin1"), [0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x2d, 0xe9, 0xff, 0x2e, 0x62, 0x69, 0x6e])
        times(top, bytes("link-relative"), 1_600_000_000, 42)

        // Extended attributes, binary values among them, and ACLs (access on a file, default on a directory).
        let xattrs = openat(top, "xattrs", O_WRONLY | O_CREAT, 0o644)
        _ = "user text".withCString { bastion_fsetxattr(xattrs, "user.comment", $0, 9) }
        let binary: [UInt8] = [0, 1, 2, 0xff, 0xfe, 0x0a, 0x3d]
        try check(binary.withUnsafeBytes { bastion_fsetxattr(xattrs, "user.binary", $0.baseAddress, $0.count) }, "setxattr")
        if isRoot { _ = "root only".withCString { bastion_fsetxattr(xattrs, "trusted.note", $0, 9) } }
        close(xattrs)
        let sub = try directory(top, bytes("sub"))
        try file(sub, bytes("inner.txt"), bytes("inner\n"))
        try check(Shell.run("setfacl -m u:1234:r-x '\(root)/xattrs' && setfacl -d -m u:1234:rwx '\(root)/sub'").status, "setfacl")
        _ = "dir value".withCString { bastion_fsetxattr(sub, "user.dir", $0, 9) }
        close(sub)

        // Modes of directories: sticky, read-only with a file inside (restored after its content), private and empty.
        let sticky = try directory(top, bytes("sticky"), mode: 0o1777)
        try file(sticky, bytes("tmp-file"), bytes("t\n"))
        close(sticky)
        let readOnly = try directory(top, bytes("read-only"), mode: 0o755)
        try file(readOnly, bytes("kept.txt"), bytes("inside a 0555 directory\n"))
        fchmod(readOnly, 0o555)
        close(readOnly)
        let empty = try directory(top, bytes("empty-private"), mode: 0o700)
        close(empty)
        times(top, bytes("empty-private"), 1_234_567_890, 987_654_321)

        if isRoot {
            try file(top, bytes("owned-by-4321"), bytes("someone else's\n"))
            try check(fchownat(top, "owned-by-4321", 4321, 4322, 0), "chown")
            try check(fchownat(top, "link-relative", 4321, 4322, AT_SYMLINK_NOFOLLOW), "lchown")
        }

        // A path longer than PATH_MAX: 17 directories of 250 bytes.
        var deep = dup(top)
        for level in 0..<17 {
            let next = try directory(deep, bytes(String(format: "%02d", level) + String(repeating: "d", count: 248)))
            close(deep)
            deep = next
        }
        try file(deep, bytes("deep-file.txt"), bytes("past PATH_MAX\n"))
        close(deep)
        times(top, bytes("sub"), 1_650_000_000, 5)
    }

    private static func check(_ result: Int32, _ what: String) throws {
        if result < 0 { throw FidelityError(message: "\(what): \(String(cString: strerror(errno)))") }
    }

    struct FidelityError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// Every aspect of every entry of a tree, for comparing a source with what a restore or extraction made of it.
public enum TreeFingerprint {
    private static let zeros = [UInt8](repeating: 0, count: 1 << 20)

    /// `relative path (escaped) → description`; the root directory is "." . Excludes atime and ctime.
    public static func of(_ root: String) throws -> [String: String] {
        let top = open(root, O_RDONLY | O_DIRECTORY)
        guard top >= 0 else { throw FidelityTree.FidelityError(message: "open \(root): \(String(cString: strerror(errno)))") }
        defer { close(top) }
        var result: [String: String] = [:]
        var firstPathOfInode: [UInt64: String] = [:]
        var info = stat()
        fstat(top, &info)
        result["."] = describe(top, nil, [], info, &firstPathOfInode, ".")
        walk(top, [], &result, &firstPathOfInode)
        return result
    }

    /// The differences between two fingerprints, one line each.
    public static func differences(_ expected: [String: String], _ actual: [String: String]) -> [String] {
        var lines: [String] = []
        for key in Set(expected.keys).union(actual.keys).sorted() where expected[key] != actual[key] {
            lines.append("\(key):\n    expected \(expected[key] ?? "(missing)")\n    actual   \(actual[key] ?? "(missing)")")
        }
        return lines
    }

    /// Printable ASCII as is, other bytes as `\xNN`, runs of more than 8 equal bytes as `c{count}`.
    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            var run = 1
            while index + run < bytes.count, bytes[index + run] == byte { run += 1 }
            let shown = byte >= 0x21 && byte < 0x7f && byte != UInt8(ascii: "\\") ? String(UnicodeScalar(byte)) : String(format: "\\x%02x", byte)
            if run > 8 {
                text += shown + "{\(run)}"
                index += run
            } else {
                text += shown
                index += 1
            }
        }
        return text
    }

    private static func walk(_ dir: Int32, _ prefix: [UInt8], _ result: inout [String: String], _ inodes: inout [UInt64: String]) {
        let copy = dup(dir)
        guard let handle = fdopendir(copy) else { return }
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)))
            }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        closedir(handle)
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let path = prefix.isEmpty ? name : prefix + [47] + name
            var info = stat()
            guard name.cString({ fstatat(dir, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else { continue }
            let key = escaped(path)
            if info.st_mode & S_IFMT == S_IFDIR {
                let child = name.cString { openat(dir, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }
                result[key] = describe(child, dir, name, info, &inodes, key)
                walk(child, path, &result, &inodes)
                close(child)
            } else {
                result[key] = describe(nil, dir, name, info, &inodes, key)
            }
        }
    }

    private static func describe(
        _ fd: Int32?,
        _ parent: Int32?,
        _ name: [UInt8],
        _ info: stat,
        _ inodes: inout [UInt64: String],
        _ key: String
    ) -> String {
        let type: String
        var extra = ""
        switch info.st_mode & S_IFMT {
        case S_IFDIR: type = "dir"
        case S_IFLNK:
            type = "symlink"
            var buffer = [CChar](repeating: 0, count: 8192)
            let count = name.cString { readlinkat(parent!, $0, &buffer, buffer.count) }
            extra += " -> \(escaped(buffer[0..<max(0, count)].map { UInt8(bitPattern: $0) }))"
        case S_IFREG:
            type = "file"
            let file = name.cString { openat(parent!, $0, O_RDONLY | O_NOFOLLOW) }
            var hasher = BLAKE3()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var position: Int64 = 0
            let size = Int64(info.st_size)
            // Holes hash as zeros without being read.
            while position < size {
                let data = lseek(file, off_t(position), bastion_seek_data())
                let start = data < 0 ? size : Int64(data)
                while position < start {
                    let take = Int(min(Int64(zeros.count), start - position))
                    zeros.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
                    position += Int64(take)
                }
                if position >= size { break }
                let hole = min(Int64(lseek(file, off_t(position), bastion_seek_hole())), size)
                while position < hole {
                    let got = buffer.withUnsafeMutableBytes {
                        pread(file, $0.baseAddress, Int(min(Int64($0.count), hole - position)), off_t(position))
                    }
                    if got <= 0 { break }
                    buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
                    position += Int64(got)
                }
            }
            close(file)
            extra += " size=\(size) blake3=\(hasher.finalizeHex().prefix(16))"
            if size >= 1 << 20 { extra += Int64(info.st_blocks) * 512 < size / 2 ? " sparse" : " dense" }
            if info.st_nlink > 1 {
                let inode = UInt64(info.st_ino)
                extra += " hardlink-group=\(inodes[inode] ?? key)"
                if inodes[inode] == nil { inodes[inode] = key }
            }
        case S_IFIFO: type = "fifo"
        case S_IFCHR: type = "char \(info.st_rdev)"
        case S_IFBLK: type = "block \(info.st_rdev)"
        default: type = "other"
        }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        let mtime = "\(info.st_mtim.tv_sec).\(String(format: "%09d", info.st_mtim.tv_nsec))"
        var attributes: [String] = []
        if info.st_mode & S_IFMT != S_IFLNK {
            let proc: [UInt8] = Array("/proc/self/fd/\(parent ?? -1)/".utf8) + name
            proc.cString { path in
                var names = [CChar](repeating: 0, count: 65536)
                let length = fd.map { bastion_flistxattr($0, &names, names.count) } ?? bastion_llistxattr(path, &names, names.count)
                guard length > 0 else { return }
                for rawName in names[0..<length].split(separator: 0) {
                    var value = [UInt8](repeating: 0, count: 65536)
                    let attributeName = Array(rawName) + [0]
                    let got = attributeName.withUnsafeBufferPointer { attribute in
                        fd.map { bastion_fgetxattr($0, attribute.baseAddress!, &value, value.count) }
                            ?? bastion_lgetxattr(path, attribute.baseAddress!, &value, value.count)
                    }
                    let text = String(decoding: rawName.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    attributes.append("\(text)=\(value[0..<max(0, got)].map { String(format: "%02x", $0) }.joined())")
                }
            }
        }
        let owner = "\(info.st_uid):\(info.st_gid)"
        return "\(type) mode=\(mode) owner=\(owner) mtime=\(mtime)\(extra) xattrs=[\(attributes.sorted().joined(separator: ","))]"
    }
}

extension Array where Element == UInt8 {
    /// These bytes NUL-terminated, for a system call.
    func cString<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension FidelityTree {
    /// Extracts a snapshot's payload with GNU tar (`--xattrs --xattrs-include='*' --acls --numeric-owner -p`) and with
    /// bsdtar (`--xattrs --acls --numeric-owner -p`) under `scratch`, and returns every way either result differs from
    /// `source` (empty: both equal it). Left out, and said why: what those tools cannot write (paths past PATH_MAX: each
    /// creates a member by its whole path), and libarchive's reading of a negative pax time with a fraction (it takes
    /// `-1.75` as -1 s + 0.75).
    public static func thirdPartyDifferences(runDirectory: String, source: String, scratch: String) throws -> [String] {
        let payload = "cat '\(runDirectory)'/payload.part* | zstd -dq"
        let pastPathMax = { (key: String) in key.contains("16d{248}") }
        let expected = try TreeFingerprint.of(source)
        var problems: [String] = []
        let tools: [(name: String, command: String, tolerated: [String], excluded: (String) -> Bool)] = [
            (
                "GNU tar", "tar -x --xattrs --xattrs-include='*' --acls --numeric-owner -p",
                ["File name too long", "Exiting with failure status", "hdrcharset", "implausibly old time stamp", "in the future"], pastPathMax
            ),
            (
                "bsdtar", "bsdtar -x --xattrs --acls --numeric-owner -p", ["16d{248}", "dddddddd", "Error exit delayed"],
                { pastPathMax($0) || $0 == "pre-1970" }
            ),
        ]
        for tool in tools {
            let out = scratch + "/" + tool.name.replacingOccurrences(of: " ", with: "-")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let run = try Shell.run("\(payload) | \(tool.command) -C '\(out)' -f - 2>&1")
            for line in run.output.split(separator: "\n") where !tool.tolerated.contains(where: { line.contains($0) }) {
                problems.append("\(tool.name) said: \(line)")
            }
            let actual = try TreeFingerprint.of(out + source).filter { !tool.excluded($0.key) }
            let differences = TreeFingerprint.differences(expected.filter { !tool.excluded($0.key) }, actual)
            problems += differences.map { "\(tool.name): \($0)" }
        }
        return problems
    }
}
