#pragma once
// Shared by the cli*.cpp files only: each verb group registers its subcommands here.
#include <CLI/CLI.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "store/admin_store.hpp"
#include "store/config_store.hpp"
#include "store/counter_snapshot_store.hpp"
#include "store/health_store.hpp"

namespace relay::app::cli {

// Global options plus the verb chosen during parsing. Verbs only record an action in their
// CLI11 callback; run_cli runs it after parsing so that errors are reported in one place.
struct Globals {
  std::string data_dir = "./data";
  std::string config_file;
  CLI::Option* data_dir_opt = nullptr;
  std::function<int()> action;

  // defaults < TOML (--config) < CODEX_RELAY_* env < flags.
  Config config() const;
  // Every change made through it is audited as cli_actor() (src/admin/audited_config_store.hpp).
  std::unique_ptr<store::ConfigStore> open_store() const;
  std::unique_ptr<store::AdminStore> open_admin_store() const;  // cli_admin.cpp
  std::unique_ptr<store::HealthStore> open_health_store() const;
  std::unique_ptr<store::CounterSnapshotStore> open_counter_snapshot_store() const;
};

void add_tenant_commands(CLI::App& app, Globals& g);
void add_key_commands(CLI::App& app, Globals& g);
void add_account_commands(CLI::App& app, Globals& g);
// account list|events: the config joined with what serve reports about health.
void add_account_views(CLI::App& account, Globals& g);
// egress add|list|remove|verify (cli_egress.cpp).
void add_egress_commands(CLI::App& app, Globals& g);
void add_usage_command(CLI::App& app, Globals& g);
// records: the per-request metadata records as JSON lines (cli_records.cpp).
void add_records_command(CLI::App& app, Globals& g);
// admin-token add|list|revoke and audit (cli_admin.cpp).
void add_admin_commands(CLI::App& app, Globals& g);
// master-key rotate (cli_master_key.cpp).
void add_master_key_commands(CLI::App& app, Globals& g);
// "cli:<os user>": who the audit log says made a change from the command line.
std::string cli_actor();

// The six admission-limit flags (--rps … --monthly-tokens) of tenant add|set and key add|set,
// all validated alike (cli_tenant.cpp).
struct LimitOpts {
  static constexpr std::size_t kCount = 6;
  std::array<std::int64_t, kCount> values{};
  std::array<CLI::Option*, kCount> opts{};

  // The limits given on the command line; the others unset.
  store::TenantLimitsUpdate update() const;
  // As update(), but a usage error (exit 2) naming the flags when none was given.
  store::TenantLimitsUpdate required_update(const std::string& command) const;
};
void add_limit_flags(CLI::App* cmd, LimitOpts& o);
// "rps 10, daily tokens no limit" for the limits an update sets.
std::string describe_limits(const store::TenantLimitsUpdate& u);
// One table cell: "rps=10,daily-tokens=5000" for the limits set, "-" when none is.
std::string compact_limits(const store::TenantLimits& l);
// The `show` body shared by tenants and keys: the limits, then the usage today and this month
// under `scope` (the name in counter keys: a tenant, or tenant/key_id) as serve last saved it.
void print_limits_and_usage(const Globals& g, const std::string& scope,
                            const store::TenantLimits& l);

// Columns a text takes on a terminal: UTF-8 characters, not bytes.
std::size_t display_width(std::string_view s);
// Left-aligned columns on stdout; widths count UTF-8 characters, not bytes.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);
// Unix seconds -> "2025-01-31T00:00:00Z".
std::string format_utc(std::int64_t unix_seconds);
// Unix milliseconds -> "13:04:05Z" (time of day only, for near-future instants).
std::string format_utc_time(std::int64_t unix_ms);
std::int64_t unix_now();

}  // namespace relay::app::cli
