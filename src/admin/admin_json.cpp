#include "admin/admin_json.hpp"

#include <simdjson.h>

#include <functional>

#include "admin/admin_fields.hpp"

namespace relay::admin {
namespace {

using simdjson::dom::element;
// One member of the body: "" when taken, else the error. Unknown names are errors.
using FieldFn = std::function<std::string(std::string_view name, element value)>;

std::string unknown(std::string_view name) {
  return "unknown field '" + std::string(name.substr(0, 64)) + "'";
}

std::string wrong_type(std::string_view name, std::string_view want) {
  return "field '" + std::string(name) + "' must be " + std::string(want);
}

std::string each_member(element value, std::string_view what, const FieldFn& field) {
  simdjson::dom::object obj;
  if (value.get(obj)) return std::string(what) + " must be a JSON object";
  for (auto [key, v] : obj)
    if (std::string err = field(key, v); !err.empty()) return err;
  return "";
}

std::string each_field(std::string_view body, const FieldFn& field) {
  thread_local simdjson::dom::parser parser;
  element doc;
  if (auto err = parser.parse(simdjson::padded_string(body)).get(doc))
    return std::string("the body is not valid JSON: ") + simdjson::error_message(err);
  return each_member(doc, "the body", field);
}

std::string take(std::string_view name, element v, std::string& out) {
  std::string_view s;
  if (v.get(s)) return wrong_type(name, "a string");
  out = std::string(s);
  return "";
}

std::string take(std::string_view name, element v, std::optional<bool>& out) {
  bool b = false;
  if (v.get(b)) return wrong_type(name, "true or false");
  out = b;
  return "";
}

std::string take(std::string_view name, element v, std::optional<std::int64_t>& out,
                 std::int64_t min, std::int64_t max) {
  std::int64_t n = 0;
  if (v.get(n) || n < min || n > max)
    return wrong_type(name, "an integer " + std::to_string(min) + ".." + std::to_string(max));
  out = n;
  return "";
}

std::string take(std::string_view name, element v, int& out, int min, int max) {
  std::optional<std::int64_t> n;
  if (std::string err = take(name, v, n, min, max); !err.empty()) return err;
  out = static_cast<int>(*n);
  return "";
}

std::string take(std::string_view name, element v, std::optional<int>& out, int min, int max) {
  int n = 0;
  if (std::string err = take(name, v, n, min, max); !err.empty()) return err;
  out = n;
  return "";
}

constexpr std::int64_t kMaxLimit = std::int64_t{1} << 53;

std::string take_limits(element v, store::TenantLimitsUpdate& out) {
  return each_member(v, "field 'limits'", [&](std::string_view name, element x) -> std::string {
    for (const LimitField& f : kLimitFields)
      if (name == f.json)
        return take("limits." + std::string(name), x, out.*f.update, 0, kMaxLimit);
    return unknown("limits." + std::string(name));
  });
}

// An array of model names; [] means every model.
std::string take_models(element v, std::vector<std::string>& out) {
  simdjson::dom::array arr;
  if (v.get(arr)) return wrong_type("models", "an array of strings");
  out.clear();
  for (element m : arr) {
    std::string_view s;
    if (m.get(s) || trim(s).empty()) return wrong_type("models", "an array of model names");
    out.push_back(trim(s));
  }
  return "";
}

std::string missing(std::string_view name) {
  return "missing field '" + std::string(name) + "'";
}

template <class T>
Parsed<T> result(T value, std::string error) {
  if (!error.empty()) return {std::nullopt, std::move(error)};
  return {std::move(value), ""};
}

}  // namespace

Parsed<TenantCreate> parse_tenant_create(std::string_view body) {
  TenantCreate t;
  bool has_name = false;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "name") return has_name = true, take(n, v, t.name);
    if (n == "enabled") return take(n, v, t.enabled);
    if (n == "limits") return take_limits(v, t.limits);
    return unknown(n);
  });
  if (err.empty() && !has_name) err = missing("name");
  return result(std::move(t), std::move(err));
}

