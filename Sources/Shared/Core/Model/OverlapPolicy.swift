/// What enqueueing does when the job already has a queued or running run.
public enum OverlapPolicy: String, Sendable, Codable, CaseIterable {
    /// Stack the new run behind the others.
    case queue
    /// Insert the new run already `rejected` (`error = overlap_rejected`).
    case reject
}
