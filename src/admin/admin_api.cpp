#include "admin/admin_api.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <stdexcept>

#include "admin/admin_fields.hpp"
#include "admin/admin_json.hpp"
#include "admin/audited_config_store.hpp"
#include "admin/json_out.hpp"
#include "base/unix_time.hpp"
#include "crypto/relay_key.hpp"
#include "http/url_escape.hpp"

namespace relay::admin {

inline constexpr std::string_view kAdminTokenPrefix = "cra_";

struct AdminApi::Call {
  store::ConfigStore& config;  // audited as the caller
  store::AdminStore& admin;
  std::vector<std::string> params;  // the {…} segments of the path, in order
  const ApiRequest& request;
};

struct AdminApi::Route {
  const char* method;
  const char* path;
  ApiResponse (AdminApi::*fn)(const Call&);
};

namespace {

using store::StoreError;

// Wipes a secret from memory when the handler returns, however it returns.
struct Wipe {
  std::string& secret;
  ~Wipe() { OPENSSL_cleanse(secret.data(), secret.size()); }
};

ApiResponse ok(std::string body, int status = 200) {
  return {status, std::move(body), {}};
}

std::string list_json(const JsonArray& items) {
  return JsonObject().str("object", "list").raw("data", items.done()).done();
}

// The value of `name` in a query string ("" when absent), percent-decoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string out;
    if (eq == std::string_view::npos) return out;
    if (!http::percent_decode(pair.substr(eq + 1), out)) return std::nullopt;
    return out;
  }
  return std::string();
}

// "/admin/v1/tenants/{name}" against "/admin/v1/tenants/team-a": the {…} segments, or nullopt.
std::optional<std::vector<std::string>> match(std::string_view pattern, std::string_view path) {
  std::vector<std::string> params;
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return std::nullopt;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view p = pattern.substr(0, pattern.find('/'));
    const std::string_view s = path.substr(0, path.find('/'));
    if (p.starts_with('{')) {
      if (s.empty()) return std::nullopt;
      params.emplace_back(s);
    } else if (p != s) {
      return std::nullopt;
    }
    pattern.remove_prefix(p.size());
    path.remove_prefix(s.size());
  }
  return params;
}

std::string tenant_json(const store::Tenant& t) {
  return JsonObject()
      .str("object", "tenant")
      .str("name", t.name)
      .boolean("enabled", t.enabled)
      .num("created_at", t.created_at)
      .raw("limits", limits_json(t.limits))
      .done();
}

std::string key_status(const store::KeyRecord& k) {
  if (k.revoked_at) return "revoked";
  if (k.expires_at && *k.expires_at <= unix_now_ms() / 1000) return "expired";
  return "active";
}

JsonObject key_object(const store::KeyRecord& k) {
  JsonObject o;
  o.str("object", "key")
      .str("id", k.id)
      .str("tenant", k.tenant_name)
      .str("prefix", k.prefix)
      .num("created_at", k.created_at)
      .opt_num("expires_at", k.expires_at)
      .opt_num("revoked_at", k.revoked_at)
      .str("status", key_status(k))
      .raw("limits", limits_json(k.limits));
  return o;
}

// At most the last 4 characters, and only of a credential long enough that they give nothing
// useful away.
std::string credential_hint(const std::string* credential) {
  if (!credential || credential->size() < 16) return "";
  return credential->substr(credential->size() - 4);
}

std::string account_json(const store::Account& a, const std::string* credential) {
  JsonArray models;
  for (const auto& m : a.models) models.str(m);
  return JsonObject()
      .str("object", "account")
      .str("name", a.name)
      .str("base_url", a.base_url)
      .raw("models", models.done())
      .str("ca_file", a.ca_file)
      .boolean("enabled", a.enabled)
      .num("created_at", a.created_at)
      .num("weight", a.weight)
      .num("max_concurrency", a.max_concurrency)
      .str("credential_last4", credential_hint(credential))
      .done();
}

std::string egress_json(const store::Egress& e) {
  return JsonObject()
      .str("object", "egress")
      .str("name", e.name)
      .str("account", e.account_name)
      .str("url", e.url)  // redacted by the store: the password is ***
      .str("endpoint", e.endpoint)
      .str("region", e.region)
      .str("ca_file", e.ca_file)
      .num("created_at", e.created_at)
      .str("observed_ip", e.observed_ip)
      .num("observed_at", e.observed_at)
      .done();
}

