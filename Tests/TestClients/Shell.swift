import Foundation

/// Runs a shell command (tests and benchmarks check Bastion's output with independent tools: tar, zstd, age, b3sum,
/// Python). Stdout and stderr are captured together; `input` is written to stdin from another thread.
public enum Shell {
    public struct Result: Sendable {
        public var status: Int32
        public var data: Data
        public var output: String { String(decoding: data, as: UTF8.self) }
        /// The output without surrounding whitespace (a hash, a count).
        public var trimmed: String { output.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    @discardableResult
    public static func run(_ command: String, input: Data? = nil, stderr: Bool = true) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        if stderr { process.standardError = stdout }
        try process.run()
        let writer = Thread {
            if let input { stdin.fileHandleForWriting.write(input) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, data: data)
    }
}
