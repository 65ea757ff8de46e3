// graft's view of libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev). graft decodes JPEG
// only through this API: it reports errors by return value and tjGetErrorStr2, never by longjmp,
// which Swift cannot survive.
#ifndef GRAFT_CTURBOJPEG_SHIM_H
#define GRAFT_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
