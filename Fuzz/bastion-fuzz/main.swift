import CLibFuzzer
import Foundation

// One libFuzzer executable for every parser of outside input (docs/security.md, "Fuzzing"): `BASTION_FUZZ_TARGET`
// names the target (`FuzzTarget`), each a file of this folder; the arguments are libFuzzer's. A broken property is a
// crash, as a trap is.

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in fuzzTestOneInput(data, count) })
