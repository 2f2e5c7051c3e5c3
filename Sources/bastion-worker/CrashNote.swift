import Core
import Foundation

/// The path the fatal-signal handler writes to; set once at start, before any handler is installed.
nonisolated(unsafe) private var crashNotePath: UnsafeMutablePointer<CChar>?
/// The handlers that were installed before ours (the Swift runtime's backtracer), by signal number, called after ours;
/// a plain C array, so the handler reads it without locks or reference counting.
nonisolated(unsafe) private var previousActions: UnsafeMutablePointer<sigaction>?

/// What a worker that dies on a fatal signal leaves for its next life (docs/architecture.md, "Poison runs"): the
/// signal's name in `<data-dir>/workers/<id>.crash`, written from the signal handler with async-signal-safe calls only;
/// the restarted worker puts it in the `crashed` event of the runs it takes back. SIGKILL leaves no note.
enum CrashNote {
    static let signals: [(Int32, StaticString)] = [
        (SIGILL, "SIGILL (a Swift runtime trap: an overflow, a failed precondition or unwrap)\n"),
        (SIGTRAP, "SIGTRAP (a Swift runtime trap)\n"), (SIGSEGV, "SIGSEGV (invalid memory access)\n"),
        (SIGBUS, "SIGBUS (invalid memory access)\n"), (SIGFPE, "SIGFPE (arithmetic fault)\n"), (SIGABRT, "SIGABRT (abort)\n"),
    ]

    static func path(workerID: String, dataDirectory: DataDirectory) -> String {
        "\(dataDirectory.path)/workers/\(workerID).crash"
    }

    /// Installs the handler for every fatal signal, keeping the handlers already there (called after the note).
    static func install(path: String) {
        crashNotePath = strdup(path)
        let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
        actions.initialize(repeating: sigaction(), count: 65)
        previousActions = actions
        for (signal, _) in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, context in
                CrashNote.write(signal)
                CrashNote.chain(signal, info, context)
            }
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, actions + Int(signal))
        }
    }

    /// Async-signal-safe: open, write a static string, close.
    static func write(_ signal: Int32) {
        guard let path = crashNotePath else { return }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        for (candidate, text) in signals where candidate == signal {
            _ = Glibc.write(descriptor, text.utf8Start, text.utf8CodeUnitCount)
        }
        close(descriptor)
    }

    /// Hands the signal to the handler that was there before, else restores the default action so that returning
    /// re-raises it (a fault re-executes; an `abort` raises again).
    static func chain(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
        if let actions = previousActions, (0..<65).contains(signal) {
            let previous = actions[Int(signal)]
            if previous.sa_flags & SA_SIGINFO != 0, let handler = previous.__sigaction_handler.sa_sigaction {
                handler(signal, info, context)
                return
            }
            let handler = previous.__sigaction_handler.sa_handler
            if handler != nil && unsafeBitCast(handler, to: Int.self) != unsafeBitCast(SIG_DFL, to: Int.self)
                && unsafeBitCast(handler, to: Int.self) != unsafeBitCast(SIG_IGN, to: Int.self)
            {
                handler?(signal)
                return
            }
        }
        var defaultAction = sigaction()
        defaultAction.__sigaction_handler.sa_handler = SIG_DFL
        sigaction(signal, &defaultAction, nil)
        if signal == SIGABRT || info?.pointee.si_code ?? 0 <= 0 { raise(signal) }
    }
}
