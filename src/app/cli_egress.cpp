// egress add|list|remove|verify: forward proxies pinned to accounts (docs/egress.md). A proxy
// URL may hold a password: it reaches the store sealed and is only ever printed redacted.
#include <curl/curl.h>
#include <fmt/core.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <map>
#include <stdexcept>

#include "admin/admin_fields.hpp"
#include "app/cli_internal.hpp"
#include "app/egress_verify.hpp"

namespace relay::app::cli {
namespace {

namespace verify = egress_verify;

struct EgressAddOpts {
  std::string name, url, url_env, account, region, ca_file;
};

struct VerifyOpts {
  std::string echo_url = std::string(verify::kDefaultEchoUrl);
  long timeout_ms = 10'000;
  std::string ca_file;
};

using admin::absolute_readable;

int egress_add(const Globals& g, const EgressAddOpts& o) {
  store::NewEgress e{o.name, o.url, o.account, o.region, ""};
  if (!o.url_env.empty()) {
    const char* v = std::getenv(o.url_env.c_str());
    if (!v || !*v) throw std::runtime_error("environment variable " + o.url_env + " is not set");
    e.url = v;
  }
  if (!o.ca_file.empty()) e.ca_file = absolute_readable(o.ca_file);
  store::Egress added;
  try {
    added = g.open_store()->add_egress(e);
  } catch (...) {
    OPENSSL_cleanse(e.url.data(), e.url.size());
    throw;
  }
  OPENSSL_cleanse(e.url.data(), e.url.size());
  fmt::print("egress {} added for account {} ({})\n", added.name, added.account_name, added.url);
  return 0;
}

int egress_list(const Globals& g) {
  auto egresses = g.open_store()->list_egresses();
  std::map<std::int64_t, store::EgressHealthRow> health;
  for (auto& h : g.open_health_store()->read_egress_health()) health.emplace(h.egress_id, h);
  std::vector<std::vector<std::string>> rows;
  rows.reserve(egresses.size());
  for (const auto& e : egresses) {
    auto it = health.find(e.id);
    const store::EgressHealthRow* h = it == health.end() ? nullptr : &it->second;
    rows.push_back({e.name, e.account_name.empty() ? "-" : e.account_name,
                    e.region.empty() ? "-" : e.region, h ? h->state : "-",
                    h && h->updated_at_unix_ms > 0 ? format_utc(h->updated_at_unix_ms / 1000) : "-",
                    e.url, e.observed_ip.empty() ? "-" : e.observed_ip,
                    e.observed_at > 0 ? format_utc(e.observed_at) : "-",
                    h && !h->last_error.empty() ? h->last_error : "-"});
  }
  print_table(
      {"NAME", "ACCOUNT", "REGION", "STATE", "SINCE", "URL", "OBSERVED_IP", "OBSERVED_AT", "ERROR"},
      rows);
  return 0;
}

// Says so when the account's last egress goes: from then on its requests go direct.
int egress_remove(const Globals& g, const std::string& name) {
  auto store = g.open_store();
  std::string account;
  for (const auto& e : store->list_egresses())
    if (e.name == name) account = e.account_name;
  store->remove_egress(name);
  fmt::print("egress {} removed\n", name);
  bool left = false;
  for (const auto& e : store->list_egresses()) left = left || e.account_name == account;
  if (!account.empty() && !left)
    fmt::print("account {} has no egress left: its requests now go direct\n", account);
  return 0;
}

std::string normalize_echo_url(const std::string& url) {
  const bool ok = (url.starts_with("http://") && url.size() > 7) ||
                  (url.starts_with("https://") && url.size() > 8);
  if (!ok || url.find_first_of(" \t\r\n") != std::string::npos)
    throw std::runtime_error("--echo-url must be an http:// or https:// URL");
  return url;
}

// Probes every egress, one after the other, printing each result as it comes (a dead proxy
// can take the whole timeout). Exit 1 on any failure or any IP shared by two accounts.
int egress_verify(const Globals& g, const VerifyOpts& o) {
  verify::Options opts{normalize_echo_url(o.echo_url), o.timeout_ms, ""};
  if (!o.ca_file.empty()) opts.ca_file = absolute_readable(o.ca_file);
  auto store = g.open_store();
  const auto listed = store->list_egresses();
  // The snapshot is what serve would use: decrypted URLs, accounts that load.
  const auto snap = store->load_snapshot();
  std::map<std::string, std::pair<const store::SnapshotEgress*, std::string>> loaded;
  for (const auto& a : snap->accounts)
    for (const auto& e : a.egresses) loaded.emplace(e.name, std::pair{&e, a.name});

  std::size_t wname = 6, waccount = 7;
  for (const auto& e : listed) {
    wname = std::max(wname, e.name.size());
    waccount = std::max(waccount, e.account_name.size());
  }
  fmt::print("{:<{}}  {:<{}}  {}\n", "EGRESS", wname, "ACCOUNT", waccount, "OBSERVED_IP");
  std::fflush(stdout);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<verify::Observation> seen;
  std::size_t failed = 0;
  for (const auto& e : listed) {
    auto it = loaded.find(e.name);
    verify::ProbeResult r;
    if (it == loaded.end())
      r.error = "not loaded: its URL or its account's credential does not decrypt";
    else
      r = verify::probe(*it->second.first, opts);
    if (r.error.empty()) {
      store->record_observed_ip(e.name, r.ip, unix_now());
      seen.push_back({e.name, e.account_name, r.ip});
    } else {
      ++failed;
    }
    fmt::print("{:<{}}  {:<{}}  {}\n", e.name, wname, e.account_name, waccount,
               r.error.empty() ? r.ip : "FAILED: " + r.error);
    std::fflush(stdout);
  }
  curl_global_cleanup();
  const auto conflicts = verify::conflicts(seen);
  for (const auto& line : conflicts) fmt::print("{}\n", line);
  fmt::print("{} egresses: {} answered, {} failed, {} conflicts\n", listed.size(), seen.size(),
             failed, conflicts.size());
  return failed > 0 || !conflicts.empty() ? 1 : 0;
}

}  // namespace

void add_egress_commands(CLI::App& app, Globals& g) {
  auto* egress =
      app.add_subcommand("egress", "Manage egresses: forward proxies pinned to one account each");
  egress->require_subcommand(1);

  auto o = std::make_shared<EgressAddOpts>();
  auto* add = egress->add_subcommand("add", "Add an egress to an account");
  add->add_option("NAME", o->name, "Egress name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}")->required();
  auto* url = add->add_option("--url", o->url,
                              "Proxy: http://, https:// or socks5h://[USER:PASSWORD@]HOST:PORT");
  auto* url_env = add->add_option("--url-env", o->url_env,
                                  "Read the proxy URL from this variable (keeps a password out "
                                  "of the command line)");
  url->excludes(url_env);
  add->add_option("--account", o->account, "The account whose traffic it carries")->required();
  add->add_option("--region", o->region, "Region label, e.g. eu-west (default: none)");
  add->add_option("--ca-file", o->ca_file, "PEM bundle to trust for an https:// proxy");
  add->callback([&g, o, url, url_env] {
    if (url->count() + url_env->count() != 1)
      throw CLI::ValidationError("egress add", "give one of --url or --url-env");
    g.action = [&g, o] { return egress_add(g, *o); };
  });

  auto* list = egress->add_subcommand(
      "list", "List egresses: state as serve reports it, observed IP (never a password)");
  list->callback([&g] { g.action = [&g] { return egress_list(g); }; });

  auto name = std::make_shared<std::string>();
  auto* remove = egress->add_subcommand("remove", "Remove an egress");
  remove->add_option("NAME", *name, "Egress name")->required();
  remove->callback([&g, name] { g.action = [&g, name] { return egress_remove(g, *name); }; });

  auto vo = std::make_shared<VerifyOpts>();
  auto* check = egress->add_subcommand(
      "verify", "Probe an echo service through each egress; report IPs shared by two accounts");
  check->add_option(
      "--echo-url", vo->echo_url,
      "Answers with the caller's IP (default " + std::string(verify::kDefaultEchoUrl) + ")");
  check->add_option("--timeout-ms", vo->timeout_ms, "Per egress, 1..600000 (default 10000)")
      ->check(CLI::Range(1L, 600'000L));
  check->add_option("--ca-file", vo->ca_file, "PEM bundle to trust for the echo URL");
  check->callback([&g, vo] { g.action = [&g, vo] { return egress_verify(g, *vo); }; });
}

}  // namespace relay::app::cli
