#pragma once
// Random bytes for public identifiers (random_hex in relay_key.hpp), which the relay makes per
// request (request ids, lease ids). They must stay unguessable, so they come from OpenSSL's
// CSPRNG, but in batches: one RAND_bytes call costs about as much as the rest of building the
// id, and the relay makes two per request (bench/README.md, W1 profile). Secrets (keys, tokens)
// take RAND_bytes directly.
#include <cstddef>

namespace relay::crypto {

// Fills out[0, n) from a per-thread buffer refilled by RAND_bytes. Throws if OpenSSL cannot
// supply random bytes (as RAND_bytes callers here always did). n may be any size.
void id_random_bytes(unsigned char* out, std::size_t n);

}  // namespace relay::crypto
