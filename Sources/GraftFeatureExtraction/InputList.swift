import GraftFeatureCache
import Foundation
import GraftSupport
/// One image to extract features from.
public struct InputItem: Sendable, Hashable {
    /// The image's id in the cache: the path as given in a list, the path relative to an input
    /// folder, or the tar member name.
    public var id: String
    /// Where to read the file.
    public var path: String
    /// Index into the list's classes, −1 when unlabelled.
    public var label: Int64

    public init(id: String, path: String, label: Int64) {
        self.id = id
        self.path = path
        self.label = label
    }
}

/// The images of one run, in input order, with their class list.
///
/// Class names are sorted by their UTF-8 bytes, as Keras sorts class folders (Python string
/// order); when every label is a decimal integer (Caffe's `path label` lists) they are sorted by
/// value instead, so label 10 follows label 9. A fixed class list (`--classes`) overrides both:
/// labels are indices into it, and a label outside it is an error.
public struct InputList: Sendable {
    public var items: [InputItem]
    public var classes: [String]

    /// The extensions an image file in a folder or tar stream must have (case-insensitive):
    /// those Keras's `image_dataset_from_directory` keeps (`.jpg`, `.jpeg`, `.png`, `.bmp`,
    /// `.gif`) and the WebP and TIFF ones, which Keras skips but graft decodes. The extension
    /// only picks the files; the format is then recognised from the content.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff"]

    /// SHA-256 of the list as resolved: one line per item, `id` then a space and the class
    /// name for labelled items, each ending in a newline.
    public var sha256: String {
        var hasher = SHA256()
        for item in items {
            var line = item.id
            if item.label >= 0 { line += " " + classes[Int(item.label)] }
            hasher.update(Array((line + "\n").utf8))
        }
        return hexString(hasher.finalize())
    }

    /// Builds the list from `(id, path, class name or nil)` entries.
    public init(entries: [(id: String, path: String, className: String?)], fixedClasses: [String]? = nil) throws(ExtractionError) {
        var seen = Set<String>()
        for entry in entries where !seen.insert(entry.id).inserted {
            throw .duplicateInput(id: entry.id)
        }
        let classes: [String]
        if let fixedClasses {
            classes = fixedClasses
        } else {
            let names = Set(entries.compactMap(\.className))
            if !names.isEmpty, names.allSatisfy({ InputList.isDecimalInteger($0) }) {
                classes = names.sorted { (Int($0) ?? 0, $0.utf8.count) < (Int($1) ?? 0, $1.utf8.count) }
            } else {
                classes = names.sorted(by: precedesInByteOrder)
            }
        }
        var index: [String: Int64] = [:]
        for (position, name) in classes.enumerated() { index[name] = Int64(position) }
        var items: [InputItem] = []
        items.reserveCapacity(entries.count)
        for entry in entries {
            var label: Int64 = -1
            if let name = entry.className {
                guard let found = index[name] else { throw .unknownClass(name: name, id: entry.id, classes: classes) }
                label = found
            }
            items.append(InputItem(id: entry.id, path: entry.path, label: label))
        }
        self.items = items
        self.classes = classes
    }

    private static func isDecimalInteger(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 18 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    static func hasImageExtension(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    // MARK: Folders

    /// The images of a folder: each immediate subfolder is a class (its images found
    /// recursively, folders in path order and files in name order within each, as Keras's
    /// `image_dataset_from_directory` lists them); images directly in the folder are unlabelled
    /// and come first. Ids are paths relative to the folder.
    public init(folder: String, fixedClasses: [String]? = nil) throws(ExtractionError) {
        let top = try InputList.listFolder(folder)
        var entries: [(id: String, path: String, className: String?)] = []
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        for name in top.files.sorted(by: precedesInByteOrder) where InputList.hasImageExtension(name) {
            entries.append((id: name, path: base + name, className: nil))
        }
        for className in top.folders.sorted(by: precedesInByteOrder) {
            // (folder relative path, sorted files), visited in path order like sorted(os.walk()).
            var pending = [className]
            var visited: [(String, [String])] = []
            while let relative = pending.popLast() {
                let listing = try InputList.listFolder(base + relative)
                visited.append((relative, listing.files.sorted(by: precedesInByteOrder)))
                pending += listing.folders.map { relative + "/" + $0 }
            }
            for (relative, files) in visited.sorted(by: { precedesInByteOrder($0.0, $1.0) }) {
                for file in files where InputList.hasImageExtension(file) {
                    entries.append((id: relative + "/" + file, path: base + relative + "/" + file, className: className))
                }
            }
        }
        try self.init(entries: entries, fixedClasses: fixedClasses)
    }

    /// The regular files and subfolders (symbolic links followed) of `folder`, unsorted.
    private static func listFolder(_ folder: String) throws(ExtractionError) -> (files: [String], folders: [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder)
            throw .unreadableInput(path: folder, reason: !exists ? "no such file or folder" : isFolder.boolValue ? "permission denied" : "not a folder")
        }
        var files: [String] = [], folders: [String] = []
        for name in names {
            var info = stat()
            guard stat(folder + "/" + name, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: folders.append(name)
            case S_IFREG: files.append(name)
            default: break
            }
        }
        return (files, folders)
    }

    // MARK: Lists

    /// The images of a list: one `path label` line each, split at the last space as Caffe's
    /// `convert_imageset` does, or a bare `path` (unlabelled). Empty lines are skipped, a
    /// trailing carriage return is dropped. Relative paths are read from `root` (default: the
    /// working folder); ids are the paths as written.
    /// `source` names the list file in errors. A line with a blank path, or a path given on two
    /// lines, is an error naming the line numbers.
    public init(listText: String, root: String? = nil, fixedClasses: [String]? = nil,
                source: String? = nil) throws(ExtractionError) {
        var entries: [(id: String, path: String, className: String?)] = []
        var firstLine: [String: Int] = [:]
        for (index, rawLine) in listText.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = Substring(rawLine)
            while let last = line.last, last == "\r" || last == " " || last == "\t" { line = line.dropLast() }
            guard !line.isEmpty else { continue }
            var id = String(line)
            var className: String?
            if let space = line.lastIndex(of: " ") {
                id = String(line[..<space])
                className = String(line[line.index(after: space)...])
            }
            guard id.contains(where: { $0 != " " && $0 != "\t" }) else {
                throw .blankListPath(list: source, line: index + 1)
            }
            if let previous = firstLine[id] {
                throw .duplicateListEntry(list: source, id: id, firstLine: previous, line: index + 1)
            }
            firstLine[id] = index + 1
            let path = id.hasPrefix("/") || root == nil ? id : (root!.hasSuffix("/") ? root! : root! + "/") + id
            entries.append((id: id, path: path, className: className))
        }
        try self.init(entries: entries, fixedClasses: fixedClasses)
    }

    /// Reads a list file (see `init(listText:root:fixedClasses:)`).
    public init(listFile: String, root: String? = nil, fixedClasses: [String]? = nil) throws(ExtractionError) {
        let text: String
        do {
            text = try readTextFile(listFile)
        } catch {
            switch error {
            case let .cannotOpen(_, reason), let .readFailed(_, reason), let .cannotCreate(_, reason), let .writeFailed(_, reason):
                throw .unreadableInput(path: listFile, reason: reason)
            }
        }
        try self.init(listText: text, root: root, fixedClasses: fixedClasses, source: listFile)
    }
}
