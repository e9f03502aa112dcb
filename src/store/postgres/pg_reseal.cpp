// store/reseal.hpp over PostgreSQL. The tables are locked against writers for the transaction
// (readers, such as nodes reloading their snapshot, go on), so no row is added or changed
// between the reads and the updates. The updates fire the config-change triggers: running nodes
// reload, cannot open the new check value with their old key, and keep their last snapshot
// (docs/operations.md#master-key-rotation).
#include <optional>

#include "store/config_store.hpp"
#include "store/postgres/config_rows.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/migrations.hpp"
#include "store/reseal.hpp"

namespace relay::store {
namespace {

class PgReseal final : public ResealTransaction {
 public:
  explicit PgReseal(const std::string& conninfo) : conn_(conninfo) {
    pg::migrate(conn_);
    tx_.emplace(conn_);
    conn_.exec("LOCK TABLE accounts, egresses, meta IN SHARE ROW EXCLUSIVE MODE");
  }

  std::optional<std::string> check_value() override {
    const pg::Result r =
        conn_.exec("SELECT encode(value, 'hex') FROM meta WHERE key = 'master_key_check'");
    if (r.rows() == 0) return std::nullopt;
    return pg::from_hex(r.text(0, 0));
  }
  void set_check_value(std::string_view sealed) override {
    conn_.exec(
        "INSERT INTO meta (key, value) VALUES ('master_key_check', decode($1, 'hex')) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        {pg::to_hex(sealed)});
  }
  std::vector<SealedSecret> accounts() override {
    return rows("SELECT id, name, encode(credential, 'hex') FROM accounts ORDER BY id");
  }
  void set_account(std::int64_t id, std::string_view sealed) override {
    conn_.exec("UPDATE accounts SET credential = decode($1, 'hex') WHERE id = $2",
               {pg::to_hex(sealed), std::to_string(id)});
  }
  std::vector<SealedSecret> egresses() override {
    return rows("SELECT id, name, encode(url, 'hex') FROM egresses ORDER BY id");
  }
  void set_egress(std::int64_t id, std::string_view sealed) override {
    conn_.exec("UPDATE egresses SET url = decode($1, 'hex') WHERE id = $2",
               {pg::to_hex(sealed), std::to_string(id)});
  }
  void commit() override { tx_->commit(); }

 private:
  std::vector<SealedSecret> rows(std::string_view sql) {
    std::vector<SealedSecret> out;
    const pg::Result r = conn_.exec(sql);
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.int64(i, 0), std::string(r.text(i, 1)), pg::from_hex(r.text(i, 2))});
    return out;
  }

  pg::Connection conn_;  // before tx_: the transaction ends before the connection closes
  std::optional<pg::Transaction> tx_;
};

}  // namespace

std::unique_ptr<ResealTransaction> begin_pg_reseal(const std::string& conninfo) {
  return std::make_unique<PgReseal>(conninfo);
}

}  // namespace relay::store
