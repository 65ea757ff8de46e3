import ArgumentParser
import GraftModel
import Foundation
/// `graft inspect MODEL.graft [--json]`: what a model holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model's inputs, outputs, nodes, parameter counts, provenance and preprocessing.")

    @Argument(help: "The .graft model file.")
    var model: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let file = try ModelFile(path: model)
        let summary = ModelSummary(file: file)
        if json {
            print(try summary.jsonText())
        } else {
            print(summary.table(), terminator: "")
        }
    }
}
