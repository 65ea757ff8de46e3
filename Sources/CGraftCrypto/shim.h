// graft's view of OpenSSL's libcrypto (Debian libssl-dev): only its EVP message digests, for the
// SHA-256 of source files, models and input lists. libcrypto picks the fastest code for the CPU
// at run time (SHA extensions, AVX2 or plain x86-64).
#ifndef GRAFT_CCRYPTO_SHIM_H
#define GRAFT_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>
#endif
