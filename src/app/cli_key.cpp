// key add|set|list|show|revoke
#include <fmt/core.h>
#include <openssl/crypto.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "app/cli_internal.hpp"
#include "crypto/relay_key.hpp"
#include "relay/admit.hpp"

namespace relay::app::cli {
namespace {

// "YYYY-MM-DD" (UTC) -> the first second after that day: the key works through the whole day.
std::int64_t parse_expiry(const std::string& date) {
  auto bad = [&] {
    return std::runtime_error("--expires must be a date as YYYY-MM-DD, got '" + date + "'");
  };
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') throw bad();
  int parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8}, lens[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i)
    for (std::size_t j = starts[i]; j < starts[i] + lens[i]; ++j) {
      if (date[j] < '0' || date[j] > '9') throw bad();
      parts[i] = parts[i] * 10 + (date[j] - '0');
    }
  using namespace std::chrono;
  year_month_day ymd{year{parts[0]}, month{static_cast<unsigned>(parts[1])},
                     day{static_cast<unsigned>(parts[2])}};
  if (!ymd.ok()) throw bad();
  const std::int64_t expires =
      duration_cast<seconds>((sys_days{ymd} + days{1}).time_since_epoch()).count();
  if (expires <= unix_now()) throw std::runtime_error("--expires " + date + " is in the past");
  return expires;
}

std::string status(const store::KeyRecord& k, std::int64_t now) {
  if (k.revoked_at) return "revoked";
  if (k.expires_at && *k.expires_at <= now) return "expired";
  return "active";
}

int key_show(const Globals& g, const std::string& id) {
  std::optional<store::KeyRecord> k;
  for (auto& x : g.open_store()->list_keys())
    if (x.id == id) k = std::move(x);
  if (!k) throw store::StoreError(store::StoreError::Kind::kNotFound, "key '" + id + "' not found");
  fmt::print("key      {}\ntenant   {}\nprefix   {}\ncreated  {}\nexpires  {}\nstatus   {}\n",
             k->id, k->tenant_name, k->prefix, format_utc(k->created_at),
             k->expires_at ? format_utc(*k->expires_at) : "-", status(*k, unix_now()));
  print_limits_and_usage(g, relay::counter_scope(k->tenant_name, k->id), k->limits);
  fmt::print("note: the tenant's limits apply as well (tenant show {})\n", k->tenant_name);
  return 0;
}

}  // namespace

void add_key_commands(CLI::App& app, Globals& g) {
  auto* key = app.add_subcommand("key", "Manage relay keys (what tenants authenticate with)");
  key->require_subcommand(1);

  struct AddOpts {
    std::string tenant, expires;
    LimitOpts limits;
  };
  auto opts = std::make_shared<AddOpts>();
  auto* add = key->add_subcommand(
      "add", "Create a key, optionally with limits of its own; prints only the key on stdout");
  add->add_option("TENANT", opts->tenant, "Tenant that owns the key")->required();
  add->add_option("--expires", opts->expires, "Last valid day, YYYY-MM-DD (UTC)");
  add_limit_flags(add, opts->limits);
  add->callback([&g, opts] {
    g.action = [&g, opts, u = opts->limits.update()] {
      std::optional<std::int64_t> expires;
      if (!opts->expires.empty()) expires = parse_expiry(opts->expires);
      auto store = g.open_store();
      std::string k = crypto::generate_relay_key();
      auto rec =
          store->add_key(opts->tenant, crypto::sha256_hex(k), crypto::key_prefix(k), expires);
      // Before the key is printed, so no client ever uses it without its limits.
      if (!u.empty()) store->set_key_limits(rec.id, u);
      fmt::print("{}\n", k);
      std::fflush(stdout);
      OPENSSL_cleanse(k.data(), k.size());
      fmt::print(stderr, "created {} for tenant {} ({}{}); it is shown only once\n", rec.id,
                 rec.tenant_name,
                 expires
                     ? "valid through " + opts->expires + " UTC, expires " + format_utc(*expires)
                     : std::string("no expiry"),
                 u.empty() ? std::string() : "; limits: " + describe_limits(u));
      return 0;
    };
  });

  auto id = std::make_shared<std::string>();
  auto set_limits = std::make_shared<LimitOpts>();
  auto* set = key->add_subcommand(
      "set", "Change a key's own limits (0: no limit); its tenant's limits apply as well");
  set->add_option("ID", *id, "Key id, e.g. key_3f9a1c2b7d40")->required();
  add_limit_flags(set, *set_limits);
  set->callback([&g, id, set_limits] {
    store::TenantLimitsUpdate u = set_limits->required_update("key set");
    g.action = [&g, id, u] {
      g.open_store()->set_key_limits(*id, u);
      fmt::print("key {} updated: {}\n", *id, describe_limits(u));
      return 0;
    };
  });

  auto* list = key->add_subcommand("list", "List keys (never the keys themselves)");
  list->callback([&g] {
    g.action = [&g] {
      const std::int64_t now = unix_now();
      std::vector<std::vector<std::string>> rows;
      for (const auto& k : g.open_store()->list_keys())
        rows.push_back({k.id, k.tenant_name, k.prefix, format_utc(k.created_at),
                        k.expires_at ? format_utc(*k.expires_at) : "-", status(k, now),
                        compact_limits(k.limits)});
      print_table({"ID", "TENANT", "PREFIX", "CREATED", "EXPIRES", "STATUS", "LIMITS"}, rows);
      return 0;
    };
  });

  auto* show = key->add_subcommand("show", "Show a key's own limits and its current usage");
  show->add_option("ID", *id, "Key id, e.g. key_3f9a1c2b7d40")->required();
  show->callback([&g, id] { g.action = [&g, id] { return key_show(g, *id); }; });

  auto* revoke = key->add_subcommand("revoke", "Revoke a key by its id (see key list)");
  revoke->add_option("ID", *id, "Key id, e.g. key_3f9a1c2b7d40")->required();
  revoke->callback([&g, id] {
    g.action = [&g, id] {
      g.open_store()->revoke_key(*id);
      fmt::print("key {} revoked\n", *id);
      return 0;
    };
  });
}

}  // namespace relay::app::cli
