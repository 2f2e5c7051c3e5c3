import Core

/// An after-COMMIT publisher that hands each committed batch to a closure (tests observe what a write published).
public struct CallbackPublisher: AfterCommitPublisher {
    let body: @Sendable (AfterCommit) -> Void

    public init(_ body: @escaping @Sendable (AfterCommit) -> Void) {
        self.body = body
    }

    public func publish(_ work: AfterCommit) { body(work) }
}
