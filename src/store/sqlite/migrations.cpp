#include "store/sqlite/migrations.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <string>

#include "store/config_store.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store::sqlite {
namespace {

constexpr Migration kConfigMigrations[] = {
    {1, R"sql(
CREATE TABLE tenants (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  enabled    INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
  id         TEXT    PRIMARY KEY,
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
  key_hash   TEXT    NOT NULL UNIQUE,
  prefix     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_keys_tenant_id ON api_keys(tenant_id);
CREATE TABLE accounts (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  base_url   TEXT    NOT NULL,
  credential BLOB    NOT NULL,
  models     TEXT    NOT NULL DEFAULT '',
  ca_file    TEXT    NOT NULL DEFAULT '',
  enabled    INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
)sql"},
    // One sealed constant proves which master key this store's credentials are under.
    {2, R"sql(
CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
)sql"},
    // Account pool (issue 3): traffic shares, concurrency caps, and what `serve` reports about
    // health. enabled_at is bumped by every operator enable, which is how the pool learns that
    // a health-disabled account was re-enabled. Health rows carry no foreign key: serve replaces
    // them wholesale and must not fail because an account was removed meanwhile.
    // config_version counts commits to the config tables (triggers, so raw edits count too):
    // PRAGMA data_version would also move on serve's once-a-second health write and make the
    // poller reload the snapshot every second.
    {3, R"sql(
ALTER TABLE accounts ADD COLUMN weight          INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN enabled_at      INTEGER NOT NULL DEFAULT 0;
CREATE TABLE account_health (
  account_id       INTEGER PRIMARY KEY,
  account_name     TEXT    NOT NULL,
  state            TEXT    NOT NULL,
  score            REAL    NOT NULL,
  error_rate       REAL    NOT NULL,
  ttfb_ms          REAL    NOT NULL,
  cooling_until_ms INTEGER NOT NULL,
  requests         INTEGER NOT NULL,
  input_tokens     INTEGER NOT NULL,
  cached_tokens    INTEGER NOT NULL,
  last_failure     TEXT    NOT NULL,
  updated_at_ms    INTEGER NOT NULL
);
CREATE TABLE account_events (
  id           INTEGER PRIMARY KEY,
  account_id   INTEGER NOT NULL,
  account_name TEXT    NOT NULL,
  from_state   TEXT    NOT NULL,
  to_state     TEXT    NOT NULL,
  cause        TEXT    NOT NULL,
  at_ms        INTEGER NOT NULL
);
CREATE INDEX account_events_at_ms ON account_events(at_ms);
CREATE TABLE config_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO config_version VALUES (1, 0);
CREATE TRIGGER tenants_ins_bump AFTER INSERT ON tenants
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER tenants_upd_bump AFTER UPDATE ON tenants
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER tenants_del_bump AFTER DELETE ON tenants
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER api_keys_ins_bump AFTER INSERT ON api_keys
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER api_keys_upd_bump AFTER UPDATE ON api_keys
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER api_keys_del_bump AFTER DELETE ON api_keys
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER accounts_ins_bump AFTER INSERT ON accounts
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER accounts_upd_bump AFTER UPDATE ON accounts
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER accounts_del_bump AFTER DELETE ON accounts
  BEGIN UPDATE config_version SET n = n + 1; END;
)sql"},
    // Tenant admission (issue 4): per-tenant limits, 0 meaning no limit. tenants_upd_bump
    // (version 3) fires on any column, these included, so a limit change reaches serve's
    // snapshot. quota_counters is where serve flushes its in-process quota counters about once
    // a second (restored at start, read by `tenant show`); it has no trigger, so those writes
    // leave config_version alone. expire_at_ms 0: never expires.
    {4, R"sql(
ALTER TABLE tenants ADD COLUMN rps            INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN rpm            INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN concurrency    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN daily_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN daily_tokens   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN monthly_tokens INTEGER NOT NULL DEFAULT 0;
CREATE TABLE quota_counters (
  key          TEXT    PRIMARY KEY,
  value        INTEGER NOT NULL,
  expire_at_ms INTEGER NOT NULL
);
)sql"},
    // Limits per relay key (issue 4), enforced on top of its tenant's; 0 means no limit.
    // api_keys_upd_bump (version 3) fires on any column, these included, so `key set` reaches
    // serve's snapshot like `tenant set` does.
    {5, R"sql(
ALTER TABLE api_keys ADD COLUMN rps            INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN rpm            INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN concurrency    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN daily_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN daily_tokens   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN monthly_tokens INTEGER NOT NULL DEFAULT 0;
)sql"},
    // Egress pinning (issue 5). An egress is a forward proxy that belongs to exactly one
    // account: its name is unique, and so is its endpoint (scheme://host:port without
    // credentials), so one proxy can never carry two accounts' traffic, even under two names.
    // url is sealed whole (it may hold a password), like accounts.credential. Removing an
    // account removes its egresses (CASCADE): an egress without its account means nothing.
    // The update trigger watches the config columns only, so `egress verify` recording the
    // observed IP does not make serve reload. egress_health is what serve reports, replaced
    // wholesale like account_health, without a foreign key for the same reason. AUTOINCREMENT:
    // serve keys an egress's health by id, so a removed egress's id must never name a new one.
    {6, R"sql(
CREATE TABLE egresses (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT    NOT NULL UNIQUE,
  account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  url         BLOB    NOT NULL,
  endpoint    TEXT    NOT NULL UNIQUE,
  region      TEXT    NOT NULL DEFAULT '',
  ca_file     TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  observed_ip TEXT,
  observed_at INTEGER
);
CREATE INDEX egresses_account_id ON egresses(account_id);
CREATE TRIGGER egresses_ins_bump AFTER INSERT ON egresses
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER egresses_upd_bump
  AFTER UPDATE OF name, account_id, url, endpoint, region, ca_file ON egresses
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER egresses_del_bump AFTER DELETE ON egresses
  BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TABLE egress_health (
  egress_id     INTEGER PRIMARY KEY,
  egress_name   TEXT    NOT NULL,
  account_name  TEXT    NOT NULL,
  state         TEXT    NOT NULL,
  last_error    TEXT    NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
)sql"},
    // Metadata records (issue 6, docs/records.md): one row per request, one column per field
    // of records::UsageRecord, nothing else. journal_state holds how far the consumer has read
    // each local journal; it is written in the same transaction as the rows it read, so a crash
    // can neither lose nor repeat a record. No trigger: these writes are not config and must
    // not make serve reload (config_version, version 3). No AUTOINCREMENT: ids only order rows
    // that share a start_ms.
    {7, R"sql(
CREATE TABLE usage_records (
  id               INTEGER PRIMARY KEY,
  request_id       TEXT    NOT NULL,
  start_ms         INTEGER NOT NULL,
  node             TEXT    NOT NULL,
  region           TEXT    NOT NULL,
  tenant           TEXT    NOT NULL,
  key_id           TEXT    NOT NULL,
  account          TEXT    NOT NULL,
  egress           TEXT    NOT NULL,
  model            TEXT    NOT NULL,
  endpoint         TEXT    NOT NULL,
  stream           INTEGER NOT NULL,
  status           INTEGER NOT NULL,
  error_code       TEXT    NOT NULL,
  attempts         INTEGER NOT NULL,
  ttfb_ms          INTEGER NOT NULL,
  duration_ms      INTEGER NOT NULL,
  bytes_in         INTEGER NOT NULL,
  bytes_out        INTEGER NOT NULL,
  input_tokens     INTEGER NOT NULL,
  cached_tokens    INTEGER NOT NULL,
  output_tokens    INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  usage_incomplete INTEGER NOT NULL,
  client_family    TEXT    NOT NULL
);
CREATE INDEX usage_records_start_ms ON usage_records(start_ms);
CREATE INDEX usage_records_tenant_start_ms ON usage_records(tenant, start_ms);
CREATE TABLE journal_state (
  name           TEXT    PRIMARY KEY,
  journal_offset INTEGER NOT NULL
);
)sql"},
    // Daily aggregates (issue 6, docs/records.md): per UTC day of start_ms, tenant, key,
    // model and account, the sums of the records. The usage store upserts them in the
    // transaction that inserts the records, so they are exact, and they outlive the records
    // (retention). The backfill covers records stored before this version; day is computed as
    // utc_day() does (floor, clamped to 0000..9999). errors: status >= 400, or none sent (0).
    {8, R"sql(
CREATE TABLE usage_daily (
  day              TEXT    NOT NULL,
  tenant           TEXT    NOT NULL,
  key_id           TEXT    NOT NULL,
  model            TEXT    NOT NULL,
  account          TEXT    NOT NULL,
  requests         INTEGER NOT NULL,
  errors           INTEGER NOT NULL,
  incomplete       INTEGER NOT NULL,
  input_tokens     INTEGER NOT NULL,
  cached_tokens    INTEGER NOT NULL,
  output_tokens    INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  bytes_in         INTEGER NOT NULL,
  bytes_out        INTEGER NOT NULL,
  PRIMARY KEY (day, tenant, key_id, model, account)
) WITHOUT ROWID;
CREATE INDEX usage_daily_tenant_day ON usage_daily(tenant, day);
INSERT INTO usage_daily
SELECT CASE WHEN start_ms < -62167219200000 THEN '0000-01-01'
            WHEN start_ms > 253402300799999 THEN '9999-12-31'
            ELSE date(start_ms / 1000 - (start_ms % 1000 < 0), 'unixepoch') END,
       tenant, key_id, model, account, COUNT(*), SUM(status >= 400 OR status = 0),
       SUM(usage_incomplete != 0), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),
       SUM(reasoning_tokens), SUM(bytes_in), SUM(bytes_out)
FROM usage_records GROUP BY 1, 2, 3, 4, 5;
)sql"},
    // Admin API (issue 9, docs/admin-api.md): named admin tokens, stored only as SHA-256
    // (revoking deletes the row), and the audit log of every admin change. Neither is config:
    // no config_version trigger, so serve does not reload on them. Same number in PostgreSQL.
    {9, R"sql(
CREATE TABLE admin_tokens (
  id         TEXT    PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  token_hash TEXT    NOT NULL UNIQUE,
  last4      TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  at_ms   INTEGER NOT NULL,
  actor   TEXT    NOT NULL,
  action  TEXT    NOT NULL,
  target  TEXT    NOT NULL,
  outcome TEXT    NOT NULL,
  details TEXT    NOT NULL
);
CREATE INDEX audit_log_at_ms ON audit_log(at_ms);
)sql"},
};

int max_applied(sqlite3* db) {
  Stmt q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q.step();
  return static_cast<int>(q.int64(0));
}

}  // namespace

std::span<const Migration> config_migrations() {
  return kConfigMigrations;
}

void migrate(sqlite3* db, std::span<const Migration> migrations) {
  exec(db,
       "CREATE TABLE IF NOT EXISTS schema_migrations ("
       "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const int known = migrations.empty() ? 0 : migrations.back().version;
  if (int applied = max_applied(db); applied > known)
    throw StoreError(StoreError::Kind::kInvalid,
                     "database schema version " + std::to_string(applied) +
                         " is newer than this codex-relay supports (" + std::to_string(known) +
                         "); upgrade codex-relay");
  else if (applied == known)
    return;  // the common case: no write lock needed

  for (const Migration& m : migrations) {
    Transaction tx(db, Transaction::Mode::kImmediate);
    Stmt seen(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
    seen.bind(1, std::int64_t{m.version});
    if (seen.step()) continue;  // tx rolls back: nothing was written
    exec(db, m.sql);
    Stmt record(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    record.bind(1, std::int64_t{m.version}).bind(2, std::int64_t{std::time(nullptr)});
    record.step();
    tx.commit();
    spdlog::info("config store: applied schema migration {}", m.version);
  }
}

}  // namespace relay::store::sqlite
