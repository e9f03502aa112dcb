#include "limits/counter_store.hpp"

#include <cstring>
#include <initializer_list>

// Key names are part of the Redis data layout (docs/limits.md): every node, and every release
// of the relay, must spell them alike. Tenant names hold no ':' (store::is_valid_name), so the
// fields cannot run into each other.
namespace relay::limits {
namespace {

// Sized once and filled by copies: admission and settle build about ten keys per request.
std::string join(std::initializer_list<std::string_view> parts) {
  if (parts.size() == 0) return {};
  std::size_t size = parts.size() - 1;
  for (std::string_view p : parts) size += p.size();
  std::string out(size, ':');
  char* at = out.data();
  for (std::string_view p : parts) {
    std::memcpy(at, p.data(), p.size());
    at += p.size() + 1;
  }
  return out;
}

}  // namespace

std::string rate_key(std::string_view tenant, std::string_view window) {
  return join({"rate", tenant, window});
}

std::string lease_key(std::string_view tenant) {
  return join({"lease", tenant});
}

std::string usage_key(std::string_view tenant, std::string_view period, std::string_view what) {
  return join({"usage", tenant, period, what});
}

}  // namespace relay::limits
