// graft's view of giflib 5 (Debian libgif-dev). graft reads the records of a GIF from memory
// through DGifOpen's input function and decodes only the first image; giflib reports errors by
// return value and an error code that GifErrorString turns into its message.
#ifndef GRAFT_CGIF_SHIM_H
#define GRAFT_CGIF_SHIM_H
#include <gif_lib.h>
#endif
