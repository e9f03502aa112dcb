// Fuzz target: the egress proxy URL parser. Any input gives a URL or an error, never both,
// never a crash; a URL is within range, and its curl form parses back to the same proxy.
// (That refusals never echo a password is checked by tests/unit/proxy_url_test.cpp.)
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "egress/proxy_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = relay::egress::parse_proxy_url(text);
  if (r.url.has_value() == !r.error.empty()) std::abort();
  if (r.url) {
    const auto& u = *r.url;
    if (u.host.empty() || u.port < 1 || u.port > 65535) std::abort();
    auto again = relay::egress::parse_proxy_url(u.for_curl());
    if (!again.url || again.url->for_curl() != u.for_curl() ||
        again.url->endpoint() != u.endpoint() || again.url->password != u.password)
      std::abort();
  }
  return 0;
}
