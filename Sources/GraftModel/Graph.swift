// The .graft model format (being written).
