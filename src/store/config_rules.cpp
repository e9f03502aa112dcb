#include "store/config_rules.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "egress/proxy_url.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;

constexpr std::string_view kOneAccount = "an egress belongs to exactly one account";
constexpr std::string_view kNameRule =
    " is invalid: use 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit";

std::string account_aad(std::string_view name) {
  return "account:" + std::string(name);
}

std::string egress_aad(std::string_view name) {
  return "egress:" + std::string(name);
}

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
}

// The URL checked and in its canonical form (the one libcurl takes), or kInvalid with the
// parser's message, which never repeats the URL.
egress::ProxyUrl parse_egress_url(const NewEgress& e) {
  auto r = egress::parse_proxy_url(e.url);
  if (!r.url) throw StoreError(Kind::kInvalid, r.error);
  if (!is_valid_name(e.name))
    throw StoreError(Kind::kInvalid, "egress name " + quoted(e.name) + std::string(kNameRule));
  if (!e.region.empty() && !is_valid_name(e.region))
    throw StoreError(Kind::kInvalid, "region " + quoted(e.region) + std::string(kNameRule));
  if (!e.ca_file.empty() && r.url->scheme != "https")
    throw StoreError(Kind::kInvalid,
                     "a CA file applies to https:// proxies only (it verifies the proxy's own "
                     "certificate)");
  return std::move(*r.url);
}

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

void require_name(std::string_view what, std::string_view name) {
  if (!is_valid_name(name))
    throw StoreError(Kind::kInvalid, std::string(what) + " name '" + std::string(name) + "'" +
                                         std::string(kNameRule));
}

void require_account_limits(std::optional<int> weight, std::optional<int> max_concurrency) {
  if (weight && (*weight < 1 || *weight > 1000))
    throw StoreError(Kind::kInvalid, "weight must be 1..1000");
  if (max_concurrency && (*max_concurrency < 0 || *max_concurrency > 100'000))
    throw StoreError(Kind::kInvalid, "max concurrency must be 0..100000 (0: no limit)");
}

void require_base_url(const std::string& url) {
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    throw StoreError(Kind::kInvalid, "base URL must start with http:// or https://");
}

void require_key_hash(std::string_view key_hash) {
  bool ok = key_hash.size() == 64;
  for (char c : key_hash) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) throw StoreError(Kind::kInvalid, "key hash must be 64 lowercase hex characters");
}

void require_tenant_limits(const TenantLimitsUpdate& u) {
  for (const auto& [v, name] :
       {std::pair{u.rps, "rps"}, std::pair{u.rpm, "rpm"}, std::pair{u.concurrency, "concurrency"},
        std::pair{u.daily_requests, "daily requests"}, std::pair{u.daily_tokens, "daily tokens"},
        std::pair{u.monthly_tokens, "monthly tokens"}})
    if (v && *v < 0)
      throw StoreError(Kind::kInvalid,
                       std::string(name) + " limit must not be negative (0: no limit)");
}

void require_ip(std::string_view ip) {
  const std::string s(ip);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1)
    throw StoreError(Kind::kInvalid, "observed IP " + quoted(ip) + " is not an IP address");
}

std::string join_models(const std::vector<std::string>& models) {
  std::string out;
  for (const auto& m : models) {
    if (m.empty() || m.find(',') != std::string::npos)
      throw StoreError(Kind::kInvalid, "model names must be non-empty and contain no comma");
    if (!out.empty()) out += ',';
    out += m;
  }
  return out;
}

