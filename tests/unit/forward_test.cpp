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

}  // namespace
}  // namespace relay
