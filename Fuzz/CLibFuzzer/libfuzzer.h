#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, linked by -sanitize=fuzzer (https://llvm.org/docs/LibFuzzer.html, "Using libFuzzer as a
// library"): bastion-fuzz's main calls it, since SwiftPM gives an executable the main of its main.swift.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
