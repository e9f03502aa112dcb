#include "store/reseal.hpp"

#include <openssl/crypto.h>

#include "store/config_store.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;

// The additional data each row's secret is sealed with (store/config_rules.cpp seals them; the
// typed reseal tests open the result through the stores, so a drift here fails them).
std::string account_aad(std::string_view name) {
  return "account:" + std::string(name);
}
std::string egress_aad(std::string_view name) {
  return "egress:" + std::string(name);
}

bool opens_check(const crypto::SecretBox& box, std::string_view sealed) {
  const auto plain = box.open(sealed, kMasterKeyCheckAad);
  return plain && *plain == kMasterKeyCheckPlain;
}

std::string resealed(const crypto::SecretBox& from, const crypto::SecretBox& to,
                     const SealedSecret& row, const std::string& aad, std::string_view what) {
  auto plain = from.open(row.sealed, aad);
  if (!plain)
    throw StoreError(Kind::kInvalid, std::string(what) + " '" + row.name +
                                         "' does not decrypt under the current master key; "
                                         "nothing was changed (remove or re-add it first)");
  std::string out = to.seal(*plain, aad);
  OPENSSL_cleanse(plain->data(), plain->size());
  return out;
}

}  // namespace

void require_current_master_key(const crypto::SecretBox& box, std::string_view sealed_check) {
  if (!opens_check(box, sealed_check))
    throw StoreError(Kind::kInvalid,
                     "the store is now sealed under another master key (`master-key rotate`); "
                     "restart with the new key to load config changes");
}

ResealReport reseal(ResealTransaction& tx, const crypto::SecretBox& from,
                    const crypto::SecretBox& to) {
  ResealReport report;
  if (const auto check = tx.check_value()) {
    if (opens_check(to, *check)) {
      report.already_done = true;
      return report;
    }
    if (!opens_check(from, *check))
      throw StoreError(Kind::kInvalid,
                       "the current master key does not open this store; nothing was changed");
  }
  for (const auto& row : tx.accounts()) {
    tx.set_account(row.id, resealed(from, to, row, account_aad(row.name), "account"));
    ++report.accounts;
  }
  for (const auto& row : tx.egresses()) {
    tx.set_egress(row.id, resealed(from, to, row, egress_aad(row.name), "egress"));
    ++report.egresses;
  }
  tx.set_check_value(to.seal(kMasterKeyCheckPlain, kMasterKeyCheckAad));
  tx.commit();
  return report;
}

std::unique_ptr<ResealTransaction> begin_reseal(const app::Config& cfg) {
  if (cfg.store.backend == "postgres") {
    if (cfg.store.postgres_url.empty())
      throw std::runtime_error("store.backend is postgres but store.postgres_url is empty");
    return begin_pg_reseal(cfg.store.postgres_url);
  }
  return begin_sqlite_reseal(cfg.store.data_dir + "/relay.db");
}

}  // namespace relay::store
