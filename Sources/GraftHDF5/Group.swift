internal import CGraftHDF5
/// What a link in a group points to.
public enum HDF5ObjectKind: Sendable, Equatable, CustomStringConvertible {
    case group, dataset, namedDatatype, unknown

    /// An English noun phrase, e.g. "a dataset".
    public var description: String {
        switch self {
        case .group: "a group"
        case .dataset: "a dataset"
        case .namedDatatype: "a named datatype"
        case .unknown: "an object of unknown kind"
        }
    }
}

/// The order in which `HDF5Group.memberNames(order:)` lists members.
public enum HDF5MemberOrder: Sendable {
    /// Byte-wise order of the names (h5py's default iteration order).
    case name
    /// The order the members were created in, if the group tracks it (groups graft creates
    /// do; h5py's do with `track_order=True`); name order otherwise.
    case creation
}

/// A group in an open HDF5 file: a folder of named links to groups and datasets.
///
/// Paths given to its methods are relative to the group, or absolute (from the file's root)
/// when they start with `/`; components are separated by `/`.
public final class HDF5Group: @unchecked Sendable {
    /// The path of the file the group is in.
    public var filePath: String { file.path }
    /// The group's absolute path in the file, e.g. `/model_weights/dense`.
    public let path: String
    let file: OpenFile
    let handle: Handle

    init(file: OpenFile, path: String, handle: consuming Handle) {
        self.file = file
        self.path = path
        self.handle = handle
    }

