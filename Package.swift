// swift-tools-version:6.2
import PackageDescription

/// Every room of Sources/Shared (docs/architecture.md, "Rooms"), for the targets that test or measure all of them.
let sharedRooms: [Target.Dependency] = ["Archive", "Bus", "Core", "Notifications", "Runs", "Scheduling", "Secrets", "Store", "Targets"]

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "bastion",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bastion-api", targets: ["bastion-api"]),
        .executable(name: "bastion-worker", targets: ["bastion-worker"]),
        .executable(name: "bastion-janitor", targets: ["bastion-janitor"]),
        .executable(name: "bastion-agent", targets: ["bastion-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Traces (docs/observability.md): the Tracing API for spans, swift-otel's OTLP/HTTP exporter (no gRPC) behind it.
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        // Tests only: validates the served OpenAPI document.
        // Without its default `ExternalLoading` trait, which the validation does not need and which builds slowly.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0", traits: []),
    ],
    targets: [
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        .systemLibrary(
            name: "CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        // SMTP for e-mail notifications (docs/architecture.md, "Notifications"); shim.h wraps the variadic setopt.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // Optimized in debug builds too: the tests hash hundreds of MiB, and unoptimized intrinsics are ~20× slower.
        .target(name: "CBLAKE3", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "CFileSystem"),
        // Sources/Shared: what the executables share, one target per room, dependencies pointing one way
        // (docs/architecture.md, "Rooms"). Core ← Secrets, Archive, Bus, Store ← Runs, Scheduling, Notifications.
        .target(
            name: "Core",
            dependencies: [
                "CFileSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Shared/Core",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Secrets",
            dependencies: ["Core", "CArgon2", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Shared/Secrets",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Archive",
            dependencies: [
                "Core", "CBLAKE3", "CFileSystem", "CZstd", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Sources/Shared/Archive",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Bus",
            dependencies: [
                "Core",
                "CLibUV",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Shared/Bus",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Store",
            dependencies: [
                "Archive",
                "Core",
                "Secrets",
                "Targets",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Shared/Store",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Targets",
            dependencies: [
                "Archive",
                "CFileSystem",
                "Core",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Shared/Targets",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Runs",
            dependencies: [
                "Core", "Archive", "Secrets", "Store", "Targets", "CFileSystem", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Shared/Runs",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Scheduling",
            dependencies: ["Core", "Store", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Shared/Scheduling",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Notifications",
            dependencies: [
                "CCurl",
                "Core",
                "Secrets",
                "Store",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Shared/Notifications",
            swiftSettings: swiftSettings
        ),
        // Traces' setup (docs/observability.md): the OTLP exporter from the OTEL_* environment, off by default; only
        // the executables depend on it (swift-otel is slow to build; the fuzz target and the rooms stay without it).
        .target(
            name: "Telemetry",
            dependencies: [
                "Core",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Shared/Telemetry",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bastion-api",
            dependencies: [
                "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "Archive",
                "Bus",
                "Core",
                "Notifications",
                "Secrets",
                "Store",
                "Targets",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bastion-worker",
            dependencies: [
                "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "Bus",
                "Core",
                "Notifications",
                "Runs",
                "Scheduling",
                "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bastion-agent",
            dependencies: [
                "Core",
                "Runs",
                "Secrets",
                "Store",
                "Targets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bastion-janitor",
            dependencies: [
                "Bus",
                "Core",
                "Secrets",
                "Store",
                "Targets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bastion-bench",
            dependencies: sharedRooms + [
                "TestClients",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/bastion-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: sharedRooms + [
                "TestClients",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestClients",
            dependencies: ["Archive", "Core", "CFileSystem", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestClients",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProcessTests",
            dependencies: sharedRooms + [
                "TestClients",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Tests of code only one executable has: `@testable import` of that executable's module.
        .testTarget(
            name: "APITests",
            dependencies: ["bastion-api", "Core", "Store", "TestClients", .product(name: "OpenAPIKit30", package: "OpenAPIKit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JanitorTests",
            dependencies: ["bastion-janitor", "Core", "Store", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
    ]
)

// The libFuzzer targets (docs/security.md, "Fuzzing"): one executable over the parsers of outside input, in the package
// only when `BASTION_FUZZ=1` (`make fuzz-build`, with a scratch path of its own and `-sanitize=fuzzer,address`), so an
// ordinary build never compiles or sanitizes it. It depends on the rooms with parsers and their small dependencies only.
if Context.environment["BASTION_FUZZ"] == "1" {
    package.targets += [
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "bastion-fuzz",
            dependencies: ["Archive", "Bus", "CLibFuzzer", "Core"],
            path: "Fuzz/bastion-fuzz",
            swiftSettings: swiftSettings
        ),
    ]
}
