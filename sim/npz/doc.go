// Package npz reads and writes NumPy's .npy array files and .npz archives, so
// that ratesim results open with numpy.load and arrays prepared in Python
// (weights, inputs, initial states) can be handed to the simulator.
//
// Writing produces version 1.0 .npy data (2.0 only when a header would not fit
// in 1.0), little-endian and C order, the layout numpy itself writes. Every
// write is atomic: data goes to a temporary file in the destination directory,
// which is fsynced and renamed onto the final path only once every declared
// array received exactly its declared bytes. A failed, aborted or interrupted
// write therefore never leaves a complete-looking file at the destination (at
// worst a hidden ".NAME.*.tmp" file next to it).
//
// Reading accepts .npy versions 1.0, 2.0 and 3.0, either byte order, and C or
// Fortran order (Fortran data is transposed to C order on read). Only plain
// numeric and boolean dtypes are supported; object arrays are rejected without
// ever being unpickled. Malformed input of any kind yields an *Error naming the
// file, the array inside an archive and the reason — never a panic — and no
// allocation is made for more data than the input can actually supply.
package npz
