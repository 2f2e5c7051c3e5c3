import Core

/// `JobSpec.parse` (either shape, from `POST /api/jobs` and the stored `spec_json`): a spec it accepts is stored as
/// `storedJSON`, and that must read back as the same spec (a job that saves must load).
enum FuzzJobSpec {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONValue.parse(bytes: bytes), let spec = try? JobSpec.parse(json) else { return }
        let stored = spec.storedJSON
        let text = stored.jsonString()
        do {
            let again = try JobSpec.parse(JSONValue.parse(text))
            check(again == spec, "the stored form reads back as another spec: \(text)")
            check(again.storedJSON == stored, "the stored form is not stable: \(text)")
        } catch {
            check(false, "the stored form of an accepted spec is refused (\(error)): \(text)")
        }
        _ = spec.incremental
        _ = spec.retentionPolicy
    }
}
