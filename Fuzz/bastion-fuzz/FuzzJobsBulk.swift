import Core

/// The body of `POST /api/jobs/bulk` (`JobBulkRequest(body:)`): a refusal is a `ValidationError` with one of the codes
/// the API documents, naming a field that exists; an accepted request holds 1...`maxIds` distinct, non-empty ids of
/// at most `maxIdLength` characters, in the order given, and the body it writes reads back as the same request.
enum FuzzJobsBulk {
    static let codes: Set<String> = ["unknown_field", "invalid_action", "invalid_ids", "too_many_ids", "duplicate_id"]

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONValue.parse(bytes: bytes), case .object(let body) = json else { return }
        let request: JobBulkRequest
        do {
            request = try JobBulkRequest(body: body)
        } catch let error as ValidationError {
            check(codes.contains(error.code), "unexpected code \(error)")
            // An item's problem names it (`ids[3]`); an unknown key may look the same (`{"ids[3]": 1}`), and is not one.
            if case .array(let items)? = body["ids"], ["invalid_ids", "duplicate_id"].contains(error.code), error.field.hasPrefix("ids[") {
                let index = Int(error.field.dropFirst(4).dropLast())
                check(index.map { items.indices.contains($0) } == true, "\(error.field) names no item of \(items.count)")
            }
            return
        } catch {
            check(false, "a refusal that is not a ValidationError: \(error)")
            return
        }
        check((1...JobBulkRequest.maxIds).contains(request.ids.count), "\(request.ids.count) ids accepted")
        check(Set(request.ids).count == request.ids.count, "a repeated id accepted")
        check(request.ids.allSatisfy { !$0.isEmpty && $0.count <= JobBulkRequest.maxIdLength }, "an empty or long id accepted")
        check(body["ids"] == .array(request.ids.map(JSONValue.string)), "the ids are not the ones given, in order")
        let text = request.json.jsonString()
        guard case .object(let written)? = try? JSONValue.parse(text) else {
            check(false, "the written body does not parse: \(text)")
            return
        }
        check((try? JobBulkRequest(body: written)) == request, "the written body reads back otherwise: \(text)")
    }
}