std::string audit_json(const store::AuditEntry& e) {
  return JsonObject()
      .str("object", "audit_entry")
      .num("id", e.id)
      .num("at_ms", e.at_ms)
      .str("actor", e.actor)
      .str("action", e.action)
      .str("target", e.target)
      .str("outcome", e.outcome)
      .raw("details", e.details.empty() ? "{}" : e.details)
      .done();
}

template <class T>
std::optional<T> find_by(std::vector<T> rows, auto key, std::string_view want) {
  for (auto& r : rows)
    if (r.*key == want) return std::move(r);
  return std::nullopt;
}

ApiResponse not_found(std::string_view what, std::string_view name) {
  return error_response(ErrorCode::kNotFound,
                        std::string(what) + " '" + std::string(name) + "' not found");
}

ApiResponse from_exception(const std::exception& e) {
  if (const auto* s = dynamic_cast<const StoreError*>(&e)) {
    switch (s->kind()) {
      case StoreError::Kind::kNotFound:
        return error_response(ErrorCode::kNotFound, s->what());
      case StoreError::Kind::kAlreadyExists:
        return error_response(ErrorCode::kAlreadyExists, s->what());
      case StoreError::Kind::kInvalid:
        return error_response(ErrorCode::kInvalidValue, s->what());
      case StoreError::Kind::kIo:
        spdlog::error("admin api: store: {}", s->what());
        return error_response(ErrorCode::kStoreUnavailable);
    }
  }
  if (dynamic_cast<const std::invalid_argument*>(&e))
    return error_response(ErrorCode::kInvalidValue, e.what());
  spdlog::error("admin api: {}", e.what());
  return error_response(ErrorCode::kInternal);
}

}  // namespace

ApiResponse error_response(ErrorCode code, std::string_view message) {
  return {error_spec(code).status, error_body(code, message), {}};
}

std::optional<std::string> authenticate(store::AdminTokens& tokens,
                                        std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return std::nullopt;
  const std::string_view token = authorization.substr(kScheme.size());
  // A look-alike is refused unseen: no store lookup for what cannot be a token.
  if (!crypto::token_well_formed(token, kAdminTokenPrefix)) return std::nullopt;
  const std::string hash = crypto::sha256_hex(token);
  auto found = tokens.find_admin_token(hash);
  if (!found || found->token_hash.size() != hash.size() ||
      CRYPTO_memcmp(found->token_hash.data(), hash.data(), hash.size()) != 0)
    return std::nullopt;
  return found->name;
}

AdminApi::AdminApi(Stores stores, std::string openapi_json)
    : stores_(std::move(stores)), openapi_(std::move(openapi_json)) {}

const std::vector<AdminApi::Route>& AdminApi::table() {
  static const std::vector<Route> routes = {
      {"GET", "/admin/v1/tenants", &AdminApi::list_tenants},
      {"POST", "/admin/v1/tenants", &AdminApi::create_tenant},
      {"GET", "/admin/v1/tenants/{name}", &AdminApi::get_tenant},
      {"PATCH", "/admin/v1/tenants/{name}", &AdminApi::patch_tenant},
      {"GET", "/admin/v1/keys", &AdminApi::list_keys},
      {"POST", "/admin/v1/keys", &AdminApi::create_key},
      {"GET", "/admin/v1/keys/{id}", &AdminApi::get_key},
      {"PATCH", "/admin/v1/keys/{id}", &AdminApi::patch_key},
      {"DELETE", "/admin/v1/keys/{id}", &AdminApi::revoke_key},
      {"GET", "/admin/v1/accounts", &AdminApi::list_accounts},
      {"POST", "/admin/v1/accounts", &AdminApi::create_account},
      {"GET", "/admin/v1/accounts/{name}", &AdminApi::get_account},
      {"PATCH", "/admin/v1/accounts/{name}", &AdminApi::patch_account},
      {"GET", "/admin/v1/egresses", &AdminApi::list_egresses},
      {"POST", "/admin/v1/egresses", &AdminApi::create_egress},
      {"DELETE", "/admin/v1/egresses/{name}", &AdminApi::delete_egress},
      {"GET", "/admin/v1/audit", &AdminApi::list_audit},
      {"GET", "/admin/v1/openapi.json", &AdminApi::openapi},
  };
  return routes;
}

std::vector<RouteKey> AdminApi::routes() {
  std::vector<RouteKey> out;
  for (const Route& r : table()) out.push_back({r.method, r.path});
  return out;
}