Parsed<TenantPatch> parse_tenant_patch(std::string_view body) {
  TenantPatch t;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "enabled") return take(n, v, t.enabled);
    if (n == "limits") return take_limits(v, t.limits);
    return unknown(n);
  });
  if (err.empty() && !t.enabled && t.limits.empty())
    err = "give at least one of 'enabled' or 'limits'";
  return result(t, std::move(err));
}

Parsed<KeyCreate> parse_key_create(std::string_view body) {
  KeyCreate k;
  bool has_tenant = false;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "tenant") return has_tenant = true, take(n, v, k.tenant);
    if (n == "expires_at") return take(n, v, k.expires_at, 1, kMaxLimit);
    if (n == "limits") return take_limits(v, k.limits);
    return unknown(n);
  });
  if (err.empty() && !has_tenant) err = missing("tenant");
  return result(std::move(k), std::move(err));
}

Parsed<KeyPatch> parse_key_patch(std::string_view body) {
  KeyPatch k;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "limits") return take_limits(v, k.limits);
    return unknown(n);
  });
  if (err.empty() && k.limits.empty()) err = "give at least one limit in 'limits'";
  return result(k, std::move(err));
}

Parsed<AccountCreate> parse_account_create(std::string_view body) {
  AccountCreate a;
  store::NewAccount& n_ = a.account;
  bool has_name = false, has_url = false, has_cred = false;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "name") return has_name = true, take(n, v, n_.name);
    if (n == "base_url") return has_url = true, take(n, v, n_.base_url);
    if (n == "credential") return has_cred = true, take(n, v, n_.credential);
    if (n == "models") return take_models(v, n_.models);
    if (n == "ca_file") return take(n, v, n_.ca_file);
    if (n == "weight") return take(n, v, n_.weight, 1, 1000);
    if (n == "max_concurrency") return take(n, v, n_.max_concurrency, 0, 100000);
    if (n == "enabled") return take(n, v, a.enabled);
    return unknown(n);
  });
  if (err.empty() && !has_name) err = missing("name");
  if (err.empty() && !has_url) err = missing("base_url");
  if (err.empty() && (!has_cred || trim(n_.credential).empty())) err = missing("credential");
  return result(std::move(a), std::move(err));
}

Parsed<AccountPatch> parse_account_patch(std::string_view body) {
  AccountPatch a;
  store::AccountUpdate& u = a.update;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "enabled") return take(n, v, a.enabled);
    if (n == "weight") return take(n, v, u.weight, 1, 1000);
    if (n == "max_concurrency") return take(n, v, u.max_concurrency, 0, 100000);
    if (n == "models") return take_models(v, u.models.emplace());
    if (n == "base_url") return take(n, v, u.base_url.emplace());
    return unknown(n);
  });
  if (err.empty() && !a.enabled && !u.weight && !u.max_concurrency && !u.models && !u.base_url)
    err = "give at least one of 'enabled', 'weight', 'max_concurrency', 'models', 'base_url'";
  return result(std::move(a), std::move(err));
}

Parsed<EgressCreate> parse_egress_create(std::string_view body) {
  EgressCreate e;
  store::NewEgress& g = e.egress;
  bool has_name = false, has_url = false, has_account = false;
  std::string err = each_field(body, [&](std::string_view n, element v) -> std::string {
    if (n == "name") return has_name = true, take(n, v, g.name);
    if (n == "url") return has_url = true, take(n, v, g.url);
    if (n == "account") return has_account = true, take(n, v, g.account);
    if (n == "region") return take(n, v, g.region);
    if (n == "ca_file") return take(n, v, g.ca_file);
    return unknown(n);
  });
  if (err.empty() && !has_name) err = missing("name");
  if (err.empty() && !has_url) err = missing("url");
  if (err.empty() && !has_account) err = missing("account");
  return result(std::move(e), std::move(err));
}

}  // namespace relay::admin
