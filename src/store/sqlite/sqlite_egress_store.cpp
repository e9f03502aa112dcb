// SqliteConfigStore's egresses (issue 5): forward proxies pinned to one account each. The URL
// is sealed whole under the master key, bound to the egress's name, because it may hold the
// proxy's password; everything printed is built from the redacted form (config_rules.cpp).
#include "store/sqlite/sqlite_config_store.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::Stmt;
using sqlite::Transaction;
using Kind = StoreError::Kind;

// kAlreadyExists when `name` or `endpoint` is already an egress, saying whose.
void require_free(sqlite3* db, const Egress& e) {
  Stmt by_name(db,
               "SELECT a.name FROM egresses e LEFT JOIN accounts a ON a.id = e.account_id "
               "WHERE e.name = ?");
  by_name.bind(1, e.name);
  if (by_name.step()) throw egress_name_taken(e.name, by_name.text(0));
  Stmt by_endpoint(db,
                   "SELECT e.name, a.name FROM egresses e LEFT JOIN accounts a "
                   "ON a.id = e.account_id WHERE e.endpoint = ?");
  by_endpoint.bind(1, e.endpoint);
  if (by_endpoint.step())
    throw egress_endpoint_taken(e.endpoint, by_endpoint.text(0), by_endpoint.text(1));
}

}  // namespace

Egress SqliteConfigStore::add_egress(const NewEgress& e) {
  PreparedEgress p = prepare_egress(e, *box_);
  // IMMEDIATE: the checks and the insert see one state, so the errors name the real holder.
  Transaction tx(db_, Transaction::Mode::kImmediate);
  Stmt find(db_, "SELECT id FROM accounts WHERE name = ?");
  find.bind(1, e.account);
  if (!find.step())
    throw StoreError(Kind::kNotFound, "account " + quoted(e.account) + " not found");
  const std::int64_t account_id = find.int64(0);
  require_free(db_, p.row);
  Stmt ins(db_,
           "INSERT INTO egresses (name, account_id, url, endpoint, region, ca_file, created_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, e.name).bind(2, account_id).bind_blob(3, p.sealed).bind(4, p.row.endpoint);
  ins.bind(5, e.region).bind(6, e.ca_file).bind(7, p.row.created_at);
  if (ins.step_code() != SQLITE_DONE) ins.fail("add egress");
  p.row.id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return p.row;
}

std::vector<Egress> SqliteConfigStore::list_egresses() {
  std::vector<Egress> out;
  Stmt q(db_,
         "SELECT e.id, e.name, COALESCE(a.name, ''), e.url, e.endpoint, e.region, e.ca_file, "
         "e.created_at, COALESCE(e.observed_ip, ''), COALESCE(e.observed_at, 0) "
         "FROM egresses e LEFT JOIN accounts a ON a.id = e.account_id ORDER BY e.name");
  while (q.step()) {
    Egress& e = out.emplace_back();
    e.id = q.int64(0);
    e.name = q.text(1);
    e.account_name = q.text(2);
    e.endpoint = q.text(4);
    e.region = q.text(5);
    e.ca_file = q.text(6);
    e.created_at = q.int64(7);
    e.observed_ip = q.text(8);
    e.observed_at = q.int64(9);
    e.url = listed_egress_url(*box_, q.text(3), e.name, e.endpoint);
  }
  return out;
}

void SqliteConfigStore::remove_egress(std::string_view name) {
  Stmt del(db_, "DELETE FROM egresses WHERE name = ?");
  del.bind(1, name);
  del.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, "egress " + quoted(name) + " not found");
}

void SqliteConfigStore::record_observed_ip(std::string_view egress, std::string_view ip,
                                           std::int64_t at_unix) {
  require_ip(ip);
  Stmt up(db_, "UPDATE egresses SET observed_ip = ?, observed_at = ? WHERE name = ?");
  up.bind(1, ip).bind(2, at_unix).bind(3, egress);
  up.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, "egress " + quoted(egress) + " not found");
}

void SqliteConfigStore::attach_egresses(Snapshot& snap) {
  std::vector<SealedEgress> rows;
  Stmt q(db_, "SELECT id, name, account_id, url, region, ca_file FROM egresses ORDER BY name");
  while (q.step())
    rows.push_back({q.int64(0), q.text(1), q.int64(2), q.text(3), q.text(4), q.text(5)});
  store::attach_egresses(snap, std::move(rows), *box_);
}

}  // namespace relay::store
