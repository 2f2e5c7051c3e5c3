import Foundation

/// The targets, by the name `BASTION_FUZZ_TARGET` and `Fuzz/Corpus/<name>` use.
enum FuzzTarget: String, CaseIterable {
    case json, jobspec, bus, tar, manifest, frames, indexline, cron, requestpath, agentmessage, mariadbdump, agepassphrase, nameglob, jobsbulk
    case restorebody

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .json: FuzzJSON.run(bytes)
        case .jobspec: FuzzJobSpec.run(bytes)
        case .bus: FuzzBus.run(bytes)
        case .tar: FuzzTar.run(bytes)
        case .manifest: FuzzManifest.run(bytes)
        case .frames: FuzzFrames.run(bytes)
        case .indexline: FuzzIndexLine.run(bytes)
        case .cron: FuzzCron.run(bytes)
        case .requestpath: FuzzRequestPath.run(bytes)
        case .agentmessage: FuzzAgentMessage.run(bytes)
        case .mariadbdump: FuzzMariaDBDump.run(bytes)
        case .agepassphrase: FuzzAgePassphrase.run(bytes)
        case .nameglob: FuzzNameGlob.run(bytes)
        case .jobsbulk: FuzzJobsBulk.run(bytes)
        case .restorebody: FuzzRestoreBody.run(bytes)
        }
    }

    /// The target named in the environment; exits with the list when there is none.
    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["BASTION_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = allCases.map(\.rawValue).joined(separator: " ")
            FileHandle.standardError.write(Data("BASTION_FUZZ_TARGET must be one of: \(names)\n".utf8))
            exit(2)
        }
        return target
    }()
}

/// Stops the run with `message` when a property does not hold: libFuzzer saves the input as a crash.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    FileHandle.standardError.write(Data("property failed: \(message())\n".utf8))
    abort()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    FuzzTarget.selected.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}
