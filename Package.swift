// swift-tools-version:6.2
import PackageDescription

/// Our own targets build in Swift 6 mode with strict concurrency and no warnings tolerated.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "perfmond",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "perfmond", targets: ["perfmond"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "PerfJSON", swiftSettings: strict),
        .target(
            name: "MicroHTTPD",
            dependencies: ["CMicroHTTPD", "PerfJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(name: "CSystem"),
        // libcurl is linked already (the static FoundationNetworking needs it; libcurl4-openssl-dev
        // is in the Makefile's build packages): remote write uses it for a CA file of its own.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "PerfMonitor", dependencies: ["PerfJSON", "CSystem", "CZlib"], swiftSettings: strict),
        .target(name: "StatsDServer", dependencies: ["PerfMonitor", "CSystem"], swiftSettings: strict),
        .target(name: "PerfmondAPI", dependencies: ["PerfMonitor", "PerfJSON"], swiftSettings: strict),
        .target(
            name: "AlertSinks",
            dependencies: ["PerfMonitor", "PerfmondAPI", "PerfJSON", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "PerfmondConfig",
            dependencies: ["PerfMonitor", "PerfmondAPI", "PerfJSON", "MicroHTTPD", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "PerfMonitorHTTP",
            dependencies: ["MicroHTTPD", "PerfJSON", "PerfMonitor", "PerfmondAPI", "PerfmondConfig", "AlertSinks", "CZlib", "CCurl",
                           .product(name: "Logging", package: "swift-log")],
            resources: [.embedInCode("Dashboard/dashboard.html")],
            swiftSettings: strict
        ),
        .target(
            name: "PerfmondTools",
            dependencies: ["PerfJSON", "PerfMonitor", "PerfmondConfig", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "perfmond",
            dependencies: [
                "MicroHTTPD", "PerfJSON", "PerfMonitor", "PerfMonitorHTTP", "PerfmondConfig", "AlertSinks", "PerfmondTools", "StatsDServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(name: "TestSupport", dependencies: ["PerfMonitor", "MicroHTTPD"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "MicroHTTPDTests",
            dependencies: ["MicroHTTPD", "PerfJSON", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PerfMonitorTests",
            dependencies: ["PerfMonitor", "PerfJSON", "TestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PerfMonitorHTTPTests",
            dependencies: ["PerfMonitorHTTP", "PerfMonitor", "PerfJSON", "PerfmondConfig", "AlertSinks", "MicroHTTPD", "TestSupport"],
            exclude: ["Golden"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AlertSinksTests",
            dependencies: ["AlertSinks", "PerfMonitor", "MicroHTTPD", "PerfJSON", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PerfmondConfigTests",
            dependencies: ["PerfmondConfig", "PerfMonitor", "PerfJSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["TestSupport", "PerfJSON", "PerfMonitor", "PerfmondTools", "perfmond"],
            swiftSettings: strict
        ),
    ]
)
