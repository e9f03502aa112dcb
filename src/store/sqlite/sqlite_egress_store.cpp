// SqliteConfigStore's egresses (issue 5): forward proxies pinned to one account each. The URL
// is sealed whole under the master key, bound to the egress's name, because it may hold the
// proxy's password; everything printed is built from the redacted form.
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "egress/proxy_url.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::Stmt;
using sqlite::Transaction;
using Kind = StoreError::Kind;

constexpr std::string_view kOneAccount = "an egress belongs to exactly one account";

std::string egress_aad(std::string_view name) {
  return "egress:" + std::string(name);
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
}

// The URL checked and in its canonical form (the one libcurl takes), or kInvalid with the
// parser's message, which never repeats the URL.
egress::ProxyUrl parse_or_throw(std::string_view url) {
  auto r = egress::parse_proxy_url(url);
  if (!r.url) throw StoreError(Kind::kInvalid, r.error);
  return std::move(*r.url);
}

void validate(const NewEgress& e, const egress::ProxyUrl& url) {
  if (!is_valid_name(e.name))
    throw StoreError(Kind::kInvalid, "egress name " + quoted(e.name) +
                                         " is invalid: use 1-64 of A-Z a-z 0-9 . _ - starting "
                                         "with a letter or digit");
  if (!e.region.empty() && !is_valid_name(e.region))
    throw StoreError(Kind::kInvalid, "region " + quoted(e.region) +
                                         " is invalid: use 1-64 of A-Z a-z 0-9 . _ - starting "
                                         "with a letter or digit");
  if (!e.ca_file.empty() && url.scheme != "https")
    throw StoreError(Kind::kInvalid,
                     "a CA file applies to https:// proxies only (it verifies the proxy's own "
                     "certificate)");
}

// kAlreadyExists when `name` or `endpoint` is already an egress, saying whose.
void require_free(sqlite3* db, const NewEgress& e, const std::string& endpoint) {
  Stmt by_name(db,
               "SELECT a.name FROM egresses e LEFT JOIN accounts a ON a.id = e.account_id "
               "WHERE e.name = ?");
  by_name.bind(1, e.name);
  if (by_name.step())
    throw StoreError(Kind::kAlreadyExists,
                     "egress " + quoted(e.name) + " already exists, for account " +
                         quoted(by_name.text(0)) + ": " + std::string(kOneAccount));
  Stmt by_endpoint(db,
                   "SELECT e.name, a.name FROM egresses e LEFT JOIN accounts a "
                   "ON a.id = e.account_id WHERE e.endpoint = ?");
  by_endpoint.bind(1, endpoint);
  if (by_endpoint.step())
    throw StoreError(Kind::kAlreadyExists, "proxy " + endpoint + " is already egress " +
                                               quoted(by_endpoint.text(0)) + " of account " +
                                               quoted(by_endpoint.text(1)) + "; " +
                                               std::string(kOneAccount));
}

bool is_ip(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

}  // namespace

Egress SqliteConfigStore::add_egress(const NewEgress& e) {
  egress::ProxyUrl url = parse_or_throw(e.url);
  validate(e, url);
  Egress out;
  out.name = e.name;
  out.account_name = e.account;
  out.url = url.redacted();
  out.endpoint = url.endpoint();
  out.region = e.region;
  out.ca_file = e.ca_file;
  out.created_at = static_cast<std::int64_t>(std::time(nullptr));
  std::string plain = url.for_curl();
  const std::string sealed = box_->seal(plain, egress_aad(e.name));
  wipe(plain);
  wipe(url.password);

  // IMMEDIATE: the checks and the insert see one state, so the errors name the real holder.
  Transaction tx(db_, Transaction::Mode::kImmediate);
  Stmt find(db_, "SELECT id FROM accounts WHERE name = ?");
  find.bind(1, e.account);
  if (!find.step())
    throw StoreError(Kind::kNotFound, "account " + quoted(e.account) + " not found");
  const std::int64_t account_id = find.int64(0);
  require_free(db_, e, out.endpoint);
  Stmt ins(db_,
           "INSERT INTO egresses (name, account_id, url, endpoint, region, ca_file, created_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, e.name).bind(2, account_id).bind_blob(3, sealed).bind(4, out.endpoint);
  ins.bind(5, e.region).bind(6, e.ca_file).bind(7, out.created_at);
  if (ins.step_code() != SQLITE_DONE) ins.fail("add egress");
  out.id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return out;
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
    // Decrypted only to redact it: the user name is worth showing, the password never is.
    auto plain = box_->open(q.text(3), egress_aad(e.name));
    auto parsed = plain ? egress::parse_proxy_url(*plain) : egress::ProxyUrlResult{};
    e.url = parsed.url ? parsed.url->redacted() : e.endpoint + " (sealed URL does not decrypt)";
    if (plain) wipe(*plain);
    if (parsed.url) wipe(parsed.url->password);
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
  if (!is_ip(std::string(ip)))
    throw StoreError(Kind::kInvalid, "observed IP " + quoted(ip) + " is not an IP address");
  Stmt up(db_, "UPDATE egresses SET observed_ip = ?, observed_at = ? WHERE name = ?");
  up.bind(1, ip).bind(2, at_unix).bind(3, egress);
  up.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, "egress " + quoted(egress) + " not found");
}

void SqliteConfigStore::attach_egresses(Snapshot& snap) {
  std::unordered_map<std::int64_t, std::size_t> index;
  for (std::size_t i = 0; i < snap.accounts.size(); ++i) index.emplace(snap.accounts[i].id, i);
  std::unordered_set<std::int64_t> broken;
  Stmt q(db_, "SELECT id, name, account_id, url, region, ca_file FROM egresses ORDER BY name");
  while (q.step()) {
    const std::int64_t account_id = q.int64(2);
    auto it = index.find(account_id);
    if (it == index.end()) continue;  // its account was skipped (or removed meanwhile)
    std::string name = q.text(1);
    auto url = box_->open(q.text(3), egress_aad(name));
    if (!url || !egress::parse_proxy_url(*url).url) {
      spdlog::warn(
          "config store: account '{}' skipped: its egress '{}' does not decrypt with the "
          "current master key, and an account with egresses never goes direct",
          snap.accounts[it->second].name, name);
      broken.insert(account_id);
      continue;
    }
    SnapshotEgress& e = snap.accounts[it->second].egresses.emplace_back();
    e.id = q.int64(0);
    e.name = std::move(name);
    e.url = std::move(*url);
    e.region = q.text(4);
    e.ca_file = q.text(5);
  }
  if (!broken.empty())
    std::erase_if(snap.accounts,
                  [&broken](const SnapshotAccount& a) { return broken.contains(a.id); });
}

}  // namespace relay::store
