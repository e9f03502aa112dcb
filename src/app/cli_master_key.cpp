// `master-key rotate`: every sealed secret of the config store moves to a new master key in one
// store transaction, then the new key file takes the old one's place
// (docs/operations.md#master-key-rotation). The order makes a crash at any point harmless:
//   1. write <key file>.new (0600, flushed);  2. re-seal and commit;  3. rename it over the key
//   file. A rerun that finds a whole <key file>.new finishes with that key: re-sealing is a no-op
//   when the commit had happened, so only the rename is left. A partial one is from a crash
//   before the commit (step 1 flushes before step 2) and is discarded.
// No key material is ever printed.
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "app/cli_internal.hpp"
#include "crypto/master_key_file.hpp"
#include "store/config_store.hpp"
#include "store/reseal.hpp"

namespace relay::app::cli {
namespace {

struct RotateOpts {
  std::string new_key_file;
  std::string new_key_env;
};

// Key text that OPENSSL_cleanse()s itself when it goes.
struct KeyText {
  std::string text;
  KeyText() = default;
  explicit KeyText(std::string t) : text(std::move(t)) {}
  KeyText(const KeyText&) = delete;
  KeyText& operator=(const KeyText&) = delete;
  ~KeyText() { OPENSSL_cleanse(text.data(), text.size()); }
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The new key the operator gave, as text checked to be a key; "" when none was given.
std::string requested_key_text(const RotateOpts& o) {
  std::string text;
  std::string source;
  if (!o.new_key_file.empty()) {
    text = crypto::read_key_file_text(o.new_key_file);
    source = "key file " + o.new_key_file;
  } else if (!o.new_key_env.empty()) {
    const char* v = std::getenv(o.new_key_env.c_str());
    if (!v || !*v)
      throw std::runtime_error("environment variable " + o.new_key_env + " is not set");
    text = v;
    source = "environment variable " + o.new_key_env;
  }
  if (!text.empty()) crypto::master_key_from_text(text, source);  // throws unless a key
  return text;
}

void print_done(const store::ResealReport& r) {
  if (r.already_done) {
    fmt::print("The store was already sealed under the new master key.\n");
    return;
  }
  fmt::print("Re-sealed {} account credential{} and {} egress URL{} under the new master key.\n",
             r.accounts, r.accounts == 1 ? "" : "s", r.egresses, r.egresses == 1 ? "" : "s");
}

constexpr std::string_view kRestartHint =
    "Restart every `serve` with the new key: running ones keep serving the credentials they "
    "hold, but cannot load config changes until then.\n";

// The key comes from CODEX_RELAY_MASTER_KEY: the new one must come from the operator too (there
// is no file to put a generated one in, and a key is never printed).
int rotate_env_key(const Config& cfg, const RotateOpts& o, const char* current) {
  const KeyText text(requested_key_text(o));
  if (text.text.empty())
    throw std::runtime_error(
        "the master key comes from CODEX_RELAY_MASTER_KEY: give the new one with --new-key-env "
        "VAR or --new-key-file FILE");
  const auto from = crypto::master_key_from_text(current, "CODEX_RELAY_MASTER_KEY");
  const auto to = crypto::master_key_from_text(text.text, "the new key");
  print_done(store::reseal(*store::begin_reseal(cfg), from, to));
  fmt::print(
      "Set CODEX_RELAY_MASTER_KEY to the new key wherever it is set (no file was "
      "written). {}",
      kRestartHint);
  return 0;
}

// The key in a whole <key file>.new left by an interrupted rotation; a partial one is removed.
std::optional<crypto::SecretBox> pending_key(const std::string& pending) {
  if (!exists(pending)) return std::nullopt;
  try {
    return crypto::read_master_key_file(pending);
  } catch (const std::exception&) {
    ::unlink(pending.c_str());
    return std::nullopt;
  }
}

int rotate_key_file(const Config& cfg, const RotateOpts& o) {
  const std::string path = crypto::master_key_path(cfg.store.data_dir, cfg.store.master_key_file);
  if (!exists(path))
    throw std::runtime_error("no master key file at " + path +
                             " and CODEX_RELAY_MASTER_KEY is not set: nothing to rotate");
  const std::string pending = path + ".new";
  const auto from = crypto::read_master_key_file(path);

  std::optional<crypto::SecretBox> to = pending_key(pending);
  if (to) {
    if (!o.new_key_file.empty() || !o.new_key_env.empty())
      throw std::runtime_error(pending +
                               " is left from an interrupted rotation; run `master-key rotate` "
                               "without --new-key-file / --new-key-env to finish it first");
    fmt::print("Finishing the interrupted rotation to {}.\n", pending);
  } else {
    KeyText text(requested_key_text(o));
    if (text.text.empty()) text.text = crypto::generate_master_key_text();
    to = crypto::master_key_from_text(text.text, "the new key");
    crypto::write_key_file_exclusive(pending, text.text);
  }
  try {
    print_done(store::reseal(*store::begin_reseal(cfg), from, *to));
  } catch (const store::StoreError& e) {
    // kInvalid is thrown before anything is written: the new key is of no use. Anything else
    // may have come after the commit, so the file stays for a rerun to settle.
    if (e.kind() == store::StoreError::Kind::kInvalid) ::unlink(pending.c_str());
    throw;
  }
  crypto::rename_key_file(pending, path);
  fmt::print("The new master key is in {}; the old one is gone. {}", path, kRestartHint);
  return 0;
}

}  // namespace

void add_master_key_commands(CLI::App& app, Globals& g) {
  auto* mk = app.add_subcommand("master-key", "Manage the master key that seals credentials");
  mk->require_subcommand(1);
  auto opts = std::make_shared<RotateOpts>();
  auto* rotate = mk->add_subcommand(
      "rotate", "Re-seal every credential and egress URL under a new master key");
  auto* file_opt = rotate->add_option("--new-key-file", opts->new_key_file,
                                      "Take the new key from FILE (mode 0600) instead of "
                                      "generating one");
  rotate
      ->add_option("--new-key-env", opts->new_key_env,
                   "Take the new key from environment variable VAR")
      ->excludes(file_opt);
  rotate->callback([&g, opts] {
    g.action = [&g, opts] {
      const Config cfg = g.config();
      if (const char* env = std::getenv("CODEX_RELAY_MASTER_KEY"))
        return rotate_env_key(cfg, *opts, env);
      return rotate_key_file(cfg, *opts);
    };
  });
}

}  // namespace relay::app::cli
