// admin-token add|list|revoke, and `audit`: the admin API's tokens and the audit log of every
// admin change (docs/admin-api.md). Also where the CLI's own changes get their audit actor.
#include <fmt/core.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "admin/admin_fields.hpp"
#include "admin/audited_config_store.hpp"
#include "app/cli_internal.hpp"
#include "base/unix_time.hpp"
#include "crypto/relay_key.hpp"
#include "relay/errors.hpp"

namespace relay::app::cli {

std::string cli_actor() {
  std::string user;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) user = pw->pw_name;
  if (user.empty())
    if (const char* env = std::getenv("USER"); env && *env) user = env;
  if (user.empty()) user = "uid" + std::to_string(::geteuid());
  return "cli:" + user;
}

std::unique_ptr<store::AdminStore> Globals::open_admin_store() const {
  return store::open_admin_store(config());
}

namespace {

// An admin-token change, audited like the config changes (its outcome either way).
template <class F>
void audited_token_change(store::AdminStore& s, std::string_view action, std::string_view name,
                          F&& change) {
  try {
    std::string details = change();
    admin::audit(s, cli_actor(), action, name, "ok", std::move(details));
  } catch (const std::exception& e) {
    admin::audit(s, cli_actor(), action, name, admin::outcome_of(e));
    throw;
  }
}

int token_add(const Globals& g, const std::string& name) {
  g.open_store();  // sets up the data dir and the schema, as every command does
  auto s = g.open_admin_store();
  std::string token = crypto::generate_token("cra_");
  audited_token_change(*s, "admin_token.create", name, [&] {
    auto t = s->add_admin_token(name, crypto::sha256_hex(token), token.substr(token.size() - 4));
    return "{\"id\":\"" + t.id + "\"}";
  });
  fmt::print("{}\n", token);
  std::fflush(stdout);
  OPENSSL_cleanse(token.data(), token.size());
  fmt::print(stderr,
             "admin token {} created; it is shown only once. Use it as "
             "'Authorization: Bearer <token>' on the admin listener.\n",
             name);
  return 0;
}

int token_list(const Globals& g) {
  g.open_store();
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : g.open_admin_store()->list_admin_tokens())
    rows.push_back({t.name, t.id, format_utc(t.created_at), "..." + t.last4});
  print_table({"NAME", "ID", "CREATED", "ENDS_WITH"}, rows);
  return 0;
}

int token_revoke(const Globals& g, const std::string& name) {
  g.open_store();
  auto s = g.open_admin_store();
  audited_token_change(*s, "admin_token.revoke", name, [&] {
    s->revoke_admin_token(name);
    return std::string("{}");
  });
  fmt::print("admin token {} revoked\n", name);
  return 0;
}

struct AuditOpts {
  std::string since, format = "table";
  int limit = 100;
};

int audit_list(const Globals& g, const AuditOpts& o) {
  std::int64_t since = 0;
  if (!o.since.empty()) {
    auto parsed = admin::parse_since(o.since, unix_now_ms());
    if (!parsed)
      throw std::invalid_argument(
          "--since must be unix milliseconds, YYYY-MM-DD, or an age like "
          "30m, 12h, 7d");
    since = *parsed;
  }
  g.open_store();
  auto entries = g.open_admin_store()->list_audit(since, o.limit);
  // Oldest first, as a log reads; the store gives the newest `limit`.
  std::reverse(entries.begin(), entries.end());
  if (o.format == "json") {
    for (const auto& e : entries)
      fmt::print(
          "{{\"id\":{},\"at_ms\":{},\"actor\":\"{}\",\"action\":\"{}\",\"target\":\"{}\","
          "\"outcome\":\"{}\",\"details\":{}}}\n",
          e.id, e.at_ms, json_escape(e.actor), json_escape(e.action), json_escape(e.target),
          json_escape(e.outcome), e.details.empty() ? "{}" : e.details);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entries.size());
  for (const auto& e : entries)
    rows.push_back({format_utc(e.at_ms / 1000), e.actor, e.action, e.target, e.outcome,
                    e.details == "{}" ? "-" : e.details});
  print_table({"TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAILS"}, rows);
  return 0;
}

}  // namespace

void add_admin_commands(CLI::App& app, Globals& g) {
  auto* tok = app.add_subcommand("admin-token", "Manage admin API tokens (docs/admin-api.md)");
  tok->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto* add = tok->add_subcommand("add", "Create an admin token; prints only the token on stdout");
  add->add_option("NAME", *name, "Token name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  add->callback([&g, name] { g.action = [&g, name] { return token_add(g, *name); }; });
  auto* list = tok->add_subcommand("list", "List admin tokens (never the tokens themselves)");
  list->callback([&g] { g.action = [&g] { return token_list(g); }; });
  auto* revoke = tok->add_subcommand("revoke", "Revoke an admin token by its name");
  revoke->add_option("NAME", *name, "Token name")->required();
  revoke->callback([&g, name] { g.action = [&g, name] { return token_revoke(g, *name); }; });

  auto o = std::make_shared<AuditOpts>();
  auto* audit = app.add_subcommand("audit", "List the audit log of admin changes, oldest first");
  audit->add_option("--since", o->since, "Unix ms, YYYY-MM-DD (UTC) or an age: 30m, 12h, 7d");
  audit->add_option("--limit", o->limit, "The newest N entries, 1..10000 (default 100)")
      ->check(CLI::Range(1, 10000));
  audit->add_option("--format", o->format, "table or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  audit->callback([&g, o] { g.action = [&g, o] { return audit_list(g, *o); }; });
}

}  // namespace relay::app::cli
