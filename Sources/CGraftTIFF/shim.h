// graft's view of libtiff 4.5 (Debian libtiff-dev). graft opens TIFF files from memory with
// TIFFClientOpenExt, whose per-handle error handler (TIFFOpenOptionsSetErrorHandlerExtR) carries
// libtiff's message back to the decoder that asked, and whose allocation cap
// (TIFFOpenOptionsSetMaxSingleMemAlloc) keeps a hostile header from making libtiff allocate
// what it merely claims.
#ifndef GRAFT_CTIFF_SHIM_H
#define GRAFT_CTIFF_SHIM_H
#include <stdarg.h>
#include <stdio.h>
#include <tiffio.h>
// TIFFGetField is variadic, which Swift cannot call: one typed getter per tag shape.
static inline int graft_TIFFGetUInt32(TIFF *tif, uint32_t tag, uint32_t *value) {
    return TIFFGetField(tif, tag, value);
}
static inline int graft_TIFFGetUInt16(TIFF *tif, uint32_t tag, uint16_t *value) {
    return TIFFGetField(tif, tag, value);
}
static inline int graft_TIFFGetUInt16Defaulted(TIFF *tif, uint32_t tag, uint16_t *value) {
    return TIFFGetFieldDefaulted(tif, tag, value);
}
/// ExtraSamples: a count and a pointer to libtiff's array.
static inline int graft_TIFFGetExtraSamples(TIFF *tif, uint16_t *count, const uint16_t **values) {
    uint16_t *pointer = NULL;
    int found = TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, count, &pointer);
    *values = pointer;
    return found;
}
/// ColorMap: three pointers to libtiff's arrays of 2^BitsPerSample entries.
static inline int graft_TIFFGetColorMap(TIFF *tif, const uint16_t **red, const uint16_t **green, const uint16_t **blue) {
    uint16_t *r = NULL, *g = NULL, *b = NULL;
    int found = TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b);
    *red = r; *green = g; *blue = b;
    return found;
}
static inline int graft_TIFFSetJPEGColorModeRGB(TIFF *tif) {
    return TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
}
/// Formats libtiff's message (printf format and arguments) into `buffer`.
static inline void graft_TIFFFormat(char *buffer, size_t size, const char *format, va_list arguments) {
    vsnprintf(buffer, size, format, arguments);
}
#endif
