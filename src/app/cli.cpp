#include "app/cli.hpp"

#include <fmt/core.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "admin/audited_config_store.hpp"
#include "app/cli_internal.hpp"
#include "app/server.hpp"
#include "base/log.hpp"
#include "store/redis/usage_reader.hpp"
#include "store/store_factory.hpp"

namespace relay::app {
namespace cli {

Config Globals::config() const {
  Config cfg = load_config(config_file);
  apply_env_overrides(cfg);
  if (data_dir_opt && data_dir_opt->count() > 0) cfg.store.data_dir = data_dir;
  spdlog::set_level(spdlog::level::from_str(cfg.log.level));
  return cfg;
}

std::unique_ptr<store::ConfigStore> Globals::open_store() const {
  return admin::audited_owning(
      store::open_config_store(config()), [this] { return open_admin_store(); }, cli_actor());
}

std::unique_ptr<store::HealthStore> Globals::open_health_store() const {
  return store::open_health_store(config());
}

std::unique_ptr<store::CounterSnapshotStore> Globals::open_counter_snapshot_store() const {
  // With [redis] the live counters are there; relay.db's snapshot is the embedded mode's.
  const Config& cfg = config();
  if (!cfg.redis.url.empty()) return store::open_redis_usage_reader(cfg);
  return store::open_counter_snapshot_store(cfg);
}

// Bytes that do not continue a UTF-8 sequence, so "→" counts as one column.
std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = display_width(header[i]);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], display_width(row[i]));
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - display_width(row[i]) + 2, ' ');
    }
    fmt::print("{}\n", line);
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

std::string format_utc(std::int64_t unix_seconds) {
  using namespace std::chrono;
  sys_seconds t{seconds{unix_seconds}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string format_utc_time(std::int64_t unix_ms) {
  return format_utc(unix_ms / 1000).substr(11);  // drop "YYYY-MM-DDT"
}

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

bool is_http_url(const std::string& url) {
  return (url.starts_with("http://") && url.size() > 7) ||
         (url.starts_with("https://") && url.size() > 8);
}

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

int print_codex_config(std::string url, const std::string& key) {
  if (!is_http_url(url) || url.find_first_of(" \t\r\n\"") != std::string::npos)
    throw std::runtime_error("--url must be an http:// or https:// URL");
  while (url.ends_with('/')) url.pop_back();
  if (!url.ends_with("/v1")) url += "/v1";
  const std::string auth = key.empty() ? "env_key = \"CODEX_RELAY_API_KEY\""
                                       : "experimental_bearer_token = " + toml_quote(key);
  fmt::print(R"(# Codex CLI configuration for codex-relay (~/.codex/config.toml).
# The first two keys must sit above any [table] in that file.
model_provider = "codex-relay"
model = "gpt-5.5"

[model_providers.codex-relay]
name = "codex-relay"
base_url = {}
wire_api = "responses"
{}
{}
# Plugins and analytics talk to OpenAI's own services directly, not through the relay: with a
# relay key they only fail, and they would send usage data around the relay.
[features]
plugins = false

[analytics]
enabled = false

# One-off, without editing config.toml:
# codex exec -c model_provider='"codex-relay"' \
#   -c 'model_providers.codex-relay={{name="codex-relay",base_url={},wire_api="responses",env_key="CODEX_RELAY_API_KEY"}}' \
#   "your prompt"
)",
             toml_quote(url), auth,
             key.empty() ? "# export CODEX_RELAY_API_KEY=<key from: codex-relay key add TENANT>\n"
                         : "# This file now holds a relay key: keep it private (chmod 600).\n",
             toml_quote(url));
  return 0;
}

}  // namespace
}  // namespace cli

int run_cli(int argc, char** argv) {
  // stdout carries command output only (key add prints the bare key), so logs go to stderr.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "codex-relay", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));

  cli::Globals g;
  CLI::App app{
      "codex-relay: a self-hosted gateway for OpenAI Codex CLI and OpenAI-compatible "
      "clients",
      "codex-relay"};
  app.set_version_flag("--version", CODEX_RELAY_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // inherited by every subcommand: global options may follow the verb
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("codex-relay: error: ") + e.what() + "\nRun with --help for usage.\n";
  });
  g.data_dir_opt = app.add_option("--data-dir", g.data_dir, "Data directory (default ./data)");
  app.add_option("--config", g.config_file, "TOML config file");

  std::string listen, region, node;
  auto* serve = app.add_subcommand("serve", "Run the relay");
  auto* listen_opt = serve->add_option("--listen", listen, "HOST:PORT to listen on");
  auto name_check = [](const std::string& v) {
    for (unsigned char c : v)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '.')
        return std::string("may hold only letters, digits, '-', '_' and '.'");
    return std::string();
  };
  auto* region_opt =
      serve->add_option("--region", region, "This node's region: egresses there are preferred")
          ->check(name_check);
  auto* node_opt =
      serve->add_option("--node", node, "This node's name in records (default: the host name)")
          ->check(name_check);
  serve->callback([&] {
    g.action = [&] {
      Config cfg = g.config();
      if (listen_opt->count() > 0) cfg.server.listen = listen;
      if (region_opt->count() > 0) cfg.server.region = region;
      if (node_opt->count() > 0) cfg.server.node = node;
      log::use_json(cfg.log.format == "json");
      auto store = store::open_config_store(cfg);
      return run_server(cfg, std::move(store));
    };
  });

  cli::add_tenant_commands(app, g);
  cli::add_key_commands(app, g);
  cli::add_account_commands(app, g);
  cli::add_egress_commands(app, g);
  cli::add_usage_command(app, g);
  cli::add_records_command(app, g);
  cli::add_admin_commands(app, g);
  cli::add_master_key_commands(app, g);

  auto* migrate = app.add_subcommand(
      "migrate", "Apply the store's schema migrations (run once before upgrading nodes)");
  migrate->callback([&] {
    g.action = [&] {
      fmt::print("{}\n", store::migrate(g.config()));
      return 0;
    };
  });

  std::string url, key;
  auto* cc =
      app.add_subcommand("codex-config", "Print a Codex CLI config.toml block for the relay");
  cc->add_option("--url", url, "Relay base URL, e.g. https://relay.example.com")->required();
  cc->add_option("--key", key, "Embed this relay key (default: read CODEX_RELAY_API_KEY)");
  cc->callback([&] { g.action = [&] { return cli::print_codex_config(url, key); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    int rc = g.action ? g.action() : 0;
    std::fflush(stdout);
    return rc;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "codex-relay: error: {}\n", e.what());
    return 1;
  }
}

}  // namespace relay::app
