#include "store/postgres/migrations.hpp"

#include <spdlog/spdlog.h>

#include <string>

namespace relay::store::pg {
namespace {

// Migration 1: the usage records (docs/records.md), their daily aggregates and the journals'
// offsets, as in relay.db (SQLite migrations 7 and 8), except that:
// - usage_records is partitioned by UTC day of start_ms, so retention drops whole days; the
//   store creates each day's partition (usage_records_YYYYMMDD) when a record first needs it;
// - (request_id, start_ms) is unique (a partitioned table's unique key must hold the partition
//   key), so that a record delivered twice is stored once (the cluster's event queue is
//   at-least-once);
// - the order of insertion is kept by a sequence rather than by rowid;
// - usage_daily compares and sorts its texts bytewise (COLLATE "C"), as SQLite does, whatever
//   the database's locale.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE usage_records (
  id               BIGSERIAL NOT NULL,
  request_id       TEXT      NOT NULL,
  start_ms         BIGINT    NOT NULL,
  node             TEXT      NOT NULL,
  region           TEXT      NOT NULL,
  tenant           TEXT      NOT NULL,
  key_id           TEXT      NOT NULL,
  account          TEXT      NOT NULL,
  egress           TEXT      NOT NULL,
  model            TEXT      NOT NULL,
  endpoint         TEXT      NOT NULL,
  stream           BOOLEAN   NOT NULL,
  status           BIGINT    NOT NULL,
  error_code       TEXT      NOT NULL,
  attempts         BIGINT    NOT NULL,
  ttfb_ms          BIGINT    NOT NULL,
  duration_ms      BIGINT    NOT NULL,
  bytes_in         BIGINT    NOT NULL,
  bytes_out        BIGINT    NOT NULL,
  input_tokens     BIGINT    NOT NULL,
  cached_tokens    BIGINT    NOT NULL,
  output_tokens    BIGINT    NOT NULL,
  reasoning_tokens BIGINT    NOT NULL,
  usage_incomplete BOOLEAN   NOT NULL,
  client_family    TEXT      NOT NULL,
  UNIQUE (request_id, start_ms)
) PARTITION BY RANGE (start_ms);
CREATE INDEX usage_records_start_ms ON usage_records (start_ms, id);
CREATE INDEX usage_records_tenant_start_ms ON usage_records (tenant, start_ms, id);
CREATE TABLE usage_daily (
  day              TEXT COLLATE "C" NOT NULL,
  tenant           TEXT COLLATE "C" NOT NULL,
  key_id           TEXT COLLATE "C" NOT NULL,
  model            TEXT COLLATE "C" NOT NULL,
  account          TEXT COLLATE "C" NOT NULL,
  requests         BIGINT NOT NULL,
  errors           BIGINT NOT NULL,
  incomplete       BIGINT NOT NULL,
  input_tokens     BIGINT NOT NULL,
  cached_tokens    BIGINT NOT NULL,
  output_tokens    BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  bytes_in         BIGINT NOT NULL,
  bytes_out        BIGINT NOT NULL,
  PRIMARY KEY (day, tenant, key_id, model, account)
);
CREATE INDEX usage_daily_tenant_day ON usage_daily (tenant, day);
CREATE TABLE journal_state (
  name           TEXT   PRIMARY KEY,
  journal_offset BIGINT NOT NULL
);
)sql"},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

void migrate(Connection& c) {
  const int known = kMigrations[std::size(kMigrations) - 1].version;
  for (const Migration& m : kMigrations) {
    Transaction tx(c);
    c.exec("SELECT pg_advisory_xact_lock($1)", {std::string(kMigrationLock)});
    c.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const int applied = static_cast<int>(
        c.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").int64(0, 0));
    if (applied > known)
      throw StoreError(StoreError::Kind::kInvalid,
                       "postgres schema version " + std::to_string(applied) +
                           " is newer than this codex-relay supports (" + std::to_string(known) +
                           "); upgrade codex-relay");
    if (applied >= m.version) continue;  // tx rolls back: nothing was written
    c.exec_script(m.sql);
    c.exec("INSERT INTO schema_version (version) VALUES ($1)", {std::to_string(m.version)});
    tx.commit();
    spdlog::info("postgres: applied schema migration {}", m.version);
  }
}

}  // namespace relay::store::pg
