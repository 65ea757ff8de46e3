// graft's view of HDF5 1.10 (Debian's hdf5-serial). The H5T_NATIVE_*, H5P_DEFAULT, H5E_DEFAULT,
// H5F_ACC_* and H5S_ALL names are macros (some expand to global ids that need H5open()), so Swift
// cannot import them; each is wrapped here in a prefixed static inline function.
#ifndef GRAFT_CHDF5_SHIM_H
#define GRAFT_CHDF5_SHIM_H
#include <hdf5.h>
#include <hdf5_hl.h>

static inline hid_t graft_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t graft_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t graft_H5S_ALL(void) { return H5S_ALL; }
static inline unsigned graft_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned graft_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned graft_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned graft_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }

static inline hid_t graft_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t graft_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t graft_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t graft_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t graft_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t graft_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t graft_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t graft_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t graft_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t graft_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t graft_H5T_NATIVE_HBOOL(void) { return H5T_NATIVE_HBOOL; }
static inline hid_t graft_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t graft_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t graft_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t graft_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t graft_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t graft_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hsize_t graft_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline hid_t graft_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t graft_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t graft_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t graft_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline size_t graft_H5T_VARIABLE(void) { return H5T_VARIABLE; }

static inline hid_t graft_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t graft_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t graft_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline hid_t graft_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }

// Error classes that mean "the disk or the file system failed" rather than "the data is wrong".
static inline hid_t graft_H5E_IO(void) { return H5E_IO; }
static inline hid_t graft_H5E_READERROR(void) { return H5E_READERROR; }
static inline hid_t graft_H5E_WRITEERROR(void) { return H5E_WRITEERROR; }
static inline hid_t graft_H5E_SEEKERROR(void) { return H5E_SEEKERROR; }
static inline hid_t graft_H5E_CLOSEERROR(void) { return H5E_CLOSEERROR; }

/// H5LTopen_file_image flags for a read-only image that HDF5 must neither copy nor free.
static inline unsigned graft_H5LT_FILE_IMAGE_IN_PLACE(void) {
    return H5LT_FILE_IMAGE_DONT_COPY | H5LT_FILE_IMAGE_DONT_RELEASE;
}

#endif
