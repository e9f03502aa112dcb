#include <gtest/gtest.h>

#include "relay/forward.hpp"

namespace relay {
namespace {

store::SnapshotAccount account(std::string name, std::vector<std::string> models, bool enabled) {
  store::SnapshotAccount a;
  a.name = std::move(name);
  a.base_url = "https://up.example/v1";
  a.models = std::move(models);
  a.enabled = enabled;
  a.credential = "sk-account-secret";
  return a;
}

TEST(ForwardHeaders, KeepsWhatCodexAndSdksSend) {
  for (auto n : {"accept", "content-type", "user-agent", "originator", "session-id", "thread-id",
                 "x-client-request-id", "openai-beta", "x-codex-turn-metadata", "x-codex-window-id",
                 "x-stainless-lang", "x-stainless-retry-count"})
    EXPECT_TRUE(forward_request_header(n)) << n;
}

TEST(ForwardHeaders, NeverForwardsIdentityOrCredentials) {
  for (auto n : {"authorization", "x-api-key", "cookie", "x-forwarded-for", "x-forwarded-host",
                 "forwarded", "x-real-ip", "via", "cf-connecting-ip", "cf-ipcountry",
                 "true-client-ip", "host", "content-length", "connection", "transfer-encoding",
                 "proxy-authorization", "openai-organization", "openai-project", "x-unknown"})
    EXPECT_FALSE(forward_request_header(n)) << n;
}

TEST(ForwardHeaders, ResponseAllowListDropsAccountDetails) {
  for (auto n : {"openai-organization", "openai-project", "set-cookie",
                 "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-request-id",
                 "server", "cf-ray", "content-length", "transfer-encoding", "connection"})
    EXPECT_FALSE(return_response_header(n)) << n;
  for (auto n : {"content-type", "retry-after", "openai-processing-ms"})
    EXPECT_TRUE(return_response_header(n)) << n;
}

TEST(ForwardRequest, SetsAccountCredentialAndDropsClientKey) {
  http::Request req;
  req.method = "POST";
  req.target = "/v1/responses?api-version=1";
  req.body = "{}";
  req.headers = {{"authorization", "Bearer crk_tenant"},
                 {"x-forwarded-for", "10.0.0.1"},
                 {"cookie", "a=b"},
                 {"session-id", "s1"},
                 {"content-type", "application/json"}};
  auto a = account("acct", {}, true);
  auto up = build_upstream_request(req, a);
  EXPECT_EQ(up.url, "https://up.example/v1/responses?api-version=1");
  EXPECT_EQ(up.body, &req.body);
  int auth = 0;
  for (const auto& h : up.headers) {
    EXPECT_EQ(h.value.find("crk_tenant"), std::string::npos);
    EXPECT_NE(h.name, "x-forwarded-for");
    EXPECT_NE(h.name, "cookie");
    if (h.name == "authorization") {
      ++auth;
      EXPECT_EQ(h.value, "Bearer sk-account-secret");
    }
  }
  EXPECT_EQ(auth, 1);
  ASSERT_NE(http::find_header(up.headers, "session-id"), nullptr);
}

TEST(ForwardRequest, UpstreamUrlJoinsBaseAndPath) {
  EXPECT_EQ(upstream_url("http://h:1/v1", "/v1/chat/completions"),
            "http://h:1/v1/chat/completions");
  EXPECT_EQ(upstream_url("http://h:1/v1/", "/v1/models"), "http://h:1/v1/models");
  EXPECT_EQ(upstream_url("http://h:1/openai/v1", "/v1/responses"),
            "http://h:1/openai/v1/responses");
}

TEST(ForwardHopByHop, ListsTheStandardHopByHopHeaders) {
  for (auto n : {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                 "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate"})
    EXPECT_TRUE(is_hop_by_hop(n)) << n;
  for (auto n : {"content-type", "user-agent", "accept"}) EXPECT_FALSE(is_hop_by_hop(n)) << n;
}

TEST(ForwardHopByHop, ConnectionTokensAreLowerCasedAndTrimmed) {
  http::Headers h{{"connection", "keep-alive, X-Stainless-Lang ,\tUser-Agent"},
                  {"connection", "close"},
                  {"accept", "x"}};
  EXPECT_EQ(connection_tokens(h),
            (std::vector<std::string>{"keep-alive", "x-stainless-lang", "user-agent", "close"}));
  EXPECT_TRUE(connection_tokens({{"connection", " , ,"}}).empty());
}

TEST(ForwardHopByHop, DropsHeadersNamedInConnectionBothWays) {
  http::Request client;
  client.method = "POST";
  client.target = "/v1/responses";
  client.headers = {{"connection", "user-agent, x-stainless-lang"},
                    {"user-agent", "sdk/1"},
                    {"x-stainless-lang", "js"},
                    {"x-stainless-os", "linux"},
                    {"keep-alive", "timeout=5"},
                    {"te", "trailers"},
                    {"upgrade", "websocket"},
                    {"content-type", "application/json"}};
  auto up = build_upstream_request(client, account("a", {"m"}, true));
  std::vector<std::string> names;
  for (const auto& h : up.headers) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"x-stainless-os", "content-type", "authorization"}));

  http::Headers upstream{{"connection", "Retry-After"},
                         {"retry-after", "3"},
                         {"content-type", "application/json"},
                         {"keep-alive", "timeout=5"}};
  auto back = filter_response_headers(upstream);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, "content-type");
}

TEST(ForwardHeaderValues, NeverForwardsCrLfOrNul) {
  EXPECT_TRUE(safe_header_value("ok value\twith tab"));
  for (std::string_view v : {std::string_view("a\r\nx-injected: 1"), std::string_view("a\nb"),
                             std::string_view("a\rb"), std::string_view("a\0b", 3)})
    EXPECT_FALSE(safe_header_value(v));
  http::Request client;
  client.method = "POST";
  client.target = "/v1/responses";
  client.headers = {{"user-agent", "ua\r\nx-evil: 1"},
                    {"accept", std::string("a\0b", 3)},
                    {"content-type", "application/json"}};
  auto up = build_upstream_request(client, account("a", {"m"}, true));
  for (const auto& h : up.headers) {
    EXPECT_TRUE(safe_header_value(h.value)) << h.name;
    EXPECT_NE(h.name, "user-agent");
    EXPECT_NE(h.name, "accept");
  }
  EXPECT_EQ(up.headers.size(), 2u);  // content-type and the account's authorization
  auto back = filter_response_headers({{"content-type", "text/plain\r\nset-cookie: x"}});
  EXPECT_TRUE(back.empty());
}

}  // namespace
}  // namespace relay
