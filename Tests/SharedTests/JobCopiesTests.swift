import Core
import Testing

/// A job's `copies` (docs/targets.md, "Copies"): parsed like `target`, at most four, none equal to the primary or to
/// another copy, unknown keys refused by path, and location ids that do not change when the list is edited.
@Suite struct JobCopiesTests {
    static func spec(_ copies: JSONValue) -> JSONValue {
        .object([
            "v": 1, "type": "filesystem", "source": .object(["paths": .array(["/data"])]),
            "target": .object(["type": "local_dir", "base_dir": "/backups"]), "copies": copies,
        ])
    }

    static let webdav: JSONValue = .object(["type": "webdav", "base_url": "https://nas/dav/b/", "secret_name": "nas"])
    static let rclone: JSONValue = .object(["type": "rclone", "remote": "offsite:bucket/bastion", "secret_name": "offsite"])

    @Test func copiesParseAndRoundTrip() throws {
        let parsed = try JobSpec.parse(Self.spec(.array([.object(["target": Self.webdav]), .object(["target": Self.rclone])])))
        #expect(parsed.copies.count == 2)
        #expect(parsed.copies.map(\.target.type) == ["webdav", "rclone"])
        let again = try JobSpec.parse(parsed.storedJSON)
        #expect(again.copies == parsed.copies)
        for copy in parsed.copies { #expect(JobCopy.isLocationId(copy.locationId), "\(copy.locationId)") }
    }

    @Test func locationIdsDependOnTheAddressOnly() throws {
        let one = try JobSpec.parse(Self.spec(.array([.object(["target": Self.webdav]), .object(["target": Self.rclone])])))
        let reordered = try JobSpec.parse(Self.spec(.array([.object(["target": Self.rclone]), .object(["target": Self.webdav])])))
        #expect(one.copies[0].locationId == reordered.copies[1].locationId)
        #expect(one.copies[1].locationId == reordered.copies[0].locationId)
        #expect(one.copies[0].locationId != one.copies[1].locationId)
        // A trailing slash or another part size is the same place.
        let sameTarget: JSONValue = .object([
            "type": "webdav", "base_url": "https://nas/dav/b", "secret_name": "other", "part_size_bytes": 2_097_152,
        ])
        let same = try JobSpec.parse(Self.spec(.array([.object(["target": sameTarget])])))
        #expect(same.copies[0].locationId == one.copies[0].locationId)
        #expect(!JobCopy.isLocationId("copy:../../etc") && !JobCopy.isLocationId("copy:ABCDEF012345") && JobCopy.isLocationId("primary"))
    }

    @Test func badCopiesAreRefused() {
        func refused(_ copies: JSONValue) -> String? {
            do {
                _ = try JobSpec.parse(Self.spec(copies))
                return nil
            } catch let error as ValidationError {
                return "\(error.field) \(error.reason)"
            } catch {
                return "\(error)"
            }
        }
        #expect(refused(.array([.object(["target": .object(["type": "local_dir", "base_dir": "/backups/"])])])) == "copies.0.target duplicate")
        #expect(refused(.array([.object(["target": Self.webdav]), .object(["target": Self.webdav])])) == "copies.1.target duplicate")
        let five: [JSONValue] = (0..<5).map { .object(["target": .object(["type": "local_dir", "base_dir": .string("/c\($0)")])]) }
        #expect(refused(.array(five)) == "copies too_many")
        #expect(refused(.object([:])) == "copies invalid")
        #expect(
            refused(.array([.object(["target": .object(["type": "local_dir", "base_dir": "relative"])])])) == "copies.0.target.base_dir not_absolute"
        )
        #expect(refused(.array([.object(["target": .object(["type": "ftp"])])]))?.hasSuffix("unsupported") == true)
    }

    @Test func unknownKeysInCopiesAreNamed() {
        let spec = Self.spec(
            .array([
                .object(["target": Self.webdav, "tagret": 1]),
                .object(["target": .object(["type": "local_dir", "base_dir": "/c", "base_dri": "/d"])]),
            ])
        )
        #expect(JobSpec.unknownFields(spec) == ["copies.0.tagret", "copies.1.target.base_dri"])
    }
}
