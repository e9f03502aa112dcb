#include "relay/client_family.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

TEST(ClientFamily, CodexFromTheCapturedHeaders) {
  // tests/data/codex/sample-request-headers.txt, as the real Codex CLI 0.169.0 sent them.
  http::Headers h = {
      {"originator", "codex_exec"},
      {"user-agent", "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)"}};
  EXPECT_EQ(client_family(h), "codex_exec");
  EXPECT_EQ(client_family("codex_cli_rs", ""), "codex_cli_rs");
  EXPECT_EQ(client_family("codex_vscode", "x"), "codex_vscode");
  EXPECT_EQ(client_family("codex_future_thing", ""), "codex_other");
  EXPECT_EQ(client_family("", "codex_cli_rs/0.1 (Mac OS 15; arm64)"), "codex_cli_rs");
}

TEST(ClientFamily, UserAgentsOfCommonClients) {
  EXPECT_EQ(client_family("", "OpenAI/JS 6.49.0"), "openai_js");
  EXPECT_EQ(client_family("", "OpenAI/Python 1.99.0"), "openai_python");
  EXPECT_EQ(client_family("", "OpenAI/Go 1.0"), "openai_other");
  EXPECT_EQ(client_family("", "curl/7.88.1"), "curl");
  EXPECT_EQ(client_family("", "python-requests/2.31"), "python_requests");
  EXPECT_EQ(client_family("", "Mozilla/5.0 (X11; Linux x86_64)"), "browser");
  EXPECT_EQ(client_family("", "node"), "other");
}

TEST(ClientFamily, NeverReturnsHeaderText) {
  // An originator that is not Codex's falls through to the user agent; the value itself never
  // comes back.
  EXPECT_EQ(client_family("my-laptop-jdoe", ""), "other");
  EXPECT_EQ(client_family("my-laptop-jdoe", "curl/8"), "curl");
  EXPECT_EQ(client_family(http::Headers{}), "");
  EXPECT_EQ(client_family("", ""), "");
}

}  // namespace
}  // namespace relay
