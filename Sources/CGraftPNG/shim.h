// graft's view of libpng 1.6 (Debian libpng-dev). graft decodes PNG only through the simplified
// png_image_* API, which reports errors in png_image.message instead of by longjmp.
#ifndef GRAFT_CPNG_SHIM_H
#define GRAFT_CPNG_SHIM_H
#include <png.h>
static inline png_uint_32 graft_PNG_IMAGE_VERSION(void) { return PNG_IMAGE_VERSION; }
static inline png_uint_32 graft_PNG_FORMAT_RGB(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 graft_PNG_FORMAT_RGBA(void) { return PNG_FORMAT_RGBA; }
static inline png_uint_32 graft_PNG_FORMAT_GRAY(void) { return PNG_FORMAT_GRAY; }
static inline png_uint_32 graft_PNG_IMAGE_FLAG_16BIT_sRGB(void) { return PNG_IMAGE_FLAG_16BIT_sRGB; }
#endif
