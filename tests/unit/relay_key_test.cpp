#include "crypto/relay_key.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace relay::crypto {
namespace {

TEST(RelayKey, Format) {
  const std::string key = generate_relay_key();
  EXPECT_EQ(key.size(), 47u);
  EXPECT_TRUE(std::regex_match(key, std::regex("^crk_[A-Za-z0-9_-]{43}$"))) << key;
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
