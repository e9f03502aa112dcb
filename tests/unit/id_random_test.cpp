#include "crypto/id_random.hpp"
#include "crypto/relay_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace relay::crypto {
namespace {

TEST(IdRandom, HexHasTwoLowerCaseDigitsPerByte) {
  for (std::size_t n : {0u, 1u, 8u, 12u, 33u, 1000u}) {
    const std::string id = random_hex(n);
    EXPECT_EQ(id.size(), 2 * n);
    EXPECT_TRUE(std::regex_match(id, std::regex("^[0-9a-f]*$"))) << id;
  }
}

// Enough ids to pass the per-thread buffer's refill several times: a refill that handed out the
// same bytes twice, or the zeroed bytes left behind, would show up as a repeat.
TEST(IdRandom, IdsDoNotRepeatAcrossRefills) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(seen.insert(random_hex(12)).second);
}

// 8 zero bytes in a row from a CSPRNG: about 2^-64 per position; a stretch the pool failed to
// fill (it is zeroed once handed out) would be that.
template <typename Bytes>
std::size_t longest_zero_run(const Bytes& bytes) {
  std::size_t run = 0;
  std::size_t longest = 0;
  for (unsigned char b : bytes) {
    run = b == 0 ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

TEST(IdRandom, BytesAreFilledAllThrough) {
  std::vector<unsigned char> big(4096, 0);  // larger than the pool
  id_random_bytes(big.data(), big.size());
  EXPECT_LT(longest_zero_run(big), 8u);
  std::array<unsigned char, 700> odd{};  // straddles the pool's end after 3 bytes
  id_random_bytes(odd.data(), 3);
  id_random_bytes(odd.data(), odd.size());
  EXPECT_LT(longest_zero_run(odd), 8u);
}

TEST(IdRandom, ThreadsGetDifferentBytes) {
  std::string a;
  std::string b;
  std::thread ta([&] { a = random_hex(32); });
  std::thread tb([&] { b = random_hex(32); });
  ta.join();
  tb.join();
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace relay::crypto