ApiResponse AdminApi::handle(const ApiRequest& request) {
  try {
    std::optional<std::string> who = authenticate(stores_.admin(), request.authorization);
    if (!who) {
      // Logged, not audited: a refusal changes nothing. Never the header itself.
      spdlog::warn("admin api: refused {} {}: {} admin token", request.method, request.path,
                   request.authorization.empty() ? "no" : "invalid");
      ApiResponse r = error_response(ErrorCode::kInvalidAdminToken);
      r.headers.emplace_back("www-authenticate", "Bearer");
      return r;
    }
    return route(request, "token:" + *who);
  } catch (const std::exception& e) {
    return from_exception(e);
  }
}

ApiResponse AdminApi::route(const ApiRequest& request, const std::string& actor) {
  std::string allowed;
  for (const Route& r : table()) {
    auto params = match(r.path, request.path);
    if (!params) continue;
    if (request.method != r.method) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
      continue;
    }
    store::AdminStore& admin = stores_.admin();
    AuditedConfigStore audited(
        stores_.config(), [&admin]() -> store::AuditLog& { return admin; }, actor);
    Call call{audited, admin, std::move(*params), request};
    try {
      return (this->*r.fn)(call);
    } catch (const std::exception& e) {
      return from_exception(e);
    }
  }
  if (!allowed.empty()) {
    ApiResponse r = error_response(ErrorCode::kMethodNotAllowed);
    r.headers.emplace_back("allow", allowed);
    return r;
  }
  return error_response(ErrorCode::kUnknownUrl,
                        "Unknown path. The admin API is described at GET /admin/v1/openapi.json.");
}

// ---------------------------------------------------------------- tenants

ApiResponse AdminApi::list_tenants(const Call& c) {
  JsonArray items;
  for (const auto& t : c.config.list_tenants()) items.raw(tenant_json(t));
  return ok(list_json(items));
}

