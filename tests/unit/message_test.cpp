#include "http/message.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::http {
namespace {

// Header names are lower-cased byte by byte: A-Z only, every other byte (including those above
// 0x7f, which a locale might map) stays as it is.
TEST(ToLower, ChangesExactlyTheAsciiCapitals) {
  std::string all(256, '\0');
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<char>(i);
  const std::string lower = to_lower(all);
  ASSERT_EQ(lower.size(), all.size());
  for (int i = 0; i < 256; ++i) {
    const char want = (i >= 'A' && i <= 'Z') ? static_cast<char>(i + 32) : static_cast<char>(i);
    EXPECT_EQ(lower[static_cast<std::size_t>(i)], want) << "byte " << i;
  }
  EXPECT_EQ(to_lower("X-Request-ID"), "x-request-id");
  EXPECT_EQ(to_lower(""), "");
}

}  // namespace
}  // namespace relay::http
