import Core

/// `MariaDBDumpScanner` (a MariaDB job's verify reads dumps from a snapshot on a target): never traps, and the verdict
/// does not depend on where the bytes are cut into pieces (verify feeds 1 MiB reads).
enum FuzzMariaDBDump {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        var whole = MariaDBDumpScanner()
        whole.feed(bytes)
        let verdict = whole.finish()
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        var pieces = MariaDBDumpScanner()
        pieces.feed(UnsafeRawBufferPointer(rebasing: bytes[..<cut]))
        pieces.feed(UnsafeRawBufferPointer(rebasing: bytes[cut...]))
        check(pieces.finish() == verdict, "the verdict changed when the dump was cut at \(cut)")
    }
}
