// account list|show|events: the configured accounts beside what `serve` last reported about
// their health (store::HealthStore). Of a credential only crypto::credential_hint is shown.
#include <fmt/core.h>

#include <algorithm>
#include <limits>
#include <map>

#include "app/cli_internal.hpp"
#include "crypto/credential_hint.hpp"

namespace relay::app::cli {
namespace {

// Rows older than this suggest serve is not running, so the figures are history, not now.
constexpr std::int64_t kStaleMs = 60'000;

std::vector<std::string> health_cells(const store::AccountHealthRow* h) {
  if (!h) return {"-", "-", "-", "-", "-", "-"};
  return {h->state,
          fmt::format("{:.2f}", h->score),
          fmt::format("{:.1f}", h->error_rate * 100),
          fmt::format("{:.0f}", h->ttfb_ms),
          h->input_tokens > 0
              ? fmt::format("{:.1f}", 100.0 * static_cast<double>(h->cached_tokens) /
                                          static_cast<double>(h->input_tokens))
              : "-",
          h->cooling_until_unix_ms > 0 ? format_utc_time(h->cooling_until_unix_ms) : "-"};
}

// Account id -> its credential's hint; "?" for one that does not decrypt under this master key
// (the snapshot leaves it out, with a warning).
std::map<std::int64_t, std::string> credential_hints(store::ConfigStore& store) {
  std::map<std::int64_t, std::string> out;
  const store::SnapshotPtr snap = store.load_snapshot();  // held: the loop reads into it
  for (const auto& a : snap->accounts) {
    const std::string hint = crypto::credential_hint(a.credential);
    out.emplace(a.id, hint.empty() ? "-" : hint);
  }
  return out;
}

std::string hint_of(const std::map<std::int64_t, std::string>& hints, std::int64_t id) {
  const auto it = hints.find(id);
  return it == hints.end() ? "?" : it->second;
}

int account_list(const Globals& g) {
  auto store = g.open_store();
  auto accounts = store->list_accounts();
  const auto hints = credential_hints(*store);
  std::map<std::int64_t, store::AccountHealthRow> health;
  std::int64_t newest = 0;
  for (auto& h : g.open_health_store()->read_health()) {
    newest = std::max(newest, h.updated_at_unix_ms);
    health.emplace(h.account_id, std::move(h));
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : accounts) {
    std::string models;
    for (const auto& m : a.models) models += (models.empty() ? "" : ",") + m;
    std::vector<std::string> row = {a.name,
                                    hint_of(hints, a.id),
                                    a.base_url,
                                    models.empty() ? "*" : models,
                                    std::to_string(a.weight),
                                    a.max_concurrency > 0 ? std::to_string(a.max_concurrency) : "-",
                                    a.enabled ? "yes" : "no"};
    auto it = health.find(a.id);
    for (auto& cell : health_cells(it == health.end() ? nullptr : &it->second))
      row.push_back(std::move(cell));
    rows.push_back(std::move(row));
  }
  print_table({"NAME", "KEY", "BASE_URL", "MODELS", "WEIGHT", "MAXCONC", "ENABLED", "STATE",
               "SCORE", "ERR%", "TTFB_MS", "CACHE_HIT%", "COOLING_UNTIL"},
              rows);
  if (newest > 0 && newest < unix_now() * 1000 - kStaleMs)
    fmt::print(stderr, "note: health as of {} (serve has not updated it since; is it running?)\n",
               format_utc(newest / 1000));
  return 0;
}

int account_show(const Globals& g, const std::string& name) {
  auto store = g.open_store();
  const auto accounts = store->list_accounts();
  const auto a = std::find_if(accounts.begin(), accounts.end(),
                              [&](const store::Account& x) { return x.name == name; });
  if (a == accounts.end())
    throw store::StoreError(store::StoreError::Kind::kNotFound, "account '" + name + "' not found");
  std::string models;
  for (const auto& m : a->models) models += (models.empty() ? "" : ",") + m;
  fmt::print("name:            {}\n", a->name);
  fmt::print("credential:      {}\n", hint_of(credential_hints(*store), a->id));
  fmt::print("base_url:        {}\n", a->base_url);
  fmt::print("models:          {}\n", models.empty() ? "*" : models);
  fmt::print("weight:          {}\n", a->weight);
  fmt::print("max_concurrency: {}\n",
             a->max_concurrency > 0 ? std::to_string(a->max_concurrency) : "-");
  fmt::print("enabled:         {}\n", a->enabled ? "yes" : "no");
  if (!a->ca_file.empty()) fmt::print("ca_file:         {}\n", a->ca_file);
  fmt::print("created:         {}\n", format_utc(a->created_at));
  return 0;
}

int account_events(const Globals& g, const std::string& name, std::size_t limit) {
  // Filtering by name needs every event; the store bounds how many it keeps (30 days, 100k).
  const std::size_t fetch = name.empty() ? limit : std::numeric_limits<std::size_t>::max();
  auto events = g.open_health_store()->recent_events(fetch);
  if (!name.empty())
    std::erase_if(events, [&](const store::AccountEvent& e) { return e.account_name != name; });
  if (events.size() > limit)
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(limit));
  std::vector<std::vector<std::string>> rows;
  rows.reserve(events.size());
  for (const auto& e : events)
    rows.push_back({format_utc(e.at_unix_ms / 1000), e.account_name,
                    e.from_state + " → " + e.to_state, e.cause});
  print_table({"TIME", "ACCOUNT", "CHANGE", "CAUSE"}, rows);
  return 0;
}

}  // namespace

void add_account_views(CLI::App& account, Globals& g) {
  auto* list = account.add_subcommand(
      "list",
      "List accounts with the health serve last reported (of credentials only the last 4 "
      "characters)");
  list->callback([&g] { g.action = [&g] { return account_list(g); }; });

  auto show_name = std::make_shared<std::string>();
  auto* show = account.add_subcommand(
      "show", "Show one account; of its credential only the last 4 characters");
  show->add_option("NAME", *show_name, "Account name")->required();
  show->callback(
      [&g, show_name] { g.action = [&g, show_name] { return account_show(g, *show_name); }; });

  struct EventOpts {
    std::string name;
    std::size_t limit = 50;
  };
  auto o = std::make_shared<EventOpts>();
  auto* events = account.add_subcommand("events", "Recent account state changes, oldest first");
  events->add_option("NAME", o->name, "Only this account");
  events->add_option("--limit", o->limit, "How many (default 50)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  events->callback(
      [&g, o] { g.action = [&g, o] { return account_events(g, o->name, o->limit); }; });
}

}  // namespace relay::app::cli
