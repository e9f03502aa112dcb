#include <gtest/gtest.h>

#include "redis/url.hpp"

namespace relay::redis {
namespace {

TEST(RedisUrlTest, ParsesHostPortDbAndCredentials) {
  auto r = parse_url("redis://127.0.0.1");
  ASSERT_TRUE(r.endpoint) << r.error;
  EXPECT_EQ(r.endpoint->host, "127.0.0.1");
  EXPECT_EQ(r.endpoint->port, 6379);
  EXPECT_EQ(r.endpoint->db, 0);
  EXPECT_TRUE(r.endpoint->password.empty());

  r = parse_url("redis://:s%40cret@10.0.0.7:6380/3");
  ASSERT_TRUE(r.endpoint) << r.error;
  EXPECT_EQ(r.endpoint->host, "10.0.0.7");
  EXPECT_EQ(r.endpoint->port, 6380);
  EXPECT_EQ(r.endpoint->db, 3);
  EXPECT_EQ(r.endpoint->user, "");
  EXPECT_EQ(r.endpoint->password, "s@cret");

  r = parse_url("redis://relay:p@ss@[::1]:7000/");
  ASSERT_TRUE(r.endpoint) << r.error;
  EXPECT_EQ(r.endpoint->host, "::1");
  EXPECT_EQ(r.endpoint->user, "relay");
  EXPECT_EQ(r.endpoint->password, "p@ss");
  EXPECT_EQ(r.endpoint->where(), "[::1]:7000");
}

TEST(RedisUrlTest, RefusesWhatItCannotUseWithoutEchoingThePassword) {
  const char* bad[] = {
      "",
      "127.0.0.1:6379",
      "rediss://127.0.0.1",
      "redis://localhost:6379",
      "redis://127.0.0.1:0",
      "redis://127.0.0.1:65536",
      "redis://127.0.0.1:63a9",
      "redis://127.0.0.1:",
      "redis://127.0.0.1/db",
      "redis://127.0.0.1/-1",
      "redis://127.0.0.1?timeout=1",
      "redis://[::1",
      "redis://[::1]x",
      "redis://[not-v6]",
      "redis://topsecret@127.0.0.1",
      "redis://:bad%zzsecret@127.0.0.1",
      "redis://:cut%4@127.0.0.1",
      "redis://:ctl%0asecret@127.0.0.1",
      "redis://:topsecret@",
  };
  for (const char* url : bad) {
    auto r = parse_url(url);
    EXPECT_FALSE(r.endpoint) << url;
    EXPECT_FALSE(r.error.empty()) << url;
    EXPECT_EQ(r.error.find("secret"), std::string::npos) << url << " -> " << r.error;
  }
}

}  // namespace
}  // namespace relay::redis
