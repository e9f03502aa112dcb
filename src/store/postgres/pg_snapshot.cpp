// PgConfigStore::load_snapshot: everything the hot path needs, read in one transaction.
#include "store/config_rules.hpp"
#include "store/postgres/config_rows.hpp"
#include "store/postgres/pg_config_store.hpp"
#include "store/reseal.hpp"

namespace relay::store {

SnapshotPtr PgConfigStore::load_snapshot() {
  auto snap = std::make_shared<Snapshot>();
  pg::Transaction tx(conn_);
  // Every statement below reads the database as of the first one, so the version names exactly
  // the state read, whatever other nodes commit meanwhile.
  conn_.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  snap->version = change_token();
  const pg::Result check =
      conn_.exec("SELECT encode(value, 'hex') FROM meta WHERE key = 'master_key_check'");
  if (check.rows() == 1) require_current_master_key(*box_, pg::from_hex(check.text(0, 0)));

  const pg::Result keys = conn_.exec(
      "SELECT k.key_hash, k.id, t.id, t.name, t.enabled, k.expires_at, k.revoked_at IS NOT NULL, "
      "t.rps, t.rpm, t.concurrency, t.daily_requests, t.daily_tokens, t.monthly_tokens, "
      "k.rps, k.rpm, k.concurrency, k.daily_requests, k.daily_tokens, k.monthly_tokens "
      "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id");
  for (int i = 0; i < keys.rows(); ++i) {
    SnapshotKey k;
    k.key_id = std::string(keys.text(i, 1));
    k.tenant_id = keys.int64(i, 2);
    k.tenant_name = std::string(keys.text(i, 3));
    k.tenant_enabled = keys.boolean(i, 4);
    k.expires_at = pg::opt_int64(keys, i, 5);
    k.revoked = keys.boolean(i, 6);
    k.limits = pg::read_limits(keys, i, 7);
    k.key_limits = pg::read_limits(keys, i, 13);
    snap->keys_by_hash.emplace(std::string(keys.text(i, 0)), std::move(k));
  }

  const pg::Result accs = conn_.exec(
      "SELECT id, name, base_url, models, ca_file, enabled, encode(credential, 'hex'), weight, "
      "max_concurrency, enabled_at FROM accounts ORDER BY id");
  for (int i = 0; i < accs.rows(); ++i) {
    std::string name(accs.text(i, 1));
    auto credential = open_credential(*box_, pg::from_hex(accs.text(i, 6)), name);
    if (!credential) continue;
    SnapshotAccount& a = snap->accounts.emplace_back();
    a.id = accs.int64(i, 0);
    a.name = std::move(name);
    a.base_url = std::string(accs.text(i, 2));
    a.models = split_models(std::string(accs.text(i, 3)));
    a.ca_file = std::string(accs.text(i, 4));
    a.enabled = accs.boolean(i, 5);
    a.weight = static_cast<int>(accs.int64(i, 7));
    a.max_concurrency = static_cast<int>(accs.int64(i, 8));
    a.enabled_at = accs.int64(i, 9);
    a.credential = std::move(*credential);
  }

  const pg::Result egs = conn_.exec(
      "SELECT id, name, account_id, encode(url, 'hex'), region, ca_file FROM egresses "
      "ORDER BY name");
  std::vector<SealedEgress> rows;
  rows.reserve(static_cast<std::size_t>(egs.rows()));
  for (int i = 0; i < egs.rows(); ++i)
    rows.push_back({egs.int64(i, 0), std::string(egs.text(i, 1)), egs.int64(i, 2),
                    pg::from_hex(egs.text(i, 3)), std::string(egs.text(i, 4)),
                    std::string(egs.text(i, 5))});
  attach_egresses(*snap, std::move(rows), *box_);
  tx.commit();
  return snap;
}

}  // namespace relay::store
