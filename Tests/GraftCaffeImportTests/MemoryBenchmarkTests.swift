import GraftCaffeImport
import Foundation
import GraftModel
import GraftTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Converts the VGG16 caffemodel `Tools/caffe-zoo --vgg16` writes and reports the process's peak
/// resident size against the budget 1.5 × file size + 100 MB. Runs only when
/// `GRAFT_CAFFE_VGG16_DIR` names the tool's work folder (the file is 553 MB).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["GRAFT_CAFFE_VGG16_DIR"] != nil,
                 "GRAFT_CAFFE_VGG16_DIR does not name the work folder of Tools/caffe-zoo --vgg16"))
struct MemoryBenchmarkTests {
    @Test func vgg16ConvertsWithinTheMemoryBudget() throws {
        let folder = ProcessInfo.processInfo.environment["GRAFT_CAFFE_VGG16_DIR"]!
        let tools = repositoryRoot.appendingPathComponent("Tools")
        let weights = "\(folder)/vgg16.caffemodel"
        let size = try FileManager.default.attributesOfItem(atPath: weights)[.size] as! Int
        let start = Date()
        let conversion = try CaffeImporter.convert(prototxt: tools.appendingPathComponent("vgg16-deploy.prototxt").path, weights: weights)
        try ModelWriter.write(graph: conversion.graph, weights: conversion.weights, to: "\(folder)/vgg16.graft")
        let seconds = Date().timeIntervalSince(start)
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let peak = usage.ru_maxrss * 1024
        let budget = Int(1.5 * Double(size)) + 100_000_000
        print("vgg16: \(size / 1_000_000) MB caffemodel, peak RSS \(peak / 1_000_000) MB (budget \(budget / 1_000_000) MB), \(String(format: "%.1f", seconds)) s, \(String(format: "%.0f", Double(size) / 1e6 / seconds)) MB/s")
        #expect(peak <= budget)
    }
}
