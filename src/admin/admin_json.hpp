#pragma once
// The admin API's request bodies, parsed (simdjson) into plain structs. Strict: the body must
// be one JSON object, unknown fields and wrong types are errors. Error texts name fields, never
// the values (a credential or a proxy URL may be among them). Fuzzed: tests/fuzz/fuzz_admin_json.
#include <optional>
#include <string>
#include <string_view>

#include "store/config_store.hpp"

namespace relay::admin {

template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // set when value is not
};

struct TenantCreate {
  std::string name;
  std::optional<bool> enabled;
  store::TenantLimitsUpdate limits;
};

struct TenantPatch {
  std::optional<bool> enabled;
  store::TenantLimitsUpdate limits;
};

struct KeyCreate {
  std::string tenant;
  std::optional<std::int64_t> expires_at;  // unix seconds
  store::TenantLimitsUpdate limits;
};

struct KeyPatch {
  store::TenantLimitsUpdate limits;
};

struct AccountCreate {
  store::NewAccount account;  // credential in plaintext: the caller wipes it
  std::optional<bool> enabled;
};

struct AccountPatch {
  std::optional<bool> enabled;
  store::AccountUpdate update;
};

struct EgressCreate {
  store::NewEgress egress;  // url may hold a password: the caller wipes it
};

Parsed<TenantCreate> parse_tenant_create(std::string_view body);
Parsed<TenantPatch> parse_tenant_patch(std::string_view body);
Parsed<KeyCreate> parse_key_create(std::string_view body);
Parsed<KeyPatch> parse_key_patch(std::string_view body);
Parsed<AccountCreate> parse_account_create(std::string_view body);
Parsed<AccountPatch> parse_account_patch(std::string_view body);
Parsed<EgressCreate> parse_egress_create(std::string_view body);

}  // namespace relay::admin
