import CFileSystem
import Foundation
import TestClients
import Testing

@testable import Archive

/// Restore against a local user who changes the destination while it is written (docs/security.md, "Archives and
/// restore"), and a restore that reports what happened: a conflict behind age decryption is a conflict.
@Suite struct RestoreRaceTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & 0o7777
    }

    /// The FIFO made for an entry is swapped for a symlink to a file elsewhere between its creation and its chmod
    /// (the writer's test hook runs in that window). The chmod followed the symlink: a root restore in place could
    /// make any file setuid. Now the node is changed through an O_PATH|O_NOFOLLOW descriptor and the swap refused.
    @Test func aNodeSwappedForASymlinkBeforeItsChmodIsNotFollowed() throws {
        let dir = TemporaryDirectory()
        let destination = dir.path + "/out"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let victim = dir.path + "/victim"
        try Data("secret".utf8).write(to: URL(fileURLWithPath: victim))
        chmod(victim, 0o600)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, victim, &times, 0)

        let writer = RestoreWriter(destination: destination, policy: .fail, selection: nil, ownership: .never)
        writer.afterCreatingNode = { parent, name in
            _ = name.withCString { unlinkat(parent, $0, 0) }
            _ = victim.withCString { target in name.withCString { symlinkat(target, parent, $0) } }
        }
        let fifo = TarEntry(path: "pipe", kind: .fifo, mode: 0o6777, mtime: 1_700_000_000)
        try writer.begin(fifo)
        try writer.end(fifo)
        writer.finish()
        #expect(mode(victim) == 0o600, "the victim's mode is untouched")
        var info = stat()
        stat(victim, &info)
        #expect(info.st_mtim.tv_sec == 1_000_000_000, "the victim's times are untouched")
        #expect(writer.failed == 1 && writer.failures.first?.reason.contains("replaced") == true, "\(writer.failures)")

        // Without the swap the FIFO gets its mode (and its times).
        let plain = RestoreWriter(destination: destination, policy: .fail, selection: nil, ownership: .never)
        let other = TarEntry(path: "pipe2", kind: .fifo, mode: 0o640, mtime: 1_700_000_000)
        try plain.begin(other)
        try plain.end(other)
        plain.finish()
        stat(destination + "/pipe2", &info)
        #expect(info.st_mode & S_IFMT == S_IFIFO && info.st_mode & 0o7777 == 0o640 && info.st_mtim.tv_sec == 1_700_000_000)
        #expect(plain.failed == 0 && plain.warned == 0, "\(plain.failures) \(plain.warnings)")
    }

    /// The destination's path holds a symlink: nothing is written through it, whichever component it is.
    @Test func aDestinationThroughASymlinkIsRefused() throws {
        let dir = TemporaryDirectory()
        let real = dir.path + "/real"
        try FileManager.default.createDirectory(atPath: real + "/out", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link", withDestinationPath: real)
        for destination in [dir.path + "/link/out", dir.path + "/link", dir.path + "/link/out/new/deeper"] {
            let writer = RestoreWriter(destination: destination, policy: .overwrite, selection: nil, ownership: .never)
            let file = TarEntry(path: "planted", kind: .file, mode: 0o644, mtime: 1)
            #expect(throws: (any Error).self, "\(destination)") { try writer.begin(file) }
            writer.finish()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: real + "/out").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: real).sorted() == ["out"])

        // Both ways of opening (openat2, and the walk used where the kernel lacks it) refuse the link and create what
        // is missing otherwise.
        let ways: [(String, (UnsafePointer<CChar>, Int32) -> Int32)] = [
            ("openat2", bastion_open_directory_nofollow), ("walk", bastion_open_directory_walk),
        ]
        for (name, open) in ways {
            errno = 0
            #expect(open(dir.path + "/link/out", 1) == -1 && (errno == ELOOP || errno == ENOTDIR), "\(name)")
            #expect(open(dir.path + "/link/out/x", 1) == -1, "\(name)")
            let created = open(dir.path + "/made/by/\(name)", 1)
            #expect(created >= 0, "\(name)")
            close(created)
        }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/made/by/walk"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/made/by/openat2"))
        #expect(!FileManager.default.fileExists(atPath: real + "/out/x"))
    }

    /// What the stages after age decryption throw (here the restore's conflict) passes through as itself: it was
    /// reported as "payload chunk N does not authenticate", a sound backup called damaged.
    @Test func aFailureAfterDecryptionIsNotCalledDamage() throws {
        final class Refusing: ByteSink {
            var seen = 0
            func write(_ bytes: UnsafeRawBufferPointer) throws {
                seen += bytes.count
                if seen > 100_000 { throw RestoreConflict(path: "/restore/here/etc/hosts") }
            }
            func finish() throws {}
        }
        let (identity, recipient) = Age.generateIdentity()
        let sink = MemorySink()
        let encryptor = try AgeEncryptor(recipient: recipient, next: sink)
        try [UInt8](repeating: 7, count: 1 << 20).withUnsafeBytes { try encryptor.write($0) }
        try encryptor.finish()
        let decryptor = try AgeDecryptor(identity: identity, next: Refusing())
        #expect(throws: RestoreConflict.self) { try sink.bytes.withUnsafeBytes { try decryptor.write($0) } }
    }
}
