#include "store/store_factory.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "crypto/secret_box.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/pg_config_store.hpp"
#include "store/postgres/pg_usage_store.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "store/sqlite/sqlite_counter_snapshot_store.hpp"
#include "store/sqlite/sqlite_health_store.hpp"
#include "store/sqlite/sqlite_usage_store.hpp"

namespace relay::store {
namespace {

void ensure_private_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path p = fs::path(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "data/" -> "data"
  std::error_code ec;
  if (p.has_parent_path() && !p.parent_path().empty())
    fs::create_directories(p.parent_path(), ec);  // a failure resurfaces from mkdir below
  if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create data directory " + dir + ": " + std::strerror(errno));
  if (!fs::is_directory(p, ec))
    throw std::runtime_error("data directory " + dir + " is not a directory");
}

bool cluster(const app::Config& cfg) {
  return cfg.store.backend == "postgres";
}

const std::string& postgres_url(const app::Config& cfg) {
  if (cfg.store.postgres_url.empty())
    throw std::runtime_error(
        "store.backend is postgres but store.postgres_url is empty (set it in the config file or "
        "CODEX_RELAY_STORE_POSTGRES_URL)");
  return cfg.store.postgres_url;
}

}  // namespace

std::unique_ptr<ConfigStore> open_config_store(const app::Config& cfg) {
  const std::string& dir = cfg.store.data_dir;
  if (dir.empty()) throw std::runtime_error("store.data_dir must not be empty");
  ensure_private_dir(dir);
  auto box =
      std::make_shared<crypto::SecretBox>(crypto::load_master_key(dir, cfg.store.master_key_file));
  if (cluster(cfg)) return std::make_unique<PgConfigStore>(postgres_url(cfg), std::move(box));
  return std::make_unique<SqliteConfigStore>(dir + "/relay.db", std::move(box));
}

std::unique_ptr<HealthStore> open_health_store(const app::Config& cfg) {
  const std::string& dir = cfg.store.data_dir;
  if (dir.empty()) throw std::runtime_error("store.data_dir must not be empty");
  ensure_private_dir(dir);
  return std::make_unique<SqliteHealthStore>(dir + "/relay.db");
}

std::unique_ptr<CounterSnapshotStore> open_counter_snapshot_store(const app::Config& cfg) {
  const std::string& dir = cfg.store.data_dir;
  if (dir.empty()) throw std::runtime_error("store.data_dir must not be empty");
  ensure_private_dir(dir);
  return std::make_unique<SqliteCounterSnapshotStore>(dir + "/relay.db");
}

std::unique_ptr<UsageStore> open_usage_store(const app::Config& cfg) {
  const std::string& dir = cfg.store.data_dir;
  if (dir.empty()) throw std::runtime_error("store.data_dir must not be empty");
  if (cluster(cfg)) return std::make_unique<PgUsageStore>(postgres_url(cfg));
  ensure_private_dir(dir);
  return std::make_unique<SqliteUsageStore>(dir + "/relay.db");
}

std::string migrate(const app::Config& cfg) {
  if (!cluster(cfg)) {
    // relay.db migrates itself when opened; opening both stores applies every migration.
    open_config_store(cfg);
    open_usage_store(cfg);
    return "sqlite schema of " + cfg.store.data_dir + "/relay.db is up to date";
  }
  pg::Connection conn(postgres_url(cfg));
  const auto version = [&conn] {
    return conn.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").int64(0, 0);
  };
  conn.exec(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  const std::int64_t before = version();
  pg::migrate(conn);
  const std::int64_t after = version();
  return "postgres schema at version " + std::to_string(after) + " (" +
         (after == before ? std::string("nothing to apply")
                          : "applied " + std::to_string(after - before)) +
         ")";
}

}  // namespace relay::store
