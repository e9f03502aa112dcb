// account add|set|enable|disable (list and events: cli_account_views.cpp)
#include <fmt/core.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "admin/admin_fields.hpp"
#include "app/cli_internal.hpp"

namespace relay::app::cli {
namespace {

using admin::absolute_readable;
using admin::normalize_base_url;
using admin::parse_models;
using admin::trim;

struct AccountAddOpts {
  std::string name, base_url, key_env, key_file, models, ca_file;
  int weight = 1;
  int max_concurrency = 0;
};

struct SetOpts {
  std::string name, base_url, models;
  int weight = 1;
  int max_concurrency = 0;
};

// Read once and never echoed: errors name the variable or file, not its content.
std::string read_credential(const AccountAddOpts& o) {
  std::string raw;
  if (!o.key_env.empty()) {
    const char* v = std::getenv(o.key_env.c_str());
    if (!v) throw std::runtime_error("environment variable " + o.key_env + " is not set");
    raw = v;
  } else {
    std::ifstream in(o.key_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read API key file " + o.key_file);
    raw.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string cred = trim(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  if (cred.empty())
    throw std::runtime_error(o.key_env.empty() ? "API key file " + o.key_file + " is empty"
                                               : "environment variable " + o.key_env + " is empty");
  return cred;
}

int account_add(const Globals& g, const AccountAddOpts& o) {
  store::NewAccount a;
  a.name = o.name;
  a.base_url = normalize_base_url(o.base_url);
  a.models = parse_models(o.models);
  a.weight = o.weight;
  a.max_concurrency = o.max_concurrency;
  if (!o.ca_file.empty()) a.ca_file = absolute_readable(o.ca_file);
  a.credential = read_credential(o);
  auto store = g.open_store();
  store::Account acc;
  try {
    acc = store->add_account(a);
  } catch (...) {
    OPENSSL_cleanse(a.credential.data(), a.credential.size());
    throw;
  }
  OPENSSL_cleanse(a.credential.data(), a.credential.size());
  fmt::print("account {} added ({})\n", acc.name, acc.base_url);
  return 0;
}

int account_set(const Globals& g, const SetOpts& o, const store::AccountUpdate& u) {
  std::string changed;
  auto note = [&](const std::string& what) { changed += (changed.empty() ? "" : ", ") + what; };
  if (u.weight) note(fmt::format("weight {}", *u.weight));
  if (u.max_concurrency) note(fmt::format("max concurrency {}", *u.max_concurrency));
  if (u.models) note("models " + (o.models.empty() || u.models->empty() ? "*" : o.models));
  if (u.base_url) note("base URL " + *u.base_url);
  g.open_store()->update_account(o.name, u);
  fmt::print("account {} updated: {}\n", o.name, changed);
  return 0;
}

}  // namespace

void add_account_commands(CLI::App& app, Globals& g) {
  auto* account = app.add_subcommand("account", "Manage upstream accounts (provider credentials)");
  account->require_subcommand(1);

  auto o = std::make_shared<AccountAddOpts>();
  auto* add = account->add_subcommand("add", "Add an upstream account");
  add->add_option("NAME", o->name, "Account name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  add->add_option("--base-url", o->base_url, "Provider base URL, e.g. https://api.openai.com/v1")
      ->required();
  auto* env = add->add_option("--api-key-env", o->key_env, "Read the API key from this variable");
  auto* file = add->add_option("--api-key-file", o->key_file, "Read the API key from this file");
  env->excludes(file);
  add->add_option("--models", o->models, "Comma-separated models it serves (default: all)");
  add->add_option("--ca-file", o->ca_file, "PEM bundle to trust for this provider");
  add->add_option("--weight", o->weight, "Share of traffic, 1..1000 (default 1)");
  add->add_option("--max-concurrency", o->max_concurrency,
                  "Requests in flight at once, 0..100000 (default 0: no limit)");
  add->callback([&g, o, env, file] {
    if (env->count() + file->count() != 1)
      throw CLI::ValidationError("account add", "give one of --api-key-env or --api-key-file");
    g.action = [&g, o] { return account_add(g, *o); };
  });

  auto so = std::make_shared<SetOpts>();
  auto* set = account->add_subcommand("set", "Change an account's weight, limits or routing");
  set->add_option("NAME", so->name, "Account name")->required();
  auto* weight = set->add_option("--weight", so->weight, "Share of traffic, 1..1000");
  auto* maxc = set->add_option("--max-concurrency", so->max_concurrency,
                               "Requests in flight at once, 0..100000 (0: no limit)");
  auto* models = set->add_option("--models", so->models, "Comma-separated models, or * for all");
  auto* url = set->add_option("--base-url", so->base_url, "Provider base URL");
  set->callback([&g, so, weight, maxc, models, url] {
    store::AccountUpdate u;
    if (weight->count()) u.weight = so->weight;
    if (maxc->count()) u.max_concurrency = so->max_concurrency;
    if (models->count()) u.models = parse_models(so->models);
    if (url->count()) u.base_url = so->base_url;  // checked in the action: it may throw
    if (!u.weight && !u.max_concurrency && !u.models && !u.base_url)
      throw CLI::ValidationError("account set",
                                 "give at least one of --weight, --max-concurrency, --models, "
                                 "--base-url");
    g.action = [&g, so, u]() mutable {
      if (u.base_url) u.base_url = normalize_base_url(*u.base_url);
      return account_set(g, *so, u);
    };
  });

  add_account_views(*account, g);

  auto name = std::make_shared<std::string>();
  for (bool enable : {true, false}) {
    auto* cmd = account->add_subcommand(
        enable ? "enable" : "disable",
        enable ? "Enable an account; also clears a disable after a credential failure"
               : "Disable an account: no new requests go to it");
    cmd->add_option("NAME", *name, "Account name")->required();
    cmd->callback([&g, name, enable] {
      g.action = [&g, name, enable] {
        g.open_store()->set_account_enabled(*name, enable);
        if (enable)
          fmt::print(
              "account {} enabled; this also clears a health-disable (serve picks it up within "
              "a second)\n",
              *name);
        else
          fmt::print("account {} disabled\n", *name);
        return 0;
      };
    });
  }
}

}  // namespace relay::app::cli
