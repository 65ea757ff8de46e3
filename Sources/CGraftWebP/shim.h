// graft's view of libwebp (Debian libwebp-dev). graft decodes WebP through the animation
// decoder of libwebpdemux, as Pillow does, so a still image and the first frame of an animation
// come out of the same code path. libwebp reports errors by return value.
#ifndef GRAFT_CWEBP_SHIM_H
#define GRAFT_CWEBP_SHIM_H
#include <webp/decode.h>
#include <webp/demux.h>
// The ABI-checked entry points are macros or inline functions in the headers; these wrappers
// give Swift functions to call.
static inline int graft_WebPGetFeatures(const uint8_t *data, size_t size, WebPBitstreamFeatures *features) {
    return (int)WebPGetFeatures(data, size, features);
}
static inline int graft_WebPInitDecoderConfig(WebPDecoderConfig *config) {
    return WebPInitDecoderConfig(config);
}
static inline int graft_WebPAnimDecoderOptionsInit(WebPAnimDecoderOptions *options) {
    return WebPAnimDecoderOptionsInit(options);
}
static inline WebPAnimDecoder *graft_WebPAnimDecoderNew(const WebPData *data, const WebPAnimDecoderOptions *options) {
    return WebPAnimDecoderNew(data, options);
}
#endif
