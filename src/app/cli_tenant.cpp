// tenant add|set|list|show|enable|disable, and the limit flags and `show` body that key
// add|set|show share (cli_internal.hpp).
#include <fmt/core.h>

#include <chrono>
#include <map>

#include "admin/admin_fields.hpp"
#include "app/cli_internal.hpp"
#include "base/unix_time.hpp"

namespace relay::app::cli {
namespace {

// The six limits, shared with the admin API (admin/admin_fields.hpp).
using admin::kLimitFields;
using LimitFlag = admin::LimitField;

std::string limit_text(std::int64_t v) {
  return v > 0 ? std::to_string(v) : "-";
}

int tenant_show(const Globals& g, const std::string& name) {
  store::Tenant t;
  bool found = false;
  for (auto& x : g.open_store()->list_tenants())
    if (x.name == name) {
      t = std::move(x);
      found = true;
    }
  if (!found)
    throw store::StoreError(store::StoreError::Kind::kNotFound, "tenant '" + name + "' not found");
  fmt::print("tenant   {}\nenabled  {}\ncreated  {}\n", t.name, t.enabled ? "yes" : "no",
             format_utc(t.created_at));
  print_limits_and_usage(g, t.name, t.limits);
  return 0;
}

}  // namespace

static_assert(LimitOpts::kCount == kLimitFields.size());

store::TenantLimitsUpdate LimitOpts::update() const {
  store::TenantLimitsUpdate u;
  for (std::size_t i = 0; i < kLimitFields.size(); ++i)
    if (opts[i]->count() > 0) u.*kLimitFields[i].update = values[i];
  return u;
}

store::TenantLimitsUpdate LimitOpts::required_update(const std::string& command) const {
  store::TenantLimitsUpdate u = update();
  if (u.empty())
    throw CLI::ValidationError(command,
                               "give at least one of --rps, --rpm, --concurrency, "
                               "--daily-requests, --daily-tokens, --monthly-tokens");
  return u;
}

void add_limit_flags(CLI::App* cmd, LimitOpts& o) {
  for (std::size_t i = 0; i < kLimitFields.size(); ++i)
    o.opts[i] = cmd->add_option(kLimitFields[i].flag, o.values[i], kLimitFields[i].help)
                    ->check(CLI::NonNegativeNumber);
}

std::string describe_limits(const store::TenantLimitsUpdate& u) {
  std::string out;
  for (const LimitFlag& f : kLimitFields)
    if (const auto& v = u.*f.update) {
      if (!out.empty()) out += ", ";
      out += fmt::format("{} {}", f.label, *v > 0 ? std::to_string(*v) : "no limit");
    }
  return out;
}

std::string compact_limits(const store::TenantLimits& l) {
  std::string out;
  for (const LimitFlag& f : kLimitFields)
    if (l.*f.limit > 0) {
      if (!out.empty()) out += ',';
      out += fmt::format("{}={}", std::string_view(f.flag).substr(2), l.*f.limit);  // no "--"
    }
  return out.empty() ? "-" : out;
}

void print_limits_and_usage(const Globals& g, const std::string& scope,
                            const store::TenantLimits& l) {
  // Keys as limits::usage_key writes them: usage:{scope}:{day|month}:{requests|tokens}.
  const std::int64_t now = unix_now_ms();
  const std::string stamp = format_utc(now / 1000);  // YYYY-MM-DDTHH:MM:SSZ
  const std::string day = stamp.substr(0, 10), month = stamp.substr(0, 7);
  const std::string prefix = "usage:" + scope + ":";
  std::map<std::string, std::int64_t> used;
  for (auto& r : g.open_counter_snapshot_store()->read(prefix, now))
    used.emplace(std::move(r.key), r.value);
  auto usage = [&](const std::string& period, const char* what) {
    auto it = used.find(prefix + period + ":" + what);
    return it == used.end() ? std::int64_t{0} : it->second;
  };

  fmt::print("limits ('-': no limit)\n");
  for (const LimitFlag& f : kLimitFields)
    fmt::print("  {:<16}{}\n", f.label, limit_text(l.*f.limit));
  fmt::print("usage, used / limit (UTC)\n");
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"requests today (" + day + ")",
       fmt::format("{} / {}", usage("day:" + day, "requests"), limit_text(l.daily_requests))},
      {"tokens today (" + day + ")",
       fmt::format("{} / {}", usage("day:" + day, "tokens"), limit_text(l.daily_tokens))},
      {"tokens this month (" + month + ")",
       fmt::format("{} / {}", usage("month:" + month, "tokens"), limit_text(l.monthly_tokens))},
  };
  for (const auto& [label, value] : lines) fmt::print("  {:<32}{}\n", label, value);
  if (g.config().redis.url.empty())
    fmt::print("note: usage is as of serve's last flush of its counters (at most about 1 s ago)\n");
  else
    fmt::print("note: live usage, read from redis\n");
}

