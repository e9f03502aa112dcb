#include "upstream/socks5.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::upstream::socks5 {
namespace {

std::string bytes(std::initializer_list<unsigned> list) {
  std::string out;
  for (unsigned b : list) out.push_back(static_cast<char>(b));
  return out;
}

TEST(Socks5Test, GreetingOffersPasswordOnlyWithCredentials) {
  EXPECT_EQ(greeting(false), bytes({0x05, 0x01, 0x00}));
  EXPECT_EQ(greeting(true), bytes({0x05, 0x02, 0x00, 0x02}));
}

TEST(Socks5Test, MethodChoice) {
  auto c = parse_method_choice(bytes({0x05, 0x00}), false);
  EXPECT_EQ(c.method, Method::kNoAuth);
  EXPECT_TRUE(c.error.empty());
  c = parse_method_choice(bytes({0x05, 0x00}), true);  // the proxy may waive the password
  EXPECT_EQ(c.method, Method::kNoAuth);
  c = parse_method_choice(bytes({0x05, 0x02}), true);
  EXPECT_EQ(c.method, Method::kPassword);
  EXPECT_TRUE(c.error.empty());

  for (const std::string& bad : {
           bytes({0x05, 0x02}),  // password, not offered below
           bytes({0x05, 0xFF}),
           bytes({0x05, 0x01}),  // GSSAPI, never offered
           bytes({0x04, 0x00}),
           bytes({0x05}),
           bytes({0x05, 0x00, 0x00}),
           std::string(),
       }) {
    auto r = parse_method_choice(bad, false);
    EXPECT_FALSE(r.method) << testing::PrintToString(bad);
    EXPECT_EQ(r.error.rfind("SOCKS5 proxy: ", 0), 0u) << r.error;
  }
  auto none = parse_method_choice(bytes({0x05, 0xFF}), true);
  EXPECT_FALSE(none.method);
  EXPECT_EQ(none.error, "SOCKS5 proxy: no acceptable authentication method");
  EXPECT_FALSE(parse_method_choice(bytes({0x05, 0x03}), true).method);
}

TEST(Socks5Test, PasswordRequestLayoutAndLimits) {
  EXPECT_EQ(password_request("ab", "xyz"), bytes({0x01, 0x02, 'a', 'b', 0x03, 'x', 'y', 'z'}));
  EXPECT_EQ(password_request("u", ""), bytes({0x01, 0x01, 'u', 0x00}));
  EXPECT_FALSE(password_request("", "secret"));

  const std::string max(255, 'a');
  const std::string over(256, 'a');
  auto r = password_request(max, max);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 3u + 255 + 255);
  EXPECT_EQ(static_cast<unsigned char>((*r)[1]), 255);
  EXPECT_EQ(static_cast<unsigned char>((*r)[2 + 255]), 255);
  EXPECT_FALSE(password_request(over, "p"));
  EXPECT_FALSE(password_request("u", over));
}

TEST(Socks5Test, PasswordReply) {
  EXPECT_EQ(parse_password_reply(bytes({0x01, 0x00})), "");
  const std::string refused = parse_password_reply(bytes({0x01, 0x01}));
  EXPECT_EQ(refused, "SOCKS5 proxy: username/password authentication failed (1)");
  // The reply never sees the credentials, and its text names none of them.
  auto req = password_request("relay-user", "hunter2");
  ASSERT_TRUE(req);
  EXPECT_EQ(refused.find("relay-user"), std::string::npos);
  EXPECT_EQ(refused.find("hunter2"), std::string::npos);

  EXPECT_NE(parse_password_reply(bytes({0x05, 0x00})), "");  // RFC 1929's version is 1
  EXPECT_NE(parse_password_reply(bytes({0x01})), "");
  EXPECT_NE(parse_password_reply(bytes({0x01, 0x00, 0x00})), "");
  EXPECT_NE(parse_password_reply(""), "");
}

TEST(Socks5Test, ConnectRequestForANameGoesAsTheName) {
  auto r = connect_request("api.openai.com", 443);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, bytes({0x05, 0x01, 0x00, 0x03, 0x0e}) + "api.openai.com" + bytes({0x01, 0xbb}));

  const std::string longest(255, 'a');
  r = connect_request(longest, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 5u + 255 + 2);
  EXPECT_EQ(static_cast<unsigned char>((*r)[4]), 255);
  EXPECT_FALSE(connect_request(std::string(256, 'a'), 443));
  EXPECT_FALSE(connect_request("", 443));
  // Not literals: a bracketed IPv6 and a dotted quad out of range stay names.
  EXPECT_EQ((*connect_request("[::1]", 443))[3], 0x03);
  EXPECT_EQ((*connect_request("256.0.0.1", 443))[3], 0x03);
}

TEST(Socks5Test, ConnectRequestForLiterals) {
  EXPECT_EQ(connect_request("127.0.0.1", 8080),
            bytes({0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90}));
  EXPECT_EQ(connect_request("::1", 443), bytes({0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0,    0,   0, 0,
                                                0,    0,    0,    0,    0, 0, 0, 1, 0x01, 0xbb}));
  auto r = connect_request("2001:db8::ff", 65535);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 22u);
  EXPECT_EQ(r->substr(4, 2), bytes({0x20, 0x01}));
  EXPECT_EQ(r->substr(18), bytes({0x00, 0xff, 0xff, 0xff}));
  // A NUL cuts what inet_pton would read: the host is not the literal before it.
  r = connect_request(std::string("10.0.0.1\0x", 10), 80);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[3], 0x03);
}

