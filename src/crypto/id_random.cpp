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

}  // namespace relay::crypto
