// swift-tools-version: 6.1
import PackageDescription

/// graft: transfer learning on the command line.
///
/// C libraries come in as `systemLibrary` targets (a module map and a prefixed shim header each);
/// the Swift modules above them each have one job, and the `graft` executable only parses arguments.
let package = Package(
    name: "graft",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "graft", targets: ["graft"]),
        .library(name: "GraftSupport", targets: ["GraftSupport"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "GraftModel", targets: ["GraftModel"]),
        .library(name: "GraftCLI", targets: ["GraftCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
    ],
    targets: [
        // C libraries: module map + shim only.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c",
                       providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),

        // Swift modules.
        .target(name: "GraftSupport"),
        .target(name: "HDF5", dependencies: ["CHDF5", "GraftSupport"]),
        .target(name: "Tensors", dependencies: ["GraftSupport"]),
        .target(name: "GraftModel", dependencies: ["GraftSupport", "Tensors"]),
        .target(name: "GraftCLI", dependencies: [
            "GraftSupport", "Tensors", "GraftModel", "HDF5",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "graft", dependencies: ["GraftCLI"]),

        // Tests: one target per module, plus end-to-end tests of the built binary.
        .testTarget(name: "GraftSupportTests", dependencies: ["GraftSupport"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"], exclude: ["Fixtures"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], exclude: ["Fixtures"]),
        .testTarget(name: "GraftModelTests", dependencies: ["GraftModel", "Tensors"], exclude: ["Fixtures"]),
        .testTarget(name: "GraftCLITests", dependencies: ["GraftCLI", "GraftModel", "graft"]),
    ],
    swiftLanguageModes: [.v6]
)
