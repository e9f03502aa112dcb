#include "crypto/credential_hint.hpp"

#include <gtest/gtest.h>

namespace relay::crypto {
namespace {

TEST(CredentialHint, LastFourCharactersOnly) {
  EXPECT_EQ(credential_hint("sk-proj-abcdefghWXYZ"), "\u2026WXYZ");
  EXPECT_EQ(credential_hint("123456789012"), "\u20269012");
}

TEST(CredentialHint, NothingForShortSecrets) {
  EXPECT_EQ(credential_hint(""), "");
  EXPECT_EQ(credential_hint("sk-abcdefgh"), "");  // 11 characters
}

TEST(CredentialHint, NothingWhenTheTailIsNotPlainAscii) {
  EXPECT_EQ(credential_hint("sk-proj-abcdefg\xc3\xa9xy"), "");
  EXPECT_EQ(credential_hint("sk-proj-abcdefgh ab\n"), "");
}

}  // namespace
}  // namespace relay::crypto
