#include "admin/audited_config_store.hpp"

#include <spdlog/spdlog.h>

#include "admin/admin_fields.hpp"
#include "admin/json_out.hpp"
#include "base/unix_time.hpp"

namespace relay::admin {
namespace {

using store::StoreError;

std::string account_update_json(const store::AccountUpdate& u) {
  JsonObject o;
  if (u.weight) o.num("weight", *u.weight);
  if (u.max_concurrency) o.num("max_concurrency", *u.max_concurrency);
  if (u.models) {
    JsonArray a;
    for (const auto& m : *u.models) a.str(m);
    o.raw("models", a.done());
  }
  if (u.base_url) o.str("base_url", *u.base_url);
  return o.done();
}

}  // namespace

std::string outcome_of(const std::exception& e) {
  if (const auto* s = dynamic_cast<const StoreError*>(&e)) {
    switch (s->kind()) {
      case StoreError::Kind::kAlreadyExists:
        return "already_exists";
      case StoreError::Kind::kNotFound:
        return "not_found";
      case StoreError::Kind::kInvalid:
        return "invalid";
      case StoreError::Kind::kIo:
        return "store_error";
    }
  }
  if (dynamic_cast<const std::invalid_argument*>(&e)) return "invalid";
  return "error";
}

void audit(store::AuditLog& log, const std::string& actor, std::string_view action,
           std::string_view target, std::string_view outcome, std::string details) {
  store::AuditEntry e{0,
                      unix_now_ms(),
                      actor,
                      std::string(action),
                      std::string(target),
                      std::string(outcome),
                      std::move(details)};
  try {
    log.append(e);
  } catch (const std::exception& ex) {
    spdlog::error("audit log: cannot record {} {} by {} ({}): {}", e.action, e.target, e.actor,
                  e.outcome, ex.what());
  }
}

AuditedConfigStore::AuditedConfigStore(store::ConfigStore& inner,
                                       std::function<store::AuditLog&()> log, std::string actor)
    : inner_(inner), log_(std::move(log)), actor_(std::move(actor)) {}

AuditedConfigStore::AuditedConfigStore(std::unique_ptr<store::ConfigStore> inner,
                                       std::function<std::unique_ptr<store::AuditLog>()> open_log,
                                       std::string actor)
    : owned_(std::move(inner)),
      inner_(*owned_),
      log_([this, open = std::move(open_log)]() -> store::AuditLog& {
        if (!owned_log_) owned_log_ = open();
        return *owned_log_;
      }),
      actor_(std::move(actor)) {}

template <class F>
auto AuditedConfigStore::audited(std::string_view action, std::string_view target,
                                 const std::string& details, F&& change) {
  auto record = [&](std::string_view outcome) {
    try {
      audit(log_(), actor_, action, target, outcome, details);
    } catch (const std::exception& ex) {  // opening the log failed
      spdlog::error("audit log: cannot open it to record {} {}: {}", action, target, ex.what());
    }
  };
  try {
    if constexpr (std::is_void_v<decltype(change())>) {
      change();
      record("ok");
    } else {
      auto r = change();
      record("ok");
      return r;
    }
  } catch (const std::exception& e) {
    record(outcome_of(e));
    throw;
  }
}

store::Tenant AuditedConfigStore::add_tenant(std::string_view name) {
  return audited("tenant.create", name, "{}", [&] { return inner_.add_tenant(name); });
}

void AuditedConfigStore::set_tenant_enabled(std::string_view name, bool enabled) {
  audited(enabled ? "tenant.enable" : "tenant.disable", name, "{}",
          [&] { inner_.set_tenant_enabled(name, enabled); });
}

void AuditedConfigStore::set_tenant_limits(std::string_view name,
                                           const store::TenantLimitsUpdate& u) {
  audited("tenant.limits", name, JsonObject().raw("limits", limits_update_json(u)).done(),
          [&] { inner_.set_tenant_limits(name, u); });
}

// The key's id is only known once it exists: a failed create names the tenant instead.
store::KeyRecord AuditedConfigStore::add_key(std::string_view tenant, std::string_view key_hash,
                                             std::string_view prefix,
                                             std::optional<std::int64_t> expires_at) {
  const std::string details =
      JsonObject().str("tenant", tenant).opt_num("expires_at", expires_at).done();
  store::KeyRecord rec;
  try {
    rec = inner_.add_key(tenant, key_hash, prefix, expires_at);
  } catch (...) {
    audited("key.create", tenant, details, [&] { throw; });
  }
  audited("key.create", rec.id, details, [] {});
  return rec;
}

void AuditedConfigStore::revoke_key(std::string_view key_id) {
  audited("key.revoke", key_id, "{}", [&] { inner_.revoke_key(key_id); });
}

void AuditedConfigStore::set_key_limits(std::string_view key_id,
                                        const store::TenantLimitsUpdate& u) {
  audited("key.limits", key_id, JsonObject().raw("limits", limits_update_json(u)).done(),
          [&] { inner_.set_key_limits(key_id, u); });
}

store::Account AuditedConfigStore::add_account(const store::NewAccount& a) {
  JsonArray models;
  for (const auto& m : a.models) models.str(m);
  const std::string details = JsonObject()
                                  .str("base_url", a.base_url)
                                  .raw("models", models.done())
                                  .num("weight", a.weight)
                                  .num("max_concurrency", a.max_concurrency)
                                  .boolean("ca_file", !a.ca_file.empty())
                                  .done();
  return audited("account.create", a.name, details, [&] { return inner_.add_account(a); });
}

void AuditedConfigStore::set_account_enabled(std::string_view name, bool enabled) {
  audited(enabled ? "account.enable" : "account.disable", name, "{}",
          [&] { inner_.set_account_enabled(name, enabled); });
}

void AuditedConfigStore::update_account(std::string_view name, const store::AccountUpdate& u) {
  audited("account.update", name, account_update_json(u), [&] { inner_.update_account(name, u); });
}

// The proxy URL may hold a password: only the endpoint the store derived is recorded.
store::Egress AuditedConfigStore::add_egress(const store::NewEgress& e) {
  store::Egress added;
  JsonObject details;
  details.str("account", e.account).str("region", e.region);
  try {
    added = inner_.add_egress(e);
  } catch (...) {
    audited("egress.create", e.name, details.done(), [&] { throw; });
  }
  audited("egress.create", e.name, details.str("endpoint", added.endpoint).done(), [] {});
  return added;
}

void AuditedConfigStore::remove_egress(std::string_view name) {
  audited("egress.delete", name, "{}", [&] { inner_.remove_egress(name); });
}

std::unique_ptr<store::ConfigStore> audited_owning(
    std::unique_ptr<store::ConfigStore> inner,
    std::function<std::unique_ptr<store::AuditLog>()> open_log, std::string actor) {
  return std::make_unique<AuditedConfigStore>(std::move(inner), std::move(open_log),
                                              std::move(actor));
}

}  // namespace relay::admin
