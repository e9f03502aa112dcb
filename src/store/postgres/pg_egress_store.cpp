// PgConfigStore's egresses: checked and sealed as SqliteConfigStore's (config_rules.cpp), one
// account each, enforced by the store and by the schema's UNIQUE endpoint.
#include "store/config_rules.hpp"
#include "store/postgres/config_rows.hpp"
#include "store/postgres/pg_config_store.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;

// kAlreadyExists when the egress's name or endpoint is already an egress, saying whose.
void require_free(pg::Connection& c, const Egress& e) {
  const pg::Result by_name = c.exec(
      "SELECT COALESCE(a.name, '') FROM egresses e LEFT JOIN accounts a ON a.id = e.account_id "
      "WHERE e.name = $1",
      {e.name});
  if (by_name.rows() > 0) throw egress_name_taken(e.name, by_name.text(0, 0));
  const pg::Result by_endpoint = c.exec(
      "SELECT e.name, COALESCE(a.name, '') FROM egresses e LEFT JOIN accounts a "
      "ON a.id = e.account_id WHERE e.endpoint = $1",
      {e.endpoint});
  if (by_endpoint.rows() > 0)
    throw egress_endpoint_taken(e.endpoint, by_endpoint.text(0, 0), by_endpoint.text(0, 1));
}

}  // namespace

Egress PgConfigStore::add_egress(const NewEgress& e) {
  PreparedEgress p = prepare_egress(e, *box_);
  pg::Transaction tx(conn_);
  // Egress adds take turns (this mode conflicts with itself and with row writes, not with
  // reads), so the checks and the insert see one state and the errors name the real holder.
  // FOR KEY SHARE keeps the account from being removed before the insert commits.
  conn_.exec("LOCK TABLE egresses IN SHARE ROW EXCLUSIVE MODE");
  const std::string account_id = pg::id_by_name(conn_, "accounts", "account", e.account);
  require_free(conn_, p.row);
  const pg::Result r = conn_.exec(
      "INSERT INTO egresses (name, account_id, url, endpoint, region, ca_file, created_at) "
      "VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7) RETURNING id",
      {e.name, account_id, pg::to_hex(p.sealed), p.row.endpoint, e.region, e.ca_file,
       std::to_string(p.row.created_at)});
  p.row.id = r.int64(0, 0);
  tx.commit();
  return p.row;
}

std::vector<Egress> PgConfigStore::list_egresses() {
  const pg::Result r = conn_.exec(
      "SELECT e.id, e.name, COALESCE(a.name, ''), encode(e.url, 'hex'), e.endpoint, e.region, "
      "e.ca_file, e.created_at, COALESCE(e.observed_ip, ''), COALESCE(e.observed_at, 0) "
      "FROM egresses e LEFT JOIN accounts a ON a.id = e.account_id ORDER BY e.name");
  std::vector<Egress> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    Egress& e = out.emplace_back();
    e.id = r.int64(i, 0);
    e.name = std::string(r.text(i, 1));
    e.account_name = std::string(r.text(i, 2));
    e.endpoint = std::string(r.text(i, 4));
    e.region = std::string(r.text(i, 5));
    e.ca_file = std::string(r.text(i, 6));
    e.created_at = r.int64(i, 7);
    e.observed_ip = std::string(r.text(i, 8));
    e.observed_at = r.int64(i, 9);
    e.url = listed_egress_url(*box_, pg::from_hex(r.text(i, 3)), e.name, e.endpoint);
  }
  return out;
}

void PgConfigStore::remove_egress(std::string_view name) {
  if (conn_.exec("DELETE FROM egresses WHERE name = $1", {std::string(name)}).affected() == 0)
    throw StoreError(Kind::kNotFound, "egress " + quoted(name) + " not found");
}

void PgConfigStore::record_observed_ip(std::string_view egress, std::string_view ip,
                                       std::int64_t at_unix) {
  require_ip(ip);
  const pg::Result r =
      conn_.exec("UPDATE egresses SET observed_ip = $1, observed_at = $2 WHERE name = $3",
                 {std::string(ip), std::to_string(at_unix), std::string(egress)});
  if (r.affected() == 0)
    throw StoreError(Kind::kNotFound, "egress " + quoted(egress) + " not found");
}

}  // namespace relay::store