ApiResponse AdminApi::create_tenant(const Call& c) {
  auto in = parse_tenant_create(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  // Limits and a disable before any key exists, so nothing is admitted without them.
  store::Tenant t = c.config.add_tenant(in.value->name);
  if (!in.value->limits.empty()) c.config.set_tenant_limits(t.name, in.value->limits);
  if (in.value->enabled == false) c.config.set_tenant_enabled(t.name, false);
  auto now = find_by(c.config.list_tenants(), &store::Tenant::name, t.name);
  return ok(tenant_json(now ? *now : t), 201);
}

ApiResponse AdminApi::get_tenant(const Call& c) {
  auto t = find_by(c.config.list_tenants(), &store::Tenant::name, c.params[0]);
  if (!t) return not_found("tenant", c.params[0]);
  return ok(tenant_json(*t));
}

ApiResponse AdminApi::patch_tenant(const Call& c) {
  auto in = parse_tenant_patch(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  const std::string& name = c.params[0];
  if (!in.value->limits.empty()) c.config.set_tenant_limits(name, in.value->limits);
  if (in.value->enabled) c.config.set_tenant_enabled(name, *in.value->enabled);
  return get_tenant(c);
}

// ---------------------------------------------------------------- keys

ApiResponse AdminApi::list_keys(const Call& c) {
  auto tenant = query_param(c.request.query, "tenant");
  if (!tenant) return error_response(ErrorCode::kInvalidValue, "bad escape in 'tenant'");
  JsonArray items;
  for (const auto& k : c.config.list_keys())
    if (tenant->empty() || k.tenant_name == *tenant) items.raw(key_object(k).done());
  return ok(list_json(items));
}

ApiResponse AdminApi::create_key(const Call& c) {
  auto in = parse_key_create(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  if (in.value->expires_at && *in.value->expires_at <= unix_now_ms() / 1000)
    return error_response(ErrorCode::kInvalidValue, "field 'expires_at' is in the past");
  std::string key = crypto::generate_relay_key();
  store::KeyRecord rec = c.config.add_key(in.value->tenant, crypto::sha256_hex(key),
                                          crypto::key_prefix(key), in.value->expires_at);
  // Before the key is returned, so no client ever uses it without its limits.
  if (!in.value->limits.empty()) {
    c.config.set_key_limits(rec.id, in.value->limits);
    rec.limits = store::TenantLimits{};
    for (const LimitField& f : kLimitFields)
      if (const auto& v = in.value->limits.*f.update) rec.limits.*f.limit = *v;
  }
  std::string body = key_object(rec).str("key", key).done();
  OPENSSL_cleanse(key.data(), key.size());
  return ok(std::move(body), 201);
}

ApiResponse AdminApi::get_key(const Call& c) {
  auto k = find_by(c.config.list_keys(), &store::KeyRecord::id, c.params[0]);
  if (!k) return not_found("key", c.params[0]);
  return ok(key_object(*k).done());
}

ApiResponse AdminApi::patch_key(const Call& c) {
  auto in = parse_key_patch(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  c.config.set_key_limits(c.params[0], in.value->limits);
  return get_key(c);
}

ApiResponse AdminApi::revoke_key(const Call& c) {
  c.config.revoke_key(c.params[0]);
  return get_key(c);
}

// ---------------------------------------------------------------- accounts

ApiResponse AdminApi::list_accounts(const Call& c) {
  // Decrypted only to show the last 4 characters of each credential.
  const store::SnapshotPtr snap = c.config.load_snapshot();
  auto credential = [&snap](const std::string& name) -> const std::string* {
    for (const auto& a : snap->accounts)
      if (a.name == name) return &a.credential;
    return nullptr;
  };
  JsonArray items;
  for (const auto& a : c.config.list_accounts()) items.raw(account_json(a, credential(a.name)));
  return ok(list_json(items));
}

ApiResponse AdminApi::create_account(const Call& c) {
  auto in = parse_account_create(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  store::NewAccount& a = in.value->account;
  const Wipe wipe{a.credential};
  a.credential = trim(a.credential);
  a.base_url = normalize_base_url(a.base_url);
  if (!a.ca_file.empty()) a.ca_file = absolute_readable(a.ca_file);
  store::Account acc = c.config.add_account(a);
  if (in.value->enabled == false) {
    c.config.set_account_enabled(acc.name, false);
    acc.enabled = false;
  }
  return ok(account_json(acc, &a.credential), 201);
}

ApiResponse AdminApi::get_account(const Call& c) {
  auto a = find_by(c.config.list_accounts(), &store::Account::name, c.params[0]);
  if (!a) return not_found("account", c.params[0]);
  const store::SnapshotPtr snap = c.config.load_snapshot();
  for (const auto& s : snap->accounts)
    if (s.name == a->name) return ok(account_json(*a, &s.credential));
  return ok(account_json(*a, nullptr));
}

ApiResponse AdminApi::patch_account(const Call& c) {
  auto in = parse_account_patch(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  store::AccountUpdate& u = in.value->update;
  if (u.base_url) u.base_url = normalize_base_url(*u.base_url);
  if (u.weight || u.max_concurrency || u.models || u.base_url)
    c.config.update_account(c.params[0], u);
  if (in.value->enabled) c.config.set_account_enabled(c.params[0], *in.value->enabled);
  return get_account(c);
}

// ---------------------------------------------------------------- egresses

ApiResponse AdminApi::list_egresses(const Call& c) {
  JsonArray items;
  for (const auto& e : c.config.list_egresses()) items.raw(egress_json(e));
  return ok(list_json(items));
}

ApiResponse AdminApi::create_egress(const Call& c) {
  auto in = parse_egress_create(c.request.body);
  if (!in.value) return error_response(ErrorCode::kInvalidValue, in.error);
  store::NewEgress& e = in.value->egress;
  const Wipe wipe{e.url};
  if (!e.ca_file.empty()) e.ca_file = absolute_readable(e.ca_file);
  return ok(egress_json(c.config.add_egress(e)), 201);
}

ApiResponse AdminApi::delete_egress(const Call& c) {
  c.config.remove_egress(c.params[0]);
  return ok(JsonObject()
                .str("object", "egress")
                .str("name", c.params[0])
                .boolean("deleted", true)
                .done());
}

// ---------------------------------------------------------------- audit, openapi

ApiResponse AdminApi::list_audit(const Call& c) {
  auto since_text = query_param(c.request.query, "since");
  auto limit_text = query_param(c.request.query, "limit");
  std::int64_t since = 0;
  if (since_text && !since_text->empty()) {
    auto parsed = parse_since(*since_text, unix_now_ms());
    if (!parsed)
      return error_response(ErrorCode::kInvalidValue,
                            "'since' must be unix milliseconds, YYYY-MM-DD, or an age like 12h");
    since = *parsed;
  }
  int limit = 100;
  if (limit_text && !limit_text->empty()) {
    const char* end = limit_text->data() + limit_text->size();
    auto [ptr, ec] = std::from_chars(limit_text->data(), end, limit);
    if (ec != std::errc() || ptr != end || limit < 1 || limit > 1000)
      return error_response(ErrorCode::kInvalidValue, "'limit' must be an integer 1..1000");
  }
  JsonArray items;
  for (const auto& e : c.admin.list_audit(since, limit)) items.raw(audit_json(e));
  return ok(list_json(items));
}

ApiResponse AdminApi::openapi(const Call& /*c*/) {
  return ok(openapi_);
}

}  // namespace relay::admin