std::vector<std::string> split_models(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < joined.size()) {
    std::size_t end = joined.find(',', start);
    if (end == std::string::npos) end = joined.size();
    if (end > start) out.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

PreparedAccount prepare_account(const NewAccount& a, const crypto::SecretBox& box) {
  require_name("account", a.name);
  require_base_url(a.base_url);
  require_account_limits(a.weight, a.max_concurrency);
  if (a.credential.empty()) throw StoreError(Kind::kInvalid, "credential must not be empty");
  PreparedAccount p;
  p.models = join_models(a.models);
  p.row.name = a.name;
  p.row.base_url = a.base_url;
  p.row.models = a.models;
  p.row.ca_file = a.ca_file;
  p.row.created_at = static_cast<std::int64_t>(std::time(nullptr));
  p.row.weight = a.weight;
  p.row.max_concurrency = a.max_concurrency;
  p.sealed = box.seal(a.credential, account_aad(a.name));
  return p;
}

PreparedEgress prepare_egress(const NewEgress& e, const crypto::SecretBox& box) {
  egress::ProxyUrl url = parse_egress_url(e);
  PreparedEgress p;
  p.row.name = e.name;
  p.row.account_name = e.account;
  p.row.url = url.redacted();
  p.row.endpoint = url.endpoint();
  p.row.region = e.region;
  p.row.ca_file = e.ca_file;
  p.row.created_at = static_cast<std::int64_t>(std::time(nullptr));
  std::string plain = url.for_curl();
  p.sealed = box.seal(plain, egress_aad(e.name));
  wipe(plain);
  wipe(url.password);
  return p;
}

StoreError egress_name_taken(std::string_view name, std::string_view account) {
  return StoreError(Kind::kAlreadyExists, "egress " + quoted(name) +
                                              " already exists, for account " + quoted(account) +
                                              ": " + std::string(kOneAccount));
}

StoreError egress_endpoint_taken(std::string_view endpoint, std::string_view egress,
                                 std::string_view account) {
  return StoreError(Kind::kAlreadyExists, "proxy " + std::string(endpoint) + " is already egress " +
                                              quoted(egress) + " of account " + quoted(account) +
                                              "; " + std::string(kOneAccount));
}

std::string listed_egress_url(const crypto::SecretBox& box, std::string_view sealed,
                              std::string_view name, const std::string& endpoint) {
  // Decrypted only to redact it: the user name is worth showing, the password never is.
  auto plain = box.open(sealed, egress_aad(name));
  auto parsed = plain ? egress::parse_proxy_url(*plain) : egress::ProxyUrlResult{};
  std::string out =
      parsed.url ? parsed.url->redacted() : endpoint + " (sealed URL does not decrypt)";
  if (plain) wipe(*plain);
  if (parsed.url) wipe(parsed.url->password);
  return out;
}

std::optional<std::string> open_credential(const crypto::SecretBox& box, std::string_view sealed,
                                           std::string_view account) {
  auto credential = box.open(sealed, account_aad(account));
  if (!credential)
    spdlog::warn(
        "config store: account '{}' skipped: its credential does not decrypt with the current "
        "master key",
        account);
  return credential;
}

void attach_egresses(Snapshot& snap, std::vector<SealedEgress> rows, const crypto::SecretBox& box) {
  std::unordered_map<std::int64_t, std::size_t> index;
  for (std::size_t i = 0; i < snap.accounts.size(); ++i) index.emplace(snap.accounts[i].id, i);
  std::unordered_set<std::int64_t> broken;
  for (SealedEgress& row : rows) {
    auto it = index.find(row.account_id);
    if (it == index.end()) continue;  // its account was skipped (or removed meanwhile)
    auto url = box.open(row.url, egress_aad(row.name));
    if (!url || !egress::parse_proxy_url(*url).url) {
      spdlog::warn(
          "config store: account '{}' skipped: its egress '{}' does not decrypt with the "
          "current master key, and an account with egresses never goes direct",
          snap.accounts[it->second].name, row.name);
      broken.insert(row.account_id);
      continue;
    }
    SnapshotEgress& e = snap.accounts[it->second].egresses.emplace_back();
    e.id = row.id;
    e.name = std::move(row.name);
    e.url = std::move(*url);
    e.region = std::move(row.region);
    e.ca_file = std::move(row.ca_file);
  }
  if (!broken.empty())
    std::erase_if(snap.accounts,
                  [&broken](const SnapshotAccount& a) { return broken.contains(a.id); });
}

}  // namespace relay::store
