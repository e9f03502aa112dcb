#pragma once
// Moving every secret of the config store from one master key to another in one transaction,
// for `codex-relay master-key rotate` (src/app/cli_master_key.cpp), its one user. Each backend
// implements ResealTransaction over its sealed columns (sqlite/sqlite_reseal.cpp,
// postgres/pg_reseal.cpp); reseal() holds the logic both share.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "crypto/secret_box.hpp"

namespace relay::store {

// The sealed constant that proves which master key a store is under (the config stores check
// it when they open; the values must match theirs).
inline constexpr std::string_view kMasterKeyCheckAad = "master-key-check";
inline constexpr std::string_view kMasterKeyCheckPlain = "codex-relay master key check v1";

// Throws StoreError(kInvalid) unless `box` opens the sealed check value: the store was
// re-sealed under another key since this process loaded its own. The config stores call it
// before each snapshot load, so that `serve` keeps its last snapshot (and its decrypted
// credentials) after a rotation rather than dropping every account it can no longer open.
void require_current_master_key(const crypto::SecretBox& box, std::string_view sealed_check);

struct SealedSecret {
  std::int64_t id = 0;
  std::string name;    // the row's name: part of the sealing's additional data
  std::string sealed;  // as stored
};

// A transaction over one store's sealed columns, open from construction: destroying it without
// commit() rolls everything back. Writers of those tables wait until it ends.
class ResealTransaction {
 public:
  virtual ~ResealTransaction() = default;
  virtual std::optional<std::string> check_value() = 0;  // nullopt: none recorded yet
  virtual void set_check_value(std::string_view sealed) = 0;
  virtual std::vector<SealedSecret> accounts() = 0;  // credentials
  virtual void set_account(std::int64_t id, std::string_view sealed) = 0;
  virtual std::vector<SealedSecret> egresses() = 0;  // proxy URLs
  virtual void set_egress(std::int64_t id, std::string_view sealed) = 0;
  virtual void commit() = 0;
};

std::unique_ptr<ResealTransaction> begin_sqlite_reseal(const std::string& db_path);
std::unique_ptr<ResealTransaction> begin_pg_reseal(const std::string& conninfo);
// The configured backend's (store.backend); creates nothing but what opening a store creates.
std::unique_ptr<ResealTransaction> begin_reseal(const app::Config& cfg);

struct ResealReport {
  bool already_done = false;  // the store was under `to` already: nothing was changed
  std::size_t accounts = 0;
  std::size_t egresses = 0;
};

// Opens every secret with `from`, seals it with `to`, replaces the check value and commits.
// A store whose check value opens with `to` is left alone (a rotation that committed and then
// crashed before its key file was in place). Throws StoreError(kInvalid), changing nothing, when
// `from` does not open the check value or any secret. Never puts a secret in a message.
ResealReport reseal(ResealTransaction& tx, const crypto::SecretBox& from,
                    const crypto::SecretBox& to);

}  // namespace relay::store
