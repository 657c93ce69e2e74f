// swift-tools-version:6.0
import PackageDescription

// Layering (DESIGN.md §2): each module imports only modules listed before it.
let package = Package(
    name: "cast",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cast", targets: ["cast"]),
        .library(name: "CastTensor", targets: ["CastTensor"]),
        .library(name: "CastModels", targets: ["CastModels"]),
        .library(name: "CastAdapters", targets: ["CastAdapters"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZMQ", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CReadline", pkgConfig: "readline",
                       providers: [.apt(["libreadline-dev"])]),
        // Our own C: the packed int8 weight kernels (AVX-512 with a portable fallback).
        .target(name: "CKernels"),
        .target(name: "CastTensor", dependencies: ["CBLAS", "CKernels"]),
        // Plots as SVG and terminal text graphics; a leaf that imports nothing of ours.
        .target(name: "CastPlot"),
        .target(name: "CastModels", dependencies: [
            "CastTensor", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "CastAdapters", dependencies: [
            "CastTensor", "CastModels", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Activation capture at named points, PCA, CKA, and their pictures.
        .target(name: "CastAnalysis", dependencies: ["CBLAS", "CastTensor", "CastModels", "CastAdapters", "CastPlot"]),
        // The cast language: lexer, parser, evaluator, values, builtins, display and progress.
        // The experiment (train, carry, score, compare): shared by `cast experiment` and the language.
        .target(name: "CastExperiment", dependencies: ["CastTensor", "CastModels", "CastAdapters", "CastAnalysis"]),
        .target(name: "CastScript", dependencies: ["CastTensor", "CastModels", "CastAdapters", "CastPlot", "CastAnalysis",
                                                   "CastExperiment"]),
        // The readline front end (`cast repl`): an input loop apart from the terminal transport.
        .target(name: "CastREPL", dependencies: ["CastScript", "CReadline"]),
        // The Jupyter kernel (`cast kernel`): wire protocol over libzmq, handlers, kernelspec install.
        .target(name: "CastKernel", dependencies: [
            "CastScript", "CZMQ", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "cast", dependencies: [
            "CBLAS", "CastTensor", "CastModels", "CastAdapters", "CastScript", "CastREPL", "CastKernel", "CastAnalysis", "CastExperiment",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Helpers the test targets share (real models, temporary folders, gradient errors).
        .target(name: "CastTestSupport", dependencies: ["CastTensor", "CastModels"], path: "Tests/CastTestSupport"),
        .testTarget(name: "CastTensorTests", dependencies: ["CastTensor"]),
        .testTarget(name: "CastPlotTests", dependencies: ["CastPlot"]),
        .testTarget(name: "CastModelsTests", dependencies: ["CastModels", "CastTestSupport"],
                    resources: [.copy("References")]),
        .testTarget(name: "CastAdaptersTests", dependencies: [
            "CastAdapters", "CastExperiment", "CastTestSupport", .product(name: "Crypto", package: "swift-crypto"),
        ],
                    resources: [.copy("References")]),
        .testTarget(name: "CastAnalysisTests", dependencies: ["CastAnalysis", "CastTestSupport"],
                    resources: [.copy("References")]),
        .testTarget(name: "CastScriptTests", dependencies: ["CastScript", "CastTestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "CastREPLTests", dependencies: ["CastREPL", "CastScript", "CastTestSupport"],
                    exclude: ["pty_driver.py"]),
        .testTarget(name: "CastKernelTests", dependencies: [
            "CastKernel", "CastScript", "CastTestSupport", .product(name: "Crypto", package: "swift-crypto"),
        ],
                    exclude: ["python"]),
    ]
)
