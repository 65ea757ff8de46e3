// Tensors and NumPy .npy files (being written).