void add_tenant_commands(CLI::App& app, Globals& g) {
  auto* tenant = app.add_subcommand("tenant", "Manage tenants (teams, users, CI jobs)");
  tenant->require_subcommand(1);
  auto name = std::make_shared<std::string>();

  auto add_limits = std::make_shared<LimitOpts>();
  auto* add = tenant->add_subcommand("add", "Add a tenant, optionally with admission limits");
  add->add_option("NAME", *name, "Tenant name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  add_limit_flags(add, *add_limits);
  add->callback([&g, name, add_limits] {
    g.action = [&g, name, u = add_limits->update()] {
      auto store = g.open_store();
      auto t = store->add_tenant(*name);
      // A new tenant has no keys yet, so nothing is admitted before its limits are set.
      if (!u.empty()) store->set_tenant_limits(t.name, u);
      if (u.empty())
        fmt::print("tenant {} added\n", t.name);
      else
        fmt::print("tenant {} added: {}\n", t.name, describe_limits(u));
      return 0;
    };
  });

  auto set_limits = std::make_shared<LimitOpts>();
  auto* set = tenant->add_subcommand("set", "Change a tenant's admission limits (0: no limit)");
  set->add_option("NAME", *name, "Tenant name")->required();
  add_limit_flags(set, *set_limits);
  set->callback([&g, name, set_limits] {
    store::TenantLimitsUpdate u = set_limits->required_update("tenant set");
    g.action = [&g, name, u] {
      g.open_store()->set_tenant_limits(*name, u);
      fmt::print("tenant {} updated: {}\n", *name, describe_limits(u));
      return 0;
    };
  });

  auto* list = tenant->add_subcommand("list", "List tenants and their limits ('-': no limit)");
  list->callback([&g] {
    g.action = [&g] {
      std::vector<std::vector<std::string>> rows;
      auto tenants = g.open_store()->list_tenants();
      rows.reserve(tenants.size());
      for (const auto& t : tenants) {
        const store::TenantLimits& l = t.limits;
        rows.push_back({t.name, t.enabled ? "yes" : "no", limit_text(l.rps), limit_text(l.rpm),
                        limit_text(l.concurrency), limit_text(l.daily_requests),
                        limit_text(l.daily_tokens), limit_text(l.monthly_tokens),
                        format_utc(t.created_at)});
      }
      print_table({"NAME", "ENABLED", "RPS", "RPM", "CONCURRENCY", "DAILY_REQUESTS", "DAILY_TOKENS",
                   "MONTHLY_TOKENS", "CREATED"},
                  rows);
      return 0;
    };
  });

  auto* show = tenant->add_subcommand("show", "Show a tenant's limits and current usage");
  show->add_option("NAME", *name, "Tenant name")->required();
  show->callback([&g, name] { g.action = [&g, name] { return tenant_show(g, *name); }; });

  for (bool enable : {true, false}) {
    auto* cmd = tenant->add_subcommand(
        enable ? "enable" : "disable",
        enable ? "Enable a tenant" : "Disable a tenant: its keys stop working");
    cmd->add_option("NAME", *name, "Tenant name")->required();
    cmd->callback([&g, name, enable] {
      g.action = [&g, name, enable] {
        g.open_store()->set_tenant_enabled(*name, enable);
        fmt::print("tenant {} {}\n", *name, enable ? "enabled" : "disabled");
        return 0;
      };
    });
  }
}

}  // namespace relay::app::cli
