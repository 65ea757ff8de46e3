// graft's view of zlib: raw deflate streams (the members of a zip archive) and CRC-32.
// inflateInit2 is a macro over inflateInit2_ that passes zlib's version and the size of
// z_stream, which Swift cannot expand; the prefixed helpers below do it.
#ifndef GRAFT_CZLIB_SHIM_H
#define GRAFT_CZLIB_SHIM_H

#include <zlib.h>

/// Prepares `stream` (zeroed by the caller) to inflate a raw deflate stream, without a zlib or
/// gzip header, as zip stores it (RFC 1951; window bits -15).
static inline int graft_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -MAX_WBITS);
}

#endif
