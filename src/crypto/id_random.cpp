#include "crypto/id_random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace relay::crypto {
namespace {

// 512 bytes: 21 request ids' and lease ids' worth per refill, small enough that a thread that
// makes few ids does not hold many unused random bytes.
struct Pool {
  std::array<unsigned char, 512> bytes{};
  std::size_t used = bytes.size();
  ~Pool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

thread_local Pool pool;

}  // namespace

void id_random_bytes(unsigned char* out, std::size_t n) {
  while (n > 0) {
    if (pool.used == pool.bytes.size()) {
      if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
      pool.used = 0;
    }
    const std::size_t take = std::min(n, pool.bytes.size() - pool.used);
    std::copy_n(pool.bytes.data() + pool.used, take, out);
    // Handed-out bytes do not stay behind in the pool.
    OPENSSL_cleanse(pool.bytes.data() + pool.used, take);
    pool.used += take;
    out += take;
    n -= take;
  }
}

std::string id_random_hex(std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  unsigned char chunk[32];
  std::size_t at = 0;
  while (n > 0) {
    const std::size_t take = std::min(n, sizeof chunk);
    id_random_bytes(chunk, take);
    for (std::size_t i = 0; i < take; ++i) {
      out[at++] = kHex[chunk[i] >> 4];
      out[at++] = kHex[chunk[i] & 15];
    }
    n -= take;
  }
  return out;
}

}  // namespace relay::crypto
