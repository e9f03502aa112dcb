#include "crypto/relay_key.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace relay::crypto {
namespace {

// Issued before checksummed keys (crk_ + base64url of 32 bytes); still accepted.
constexpr std::string_view kLegacyKey = "crk_Ab-_0123456789abcdefghijklmnopqrstuvwxyzABC";

TEST(RelayKey, Format) {
  const std::string key = generate_relay_key();
  EXPECT_EQ(key.size(), 53u);
  EXPECT_TRUE(std::regex_match(key, std::regex("^crk_[0-9A-Za-z]{49}$"))) << key;
}

TEST(RelayKey, GeneratedTokenIsWellFormedForItsOwnPrefix) {
  for (std::string_view prefix : {"crk_", "cra_", "x", ""}) {
    const std::string token = generate_token(prefix);
    EXPECT_EQ(token.size(), prefix.size() + 49);
    EXPECT_TRUE(token_well_formed(token, prefix)) << token;
  }
  EXPECT_FALSE(token_well_formed(generate_token("cra_"), "crk_"));
  EXPECT_EQ(relay_key_shape(generate_relay_key()), RelayKeyShape::kChecksummed);
}

// Computed independently (Python: zlib.crc32, base62 0-9A-Za-z, most significant digit first).
TEST(RelayKey, ChecksumKnownVector) {
  EXPECT_TRUE(token_well_formed("crk_00000000000000000000000000000000000000000000AiatK", "crk_"));
  EXPECT_FALSE(token_well_formed("crk_00000000000000000000000000000000000000000000AiatL", "crk_"));
}

TEST(RelayKey, AnyChangedCharacterFailsTheChecksum) {
  const std::string key = generate_relay_key();
  for (std::size_t i = kRelayKeyPrefix.size(); i < key.size(); ++i) {
    std::string changed = key;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(token_well_formed(changed, kRelayKeyPrefix)) << "position " << i;
    EXPECT_EQ(relay_key_shape(changed), RelayKeyShape::kBadChecksum) << "position " << i;
  }
}

TEST(RelayKey, WrongLengthOrAlphabetIsNotWellFormed) {
  const std::string key = generate_relay_key();
  EXPECT_FALSE(token_well_formed(key.substr(0, key.size() - 1), kRelayKeyPrefix));
  EXPECT_FALSE(token_well_formed(key + "0", kRelayKeyPrefix));
  std::string dashed = key;
  dashed[10] = '-';
  EXPECT_FALSE(token_well_formed(dashed, kRelayKeyPrefix));
  EXPECT_FALSE(token_well_formed("", kRelayKeyPrefix));
}

TEST(RelayKey, LegacyKeysAreStillLookedUp) {
  EXPECT_EQ(kLegacyKey.size(), kLegacyRelayKeySize);
  EXPECT_EQ(relay_key_shape(kLegacyKey), RelayKeyShape::kLegacy);
  EXPECT_EQ(key_prefix(kLegacyKey), "crk_Ab-_0123");
  EXPECT_EQ(relay_key_shape("crk_not_a_real_key"), RelayKeyShape::kOther);
  EXPECT_EQ(relay_key_shape("sk-proj-abcdefghijkl"), RelayKeyShape::kOther);
  std::string not_base64 = std::string(kLegacyKey);
  not_base64[20] = '+';
  EXPECT_EQ(relay_key_shape(not_base64), RelayKeyShape::kOther);
}

TEST(RelayKey, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(generate_relay_key());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RelayKey, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RelayKey, PrefixShowsTwelveCharacters) {
  EXPECT_EQ(key_prefix("crk_AbCd1234restofthekey"), "crk_AbCd1234");
  const std::string key = generate_relay_key();
  EXPECT_EQ(key_prefix(key), key.substr(0, 12));
  // Not a relay key (e.g. a provider key pasted by mistake): nothing of it is shown.
  EXPECT_EQ(key_prefix("sk-proj-abcdefghijkl"), "");
  EXPECT_EQ(key_prefix("crk_short"), "");
}

TEST(RelayKey, RandomHex) {
  EXPECT_TRUE(std::regex_match(random_hex(6), std::regex("^[0-9a-f]{12}$")));
  EXPECT_NE(random_hex(16), random_hex(16));
}

}  // namespace
}  // namespace relay::crypto
