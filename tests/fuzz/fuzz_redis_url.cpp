// Fuzz target: the [redis] url parser. Any input gives an endpoint or an error, never both,
// never a crash, and an endpoint always within range. (That refusals never echo a password is
// checked by tests/unit/redis_url_test.cpp.)
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "redis/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view url(reinterpret_cast<const char*>(data), size);
  auto r = relay::redis::parse_url(url);
  if (r.endpoint.has_value() == !r.error.empty()) std::abort();
  if (r.endpoint) {
    const auto& e = *r.endpoint;
    if (e.host.empty() || e.port < 1 || e.port > 65535 || e.db < 0) std::abort();
  }
  return 0;
}
