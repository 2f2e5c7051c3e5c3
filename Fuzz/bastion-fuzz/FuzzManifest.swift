import Archive
import Core

/// `Manifest(json:)` (a snapshot's `manifest.json`, from a target): a manifest it reads, written again, reads back the
/// same.
enum FuzzManifest {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONValue.parse(bytes: bytes), let manifest = try? Manifest(json: json) else { return }
        for artifact in manifest.artifacts { check(artifact.size >= 0, "an artifact of negative size") }
        _ = manifest.payloadParts
        _ = manifest.framesArtifact
        let text = manifest.json.jsonString()
        do {
            let again = try Manifest(json: JSONValue.parse(text))
            check(again == manifest, "write → read changed the manifest: \(text)")
        } catch {
            check(false, "a manifest written from one read does not read (\(error)): \(text)")
        }
    }
}
