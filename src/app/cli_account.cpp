// account add|list|enable|disable
#include <fmt/core.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "app/cli_internal.hpp"

namespace relay::app::cli {
namespace {

std::string trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

struct AddOpts {
  std::string name, base_url, key_env, key_file, models, ca_file;
};

// Read once and never echoed: errors name the variable or file, not its content.
std::string read_credential(const AddOpts& o) {
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

std::string normalize_base_url(std::string url) {
  url = trim(url);
  const bool http = url.starts_with("http://") && url.size() > 7;
  const bool https = url.starts_with("https://") && url.size() > 8;
  if ((!http && !https) || url.find_first_of(" \t\"") != std::string::npos)
    throw std::runtime_error(
        "--base-url must be an http:// or https:// URL, e.g. "
        "https://api.openai.com/v1");
  while (url.ends_with('/')) url.pop_back();
  return url;
}

std::vector<std::string> parse_models(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    if (std::string m = trim(std::string_view(list).substr(start, end - start)); !m.empty())
      out.push_back(std::move(m));
    start = end + 1;
  }
  return out;
}

std::string absolute_readable(const std::string& path) {
  if (!std::ifstream(path)) throw std::runtime_error("cannot read CA file " + path);
  return std::filesystem::absolute(path).lexically_normal().string();
}

int account_add(const Globals& g, const AddOpts& o) {
  store::NewAccount a;
  a.name = o.name;
  a.base_url = normalize_base_url(o.base_url);
  a.models = parse_models(o.models);
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

}  // namespace

void add_account_commands(CLI::App& app, Globals& g) {
  auto* account = app.add_subcommand("account", "Manage upstream accounts (provider credentials)");
  account->require_subcommand(1);

  auto o = std::make_shared<AddOpts>();
  auto* add = account->add_subcommand("add", "Add an upstream account");
  add->add_option("NAME", o->name, "Account name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  add->add_option("--base-url", o->base_url, "Provider base URL, e.g. https://api.openai.com/v1")
      ->required();
  auto* env = add->add_option("--api-key-env", o->key_env, "Read the API key from this variable");
  auto* file = add->add_option("--api-key-file", o->key_file, "Read the API key from this file");
  env->excludes(file);
  add->add_option("--models", o->models, "Comma-separated models it serves (default: all)");
  add->add_option("--ca-file", o->ca_file, "PEM bundle to trust for this provider");
  add->callback([&g, o, env, file] {
    if (env->count() + file->count() != 1)
      throw CLI::ValidationError("account add", "give one of --api-key-env or --api-key-file");
    g.action = [&g, o] { return account_add(g, *o); };
  });

  auto* list = account->add_subcommand("list", "List accounts (never their credentials)");
  list->callback([&g] {
    g.action = [&g] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& a : g.open_store()->list_accounts()) {
        std::string models;
        for (const auto& m : a.models) models += (models.empty() ? "" : ",") + m;
        rows.push_back({a.name, a.base_url, models.empty() ? "*" : models,
                        a.ca_file.empty() ? "-" : a.ca_file, a.enabled ? "yes" : "no"});
      }
      print_table({"NAME", "BASE_URL", "MODELS", "CA", "ENABLED"}, rows);
      return 0;
    };
  });

  auto name = std::make_shared<std::string>();
  for (bool enable : {true, false}) {
    auto* cmd = account->add_subcommand(
        enable ? "enable" : "disable",
        enable ? "Enable an account" : "Disable an account: no new requests go to it");
    cmd->add_option("NAME", *name, "Account name")->required();
    cmd->callback([&g, name, enable] {
      g.action = [&g, name, enable] {
        g.open_store()->set_account_enabled(*name, enable);
        fmt::print("account {} {}\n", *name, enable ? "enabled" : "disabled");
        return 0;
      };
    });
  }
}

}  // namespace relay::app::cli
