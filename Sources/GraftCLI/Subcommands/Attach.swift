import ArgumentParser
import Foundation
import GraftModel
import GraftSupport
import GraftHead
/// `graft attach TRUNK.graft HEAD.graft -o FULL.graft`: one model from images to classes.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a head to the trunk its features came from: one model that classifies images end to end.",
        discussion: """
            The trunk must be the .graft file the head's training cache was made with (its SHA-256 \
            is checked). The trunk is cut at the head's layer, reduced as the cache was (global \
            pooling for --pool avg|max, Flatten for a spatial layer without pooling), and the head's \
            standardisation is folded into its first Dense layer. The model records the preprocessing \
            the cache was made with and the class names, so 'graft predict FULL.graft images/' needs \
            no other option.
            """)

    @Argument(help: "The trunk model (.graft) the cache was made with.")
    var trunk: String

    @Argument(help: "The head written by graft train.")
    var head: String

    @Option(name: .shortAndLong, help: "The model to write (.graft).")
    var output: String

    func run() throws {
        let trunkFile = try ModelFile(path: trunk)
        let headFile = try ModelFile(path: head)
        let result = try HeadAttachment.attach(trunk: trunkFile, head: headFile)
        try ModelWriter.write(graph: result.graph, weights: result.weights, to: output)
        for note in result.notes { printDiagnostic("note: " + note) }
        let classes = result.graph.recordedClassNames ?? []
        printDiagnostic("wrote '\(output)': \(result.graph.nodes.count) nodes, input '\(result.graph.inputs.map(\.name).joined(separator: ","))', "
            + "output '\(result.graph.outputs.joined(separator: ","))' over \(classes.count) classes")
    }
}
