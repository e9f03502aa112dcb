#include "egress/proxy_url.hpp"

#include <gtest/gtest.h>

namespace relay::egress {
namespace {

ProxyUrl parsed(std::string_view text) {
  auto r = parse_proxy_url(text);
  EXPECT_TRUE(r.url) << text << ": " << r.error;
  EXPECT_EQ(r.url.has_value(), r.error.empty());
  return r.url.value_or(ProxyUrl{});
}

TEST(ProxyUrlTest, ParsesTheThreeSchemes) {
  ProxyUrl u = parsed("http://proxy.example:3128");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "proxy.example");
  EXPECT_EQ(u.port, 3128);
  EXPECT_TRUE(u.user.empty());
  EXPECT_EQ(u.endpoint(), "http://proxy.example:3128");
  EXPECT_EQ(u.redacted(), "http://proxy.example:3128");
  EXPECT_EQ(u.for_curl(), "http://proxy.example:3128");

  u = parsed("HTTPS://Proxy.EXAMPLE:443/");  // scheme and host are case-insensitive
  EXPECT_EQ(u.endpoint(), "https://proxy.example:443");

  u = parsed("socks5h://10.0.0.7:1080");
  EXPECT_EQ(u.scheme, "socks5h");
  EXPECT_EQ(u.endpoint(), "socks5h://10.0.0.7:1080");

  u = parsed("http://[0:0::1]:8080");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.endpoint(), "http://[::1]:8080");  // one spelling per address
}

TEST(ProxyUrlTest, CredentialsAreDecodedRedactedAndReEncodedForCurl) {
  ProxyUrl u = parsed("http://relay%20user:p%40ss:w/rd@proxy.example:3128");
  EXPECT_EQ(u.user, "relay user");
  EXPECT_EQ(u.password, "p@ss:w/rd");
  EXPECT_EQ(u.endpoint(), "http://proxy.example:3128");
  EXPECT_EQ(u.redacted(), "http://relay%20user:***@proxy.example:3128");
  EXPECT_EQ(u.for_curl(), "http://relay%20user:p%40ss%3Aw%2Frd@proxy.example:3128");
  // for_curl() parses back to the same proxy: the store keeps that form.
  ProxyUrl again = parsed(u.for_curl());
  EXPECT_EQ(again.user, u.user);
  EXPECT_EQ(again.password, u.password);
  EXPECT_EQ(again.for_curl(), u.for_curl());

  u = parsed("socks5h://u:p@s@[::1]:1080");  // an unescaped '@' in the password
  EXPECT_EQ(u.password, "p@s");
  EXPECT_EQ(u.redacted(), "socks5h://u:***@[::1]:1080");
}

TEST(ProxyUrlTest, Socks5IsRefusedWithTheReason) {
  auto r = parse_proxy_url("socks5://u:secret@10.0.0.7:1080");
  ASSERT_FALSE(r.url);
  EXPECT_NE(r.error.find("use socks5h:// so names resolve at the egress, not on the relay"),
            std::string::npos)
      << r.error;
}

TEST(ProxyUrlTest, RefusesWhatItCannotUseWithoutEchoingThePassword) {
  const char* bad[] = {
      "",
      "proxy.example:3128",
      "ftp://proxy.example:21",
      "socks4://proxy.example:1080",
      "secret://proxy.example:1",
      "http://proxy.example",
      "http://u:secret@proxy.example",
      "http://u:secret@proxy.example:",
      "http://u:secret@proxy.example:0",
      "http://u:secret@proxy.example:65536",
      "http://u:secret@proxy.example:31x8",
      "http://u:secret@proxy.example:3128/path",
      "http://u:secret@proxy.example:3128?q=1",
      "http://u:secret@proxy.example:3128#frag",
      "http://u:secret@:3128",
      "http://u:secret@pro xy:3128",
      "http://u:secret@[::1:3128",
      "http://u:secret@[not-v6]:3128",
      "http://u:secret@[::1]x:3128",
      "http://topsecret@proxy.example:3128",
      "http://u:bad%zzsecret@proxy.example:3128",
      "http://u:cut%4@proxy.example:3128",
      "http://u:ctl%0asecret@proxy.example:3128",
      "http://u:secret",
      "http://u:secret@",
  };
  for (const char* text : bad) {
    auto r = parse_proxy_url(text);
    EXPECT_FALSE(r.url) << text;
    EXPECT_FALSE(r.error.empty()) << text;
    EXPECT_EQ(r.error.find("secret"), std::string::npos) << text << " -> " << r.error;
  }
  EXPECT_NE(parse_proxy_url("http://proxy.example").error.find("port is required"),
            std::string::npos);
  EXPECT_FALSE(parse_proxy_url(std::string(5000, 'a')).url);
}

}  // namespace
}  // namespace relay::egress
