#include "crypto/secret_box.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <stdexcept>

#include "test_support.hpp"

namespace relay::crypto {
namespace {

using test::ScopedEnv;
using test::TempDir;

const std::string kKey(32, '\x42');

TEST(SecretBox, RoundTripAndLayout) {
  SecretBox box(kKey);
  std::string sealed = box.seal("sk-upstream-secret", "account:main");
  ASSERT_EQ(sealed.size(), SecretBox::kOverhead + 18);
  EXPECT_EQ(static_cast<unsigned char>(sealed[0]), SecretBox::kVersion);
  EXPECT_EQ(sealed.find("sk-upstream-secret"), std::string::npos);
  EXPECT_EQ(box.open(sealed, "account:main"), "sk-upstream-secret");
  EXPECT_EQ(box.open(box.seal("", "a"), "a"), "");
}

TEST(SecretBox, NonceIsFreshEachSeal) {
  SecretBox box(kKey);
  EXPECT_NE(box.seal("same", "aad"), box.seal("same", "aad"));
}

TEST(SecretBox, RejectsAnyTamperedByte) {
  SecretBox box(kKey);
  const std::string sealed = box.seal("credential", "account:a");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(box.open(bad, "account:a").has_value()) << "byte " << i;
  }
  EXPECT_FALSE(box.open(sealed.substr(0, sealed.size() - 1), "account:a"));
  EXPECT_FALSE(box.open("", "account:a"));
}

TEST(SecretBox, RejectsWrongAadAndWrongKey) {
  SecretBox box(kKey);
  const std::string sealed = box.seal("credential", "account:a");
  EXPECT_FALSE(box.open(sealed, "account:b"));
  EXPECT_FALSE(box.open(sealed, ""));
  SecretBox other(std::string(32, '\x43'));
  EXPECT_FALSE(other.open(sealed, "account:a"));
}

TEST(SecretBox, KeyMustBe32Bytes) {
  EXPECT_THROW(SecretBox(std::string(31, 'k')), std::invalid_argument);
  EXPECT_THROW(SecretBox(std::string(33, 'k')), std::invalid_argument);
}

TEST(MasterKey, CreatedOnFirstRunWithMode0600AndReused) {
  ScopedEnv no_env("CODEX_RELAY_MASTER_KEY", std::nullopt);
  TempDir dir;
  SecretBox first = load_master_key(dir.path(), "");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = test::read_file(dir / "master.key");
  EXPECT_EQ(text.size(), 65u);  // 64 hex + newline
  EXPECT_TRUE(parse_key_text(text).has_value());

  // The same key comes back on the next run: what one sealed, the other opens.
  SecretBox second = load_master_key(dir.path(), "");
  EXPECT_EQ(second.open(first.seal("x", "y"), "y"), "x");
  // No temp files left behind.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(MasterKey, ExplicitKeyFilePath) {
  ScopedEnv no_env("CODEX_RELAY_MASTER_KEY", std::nullopt);
  TempDir dir;
  SecretBox box = load_master_key(dir.path(), dir / "custom.key");
  EXPECT_TRUE(std::filesystem::exists(dir / "custom.key"));
  EXPECT_FALSE(std::filesystem::exists(dir / "master.key"));
}

TEST(MasterKey, GroupOrWorldReadableKeyFileIsRefused) {
  ScopedEnv no_env("CODEX_RELAY_MASTER_KEY", std::nullopt);
  TempDir dir;
  load_master_key(dir.path(), "");
  for (mode_t mode : {0644, 0640, 0604}) {
    ASSERT_EQ(::chmod((dir / "master.key").c_str(), mode), 0);
    try {
      load_master_key(dir.path(), "");
      ADD_FAILURE() << "mode " << std::oct << mode << " accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    }
  }
  ASSERT_EQ(::chmod((dir / "master.key").c_str(), 0600), 0);
  EXPECT_NO_THROW(load_master_key(dir.path(), ""));
}

TEST(MasterKey, GarbageKeyFileIsRefusedWithoutEchoingIt) {
  ScopedEnv no_env("CODEX_RELAY_MASTER_KEY", std::nullopt);
  TempDir dir;
  test::write_file(dir / "master.key", "not-a-key-at-all\n");
  ::chmod((dir / "master.key").c_str(), 0600);
  try {
    load_master_key(dir.path(), "");
    FAIL() << "garbage key accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("not-a-key"), std::string::npos);
  }
}

TEST(MasterKey, EnvHexAndBase64AreTheSameKey) {
  TempDir dir;
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  const std::string b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  std::string sealed;
  {
    ScopedEnv env("CODEX_RELAY_MASTER_KEY", hex);
    sealed = load_master_key(dir.path(), "").seal("secret", "aad");
  }
  {
    ScopedEnv env("CODEX_RELAY_MASTER_KEY", b64);
    EXPECT_EQ(load_master_key(dir.path(), "").open(sealed, "aad"), "secret");
  }
  // The env key takes precedence: no key file was created.
  EXPECT_FALSE(std::filesystem::exists(dir / "master.key"));
  EXPECT_EQ(SecretBox(*parse_key_text(hex)).open(sealed, "aad"), "secret");
}

TEST(MasterKey, BadEnvKeyIsAClearErrorWithoutTheValue) {
  TempDir dir;
  for (const char* bad :
       {"", "abc", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="}) {
    ScopedEnv env("CODEX_RELAY_MASTER_KEY", bad);
    try {
      load_master_key(dir.path(), "");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("CODEX_RELAY_MASTER_KEY"), std::string::npos);
      if (*bad) {
        EXPECT_EQ(msg.find(bad), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace relay::crypto