TEST(Socks5Test, ConnectReplySizeForEachAddressType) {
  const std::string v4 = bytes({0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38});
  for (std::size_t n = 0; n < 5; ++n) {
    auto s = connect_reply_size(v4.substr(0, n));
    EXPECT_EQ(s.total, 0u) << n;
    EXPECT_EQ(s.error, "") << n;
  }
  for (std::size_t n = 5; n <= v4.size(); ++n) {
    auto s = connect_reply_size(v4.substr(0, n));
    EXPECT_EQ(s.total, 10u) << n;
    EXPECT_EQ(s.error, "");
  }
  EXPECT_EQ(connect_reply_size(bytes({0x05, 0x00, 0x00, 0x04, 0x00})).total, 22u);
  EXPECT_EQ(connect_reply_size(bytes({0x05, 0x00, 0x00, 0x03, 0x0b})).total, 18u);
  EXPECT_EQ(connect_reply_size(bytes({0x05, 0x00, 0x00, 0x03, 0xff})).total, 262u);
  EXPECT_EQ(connect_reply_size(bytes({0x05, 0x00, 0x00, 0x03})).total, 0u);  // length not here
  // A failure reply has the same layout.
  EXPECT_EQ(connect_reply_size(bytes({0x05, 0x05, 0x00, 0x01, 0x00})).total, 10u);
}

TEST(Socks5Test, ConnectReplySizeRefusesBadHeaders) {
  for (const std::string& bad : {
           bytes({0x04, 0x00, 0x00, 0x01, 0x00}),  // version
           bytes({0x05, 0x00, 0x01, 0x01, 0x00}),  // reserved
           bytes({0x05, 0x00, 0x00, 0x02, 0x00}),  // address type
           bytes({0x05, 0x00, 0x00, 0x00, 0x00}),
           bytes({0x05, 0x00, 0x00, 0x05, 0x00}),
           bytes({0x04}),  // known bad before the 5th byte
           bytes({0x05, 0x00, 0x07}),
           bytes({0x05, 0x00, 0x00, 0xff}),
       }) {
    auto s = connect_reply_size(bad);
    EXPECT_EQ(s.total, 0u) << testing::PrintToString(bad);
    EXPECT_EQ(s.error.rfind("SOCKS5 proxy: ", 0), 0u) << s.error;
  }
}

TEST(Socks5Test, ConnectReplySucceeded) {
  EXPECT_EQ(parse_connect_reply(bytes({0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38})), "");
  EXPECT_EQ(parse_connect_reply(bytes({0x05, 0x00, 0x00, 0x04, 0, 0, 0, 0, 0, 0,    0,
                                       0,    0,    0,    0,    0, 0, 0, 0, 1, 0x01, 0xbb})),
            "");
  EXPECT_EQ(parse_connect_reply(bytes({0x05, 0x00, 0x00, 0x03, 0x03}) + "abc" + bytes({0, 80})),
            "");
}

TEST(Socks5Test, ConnectReplyFailuresNameTheReasonAndCode) {
  const char* const reasons[] = {
      "general failure",       "connection not allowed by ruleset",
      "network unreachable",   "host unreachable",
      "connection refused",    "TTL expired",
      "command not supported", "address type not supported",
  };
  for (unsigned rep = 1; rep <= 8; ++rep) {
    const std::string reply = bytes({0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(parse_connect_reply(reply),
              "SOCKS5 proxy: " + std::string(reasons[rep - 1]) + " (" + std::to_string(rep) + ")");
  }
  EXPECT_EQ(parse_connect_reply(bytes({0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0})),
            "SOCKS5 proxy: connection refused (5)");
  EXPECT_EQ(parse_connect_reply(bytes({0x05, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0, 0})),
            "SOCKS5 proxy: unknown reply code (9)");
  EXPECT_EQ(parse_connect_reply(bytes({0x05, 0xff, 0x00, 0x01, 0, 0, 0, 0, 0, 0})),
            "SOCKS5 proxy: unknown reply code (255)");
}

TEST(Socks5Test, MalformedConnectRepliesAreErrors) {
  const std::string ok = bytes({0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38});
  for (std::size_t n = 0; n < ok.size(); ++n)
    EXPECT_EQ(parse_connect_reply(ok.substr(0, n)), "SOCKS5 proxy: truncated CONNECT reply") << n;
  EXPECT_NE(parse_connect_reply(ok + "x"), "");
  EXPECT_NE(parse_connect_reply(bytes({0x05, 0x00, 0x00, 0x03, 0x05}) + "abc" + bytes({0, 80})),
            "");
  EXPECT_NE(parse_connect_reply(bytes({0x04, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38})), "");
  EXPECT_NE(parse_connect_reply(bytes({0x05, 0x00, 0x01, 0x01, 10, 0, 0, 1, 0x04, 0x38})), "");
  EXPECT_NE(parse_connect_reply(bytes({0x05, 0x00, 0x00, 0x02, 10, 0, 0, 1, 0x04, 0x38})), "");
}

}  // namespace
}  // namespace relay::upstream::socks5
