internal import CGraftHDF5
extension HDF5Group {
    /// Creates a virtual dataset at `path` that concatenates rows of datasets in other files
    /// along the first axis, without copying them (HDF5 1.10 virtual datasets).
    ///
    /// Each source's `rows` of `dataset` in `file` appear, in order, as the next rows of the
    /// virtual dataset, so `shape[0]` must be the total number of source rows and the other
    /// axes must match every source's. A relative `file` is relative to the folder of this
    /// dataset's file — HDF5 looks there when reading — and `"."` means this file. The sources
    /// are opened now to check that they exist and fit. Reading a virtual dataset whose
    /// source files have gone reads the missing rows as zeros.
    @discardableResult
    public func createVirtualDataset(
        _ path: String, of elementType: HDF5ElementType, shape: [Int],
        sources: [(file: String, dataset: String, rows: Range<Int>)]
    ) throws(HDF5Error) -> HDF5Dataset {
        let (parent, name, target) = try prepareCreation(of: path, object: "dataset")
        let invalid = { (detail: String) in
            HDF5Error.sizeMismatch(path: self.file.path, object: "virtual dataset '\(target)'", detail: detail)
        }
        guard let rowCount = shape.first else { throw invalid("a scalar dataset cannot be virtual") }
        let sourceRows = sources.reduce(0) { $0 + $1.rows.count }
        guard sourceRows == rowCount else {
            throw invalid("its \(rowCount) rows differ from the \(sourceRows) rows of its sources")
        }

        var sourceShapes: [[Int]] = []
        for source in sources {
            let dataset: HDF5Dataset
            if source.file == "." {
                dataset = try self.dataset(source.dataset)
            } else {
                let folder = file.path.lastIndex(of: "/").map { String(file.path[...$0]) } ?? ""
                dataset = try HDF5File(opening: source.file.hasPrefix("/") ? source.file : folder + source.file)
                    .dataset(source.dataset)
            }
            let described = "source '\(source.file)' dataset '\(dataset.path)'"
            let sourceShape = try dataset.shape
            guard sourceShape.count == shape.count, sourceShape.dropFirst() == shape.dropFirst() else {
                throw invalid("\(described) has shape \(sourceShape), whose rows differ from shape \(shape)")
            }
            guard source.rows.lowerBound >= 0, source.rows.upperBound <= sourceShape[0] else {
                throw invalid("\(described) has no rows \(source.rows.lowerBound)..<\(source.rows.upperBound); it has \(sourceShape[0])")
            }
            let stored = try dataset.storedType
            guard stored.elementType == elementType, elementType != .string || stored.isVariableLength else {
                throw .wrongType(path: dataset.filePath, object: "dataset '\(dataset.path)'",
                                 expected: elementType.description, actual: stored.description)
            }
            sourceShapes.append(sourceShape)
        }

        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            let operation = "creating virtual dataset '\(target)'"
            let type = try makeFileType(for: elementType, in: file.path)
            let creation = try makePropertyList(graft_H5P_DATASET_CREATE(), in: file.path)
            let virtualSpace = try makeDataspace(shape: shape, in: file.path)
            var offset = 0
            for (source, sourceShape) in zip(sources, sourceShapes) where !source.rows.isEmpty {
                try selectRows(offset..<offset + source.rows.count, of: virtualSpace.id, shape: shape, in: file.path, operation)
                let sourceSpace = try makeDataspace(shape: sourceShape, in: file.path)
                try selectRows(source.rows, of: sourceSpace.id, shape: sourceShape, in: file.path, operation)
                try check(H5Pset_virtual(creation.id, virtualSpace.id, source.file.escapingPercentSigns,
                                         source.dataset.escapingPercentSigns, sourceSpace.id),
                          in: file.path, operation)
                offset += source.rows.count
            }
            let linkCreation = try makeLinkCreationList(in: file.path)
            return try Handle(
                checking: H5Dcreate2(parent.handle.id, name, type.id, virtualSpace.id, linkCreation.id, creation.id, graft_H5P_DEFAULT()),
                .object, in: file.path, operation)
        }
        return HDF5Dataset(file: file, path: target, handle: handle)
    }
}

private extension String {
    /// The string as an HDF5 virtual-source name, a printf-like pattern in which "%%" stands
    /// for "%".
    var escapingPercentSigns: String {
        var result = ""
        for character in self {
            if character == "%" { result += "%%" } else { result.append(character) }
        }
        return result
    }
}
