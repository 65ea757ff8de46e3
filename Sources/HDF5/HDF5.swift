// The safe Swift layer over HDF5 (being written).
internal import CHDF5
