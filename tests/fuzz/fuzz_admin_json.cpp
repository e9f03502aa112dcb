// Fuzz target: the admin API's request-body parsers (src/admin/admin_json.hpp). Any input must
// give a value or an error, never both or neither, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admin/admin_json.hpp"

namespace {

template <class T>
void check(const relay::admin::Parsed<T>& p) {
  if (p.value.has_value() == !p.error.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  using namespace relay::admin;
  check(parse_tenant_create(body));
  check(parse_tenant_patch(body));
  check(parse_key_create(body));
  check(parse_key_patch(body));
  check(parse_account_create(body));
  check(parse_account_patch(body));
  check(parse_egress_create(body));
  return 0;
}
