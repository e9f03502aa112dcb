#include "limits/counter_store.hpp"

#include <cstring>
#include <initializer_list>
#include <utility>

// Key names are part of the Redis data layout (docs/limits.md): every node, and every release
// of the relay, must spell them alike. Tenant names hold no ':' (store::is_valid_name), so the
// fields cannot run into each other.
namespace relay::limits {
namespace {

std::size_t joined_size(std::initializer_list<std::string_view> parts) {
  std::size_t size = parts.size() - 1;
  for (std::string_view p : parts) size += p.size();
  return size;
}

// Writes the parts with ':' between them; `at` has room for joined_size(parts).
void join_into(char* at, std::initializer_list<std::string_view> parts) {
  bool first = true;
  for (std::string_view p : parts) {
    if (!std::exchange(first, false)) *at++ = ':';
    std::memcpy(at, p.data(), p.size());
    at += p.size();
  }
}

// Sized once and filled by copies: admission and settle build about ten keys per request.
std::string join(std::initializer_list<std::string_view> parts) {
  std::string out(joined_size(parts), ':');
  join_into(out.data(), parts);
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

UsageKey::UsageKey(std::string_view tenant, std::string_view period, std::string_view what) {
  const std::initializer_list<std::string_view> parts{"usage", tenant, period, what};
  const std::size_t size = joined_size(parts);
  char* at = inline_.data();
  if (size > inline_.size()) {
    heap_.resize(size);
    at = heap_.data();
  }
  join_into(at, parts);
  view_ = {at, size};
}

}  // namespace relay::limits
