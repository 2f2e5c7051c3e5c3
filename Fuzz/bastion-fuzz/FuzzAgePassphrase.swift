import Archive

/// `AgePassphrase.open` (an escrowed key file, `bastion-key-<name>.age`, from a target; docs/recovery.md), with the
/// passphrase of the seeds and scrypt bounded at 2^2 so each input costs microseconds: the header, the stanza, the MAC
/// and every payload chunk are parsed as a recovery parses them. What it opens, sealed again, opens to the same bytes.
enum FuzzAgePassphrase {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let plaintext = try? AgePassphrase.open(Array(bytes), passphrase: "fuzz", maxWorkFactor: 2) else { return }
        check(bytes.count <= AgePassphrase.maxFileBytes, "opened a file larger than the bound")
        do {
            let again = try AgePassphrase.open(AgePassphrase.seal(plaintext, passphrase: "fuzz", workFactor: 1), passphrase: "fuzz", maxWorkFactor: 2)
            check(again == plaintext, "seal → open changed the plaintext")
        } catch {
            check(false, "a plaintext that was opened does not seal and open again (\(error))")
        }
    }
}