    convenience init(openingRootOf file: OpenFile) throws(HDF5Error) {
        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            try Handle(checking: H5Gopen2(file.handle.id, "/", graft_H5P_DEFAULT()), .object,
                       in: file.path, "opening the root group")
        }
        self.init(file: file, path: "/", handle: handle)
    }

    /// The group's attributes.
    public var attributes: HDF5Attributes { HDF5Attributes(owner: self) }

    /// Whether `path` names an existing object. Missing intermediate groups, or an
    /// intermediate component that is not a group, make it false rather than an error.
    public func contains(_ path: String) throws(HDF5Error) -> Bool {
        let components = absolutePath(path).split(separator: "/")
        return withLibrary {
            var prefix = ""
            for component in components {
                prefix += "/" + component
                guard H5Lexists(handle.id, prefix, graft_H5P_DEFAULT()) > 0 else {
                    _ = H5Eclear2(graft_H5E_DEFAULT())
                    return false
                }
            }
            guard !prefix.isEmpty else { return true }
            let exists = H5Oexists_by_name(handle.id, prefix, graft_H5P_DEFAULT()) > 0
            _ = H5Eclear2(graft_H5E_DEFAULT())
            return exists
        }
    }

    /// What the link at `path` points to. Throws `notFound` if there is nothing there.
    public func kind(ofMember path: String) throws(HDF5Error) -> HDF5ObjectKind {
        let target = absolutePath(path)
        guard try contains(target) else { throw .notFound(path: file.path, object: "object '\(target)'") }
        return try withLibrary { () throws(HDF5Error) -> HDF5ObjectKind in
            var info = H5O_info_t()
            try check(H5Oget_info_by_name2(handle.id, target, &info, UInt32(H5O_INFO_BASIC), graft_H5P_DEFAULT()),
                      in: file.path, "inspecting object '\(target)'")
            switch info.type {
            case H5O_TYPE_GROUP: return .group
            case H5O_TYPE_DATASET: return .dataset
            case H5O_TYPE_NAMED_DATATYPE: return .namedDatatype
            default: return .unknown
            }
        }
    }

    /// Opens the group at `path`. With `creatingIfNeeded`, creates it and any missing groups
    /// above it; otherwise throws `notFound` if it does not exist. Throws `wrongType` if the
    /// path (or a component of it) is not a group.
    public func group(_ path: String, creatingIfNeeded: Bool = false) throws(HDF5Error) -> HDF5Group {
        let target = absolutePath(path)
        if try contains(target) {
            let kind = try kind(ofMember: target)
            guard kind == .group else {
                throw .wrongType(path: file.path, object: "link '\(target)'", expected: "a group", actual: kind.description)
            }
            let handle = try withLibrary { () throws(HDF5Error) -> Handle in
                try Handle(checking: H5Gopen2(self.handle.id, target, graft_H5P_DEFAULT()), .object,
                           in: file.path, "opening group '\(target)'")
            }
            return HDF5Group(file: file, path: target, handle: handle)
        }
        guard creatingIfNeeded else { throw .notFound(path: file.path, object: "group '\(target)'") }
        var prefix = ""
        for component in target.split(separator: "/") {
            prefix += "/" + component
            if try contains(prefix) {
                let kind = try kind(ofMember: prefix)
                guard kind == .group else {
                    throw .wrongType(path: file.path, object: "link '\(prefix)'", expected: "a group", actual: kind.description)
                }
                continue
            }
            try withLibrary { () throws(HDF5Error) -> Void in
                let operation = "creating group '\(prefix)'"
                let creation = try makePropertyList(graft_H5P_GROUP_CREATE(), in: file.path)
                let order = UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED)
                try check(H5Pset_link_creation_order(creation.id, order), in: file.path, operation)
                let linkCreation = try makeLinkCreationList(in: file.path)
                _ = try Handle(checking: H5Gcreate2(handle.id, prefix, linkCreation.id, creation.id, graft_H5P_DEFAULT()),
                               .object, in: file.path, operation)
            }
        }
        return try group(target)
    }

    /// Opens the dataset at `path`; throws `notFound` if it does not exist and `wrongType` if
    /// it is not a dataset.
    public func dataset(_ path: String) throws(HDF5Error) -> HDF5Dataset {
        let target = absolutePath(path)
        guard try contains(target) else { throw .notFound(path: file.path, object: "dataset '\(target)'") }
        let kind = try kind(ofMember: target)
        guard kind == .dataset else {
            throw .wrongType(path: file.path, object: "link '\(target)'", expected: "a dataset", actual: kind.description)
        }
        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            try Handle(checking: H5Dopen2(self.handle.id, target, graft_H5P_DEFAULT()), .object,
                       in: file.path, "opening dataset '\(target)'")
        }
        return HDF5Dataset(file: file, path: target, handle: handle)
    }

    /// The names of the group's direct members (links), in `order`.
    public func memberNames(order: HDF5MemberOrder = .name) throws(HDF5Error) -> [String] {
        final class Names { var list: [String] = [] }
        let names = Names()
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = "listing the members of group '\(path)'"
            var index = H5_INDEX_NAME
            if order == .creation {
                let creation = try Handle(checking: H5Gget_create_plist(handle.id), .propertyList, in: file.path, operation)
                var flags: UInt32 = 0
                try check(H5Pget_link_creation_order(creation.id, &flags), in: file.path, operation)
                if flags & UInt32(H5P_CRT_ORDER_TRACKED) != 0 { index = H5_INDEX_CRT_ORDER }
            }
            let status = H5Literate(handle.id, index, H5_ITER_INC, nil, { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque())
            try check(status, in: file.path, operation)
        }
        return names.list
    }

    /// Deletes the link `path` (and so the object, if no other link points to it). HDF5 does not
    /// reclaim the space in the file. Throws `notFound` if there is no such link.
    public func removeMember(_ path: String) throws(HDF5Error) {
        let target = absolutePath(path)
        guard try contains(target) else { throw .notFound(path: file.path, object: "object '\(target)'") }
        try withLibrary { () throws(HDF5Error) -> Void in
            try check(H5Ldelete(handle.id, target, graft_H5P_DEFAULT()), in: file.path, "deleting '\(target)'")
        }
    }

    /// `path` made absolute and normalized: relative paths are taken from this group, empty and
    /// `.` components are dropped, and the result starts with `/`.
    func absolutePath(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : self.path + "/" + path
        let components = joined.split(separator: "/").filter { $0 != "." }
        return "/" + components.joined(separator: "/")
    }

    /// Checks that nothing exists at `path` yet (`object` describes what will be created there,
    /// e.g. "dataset") and returns the group it goes in (creating missing groups on the way),
    /// its last component and its absolute path.
    func prepareCreation(of path: String, object: String) throws(HDF5Error) -> (parent: HDF5Group, name: String, path: String) {
        let target = absolutePath(path)
        guard target != "/" else { throw .alreadyExists(path: file.path, object: "group '/'") }
        guard try !contains(target) else { throw .alreadyExists(path: file.path, object: "\(object) '\(target)'") }
        let slash = target.lastIndex(of: "/")!
        let parentPath = slash == target.startIndex ? "/" : String(target[..<slash])
        let parent = try group(parentPath, creatingIfNeeded: true)
        return (parent, String(target[target.index(after: slash)...]), target)
    }
}

/// A link creation property list that stores link names as UTF-8, as h5py does.
func makeLinkCreationList(in path: String) throws(HDF5Error) -> Handle {
    let list = try makePropertyList(graft_H5P_LINK_CREATE(), in: path)
    try check(H5Pset_char_encoding(list.id, H5T_CSET_UTF8), in: path, "setting up link creation")
    return list
}

extension HDF5Group: AttributeOwner {
    var objectID: hid_t { handle.id }
    var objectDescription: String { "group '\(path)'" }
}
