#include "relay/record.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace relay {
namespace {

class CollectingQueue final : public records::EventQueue {
 public:
  void push(const records::UsageRecord& r) override { got.push_back(r); }
  void stop() override {}
  std::vector<records::UsageRecord> got;
};

TEST(Record, BuiltFromTheContextAndWrittenOnce) {
  store::SnapshotKey key;
  key.key_id = "key_abc";
  key.tenant_name = "team-a";
  store::SnapshotAccount account;
  account.name = "acct-1";

  CollectingQueue queue;
  std::vector<records::UsageRecord> observed;
  RecordSink sink(
      &queue, [&](const records::UsageRecord& r) { observed.push_back(r); }, "node-1", "eu");
  RequestContext ctx;
  ctx.request_id = "req_1";
  ctx.started_unix_ms = 1'800'000'000'000;
  ctx.path = "/v1/responses";
  ctx.client_family = "codex_exec";
  ctx.bytes_in = 120;
  ctx.key = &key;
  ctx.account = &account;
  ctx.egress = "eg-1";
  ctx.body.model = "gpt-5.5";
  ctx.body.stream = true;
  ctx.attempts = 2;
  ctx.status = 200;
  ctx.first_byte = std::chrono::milliseconds(15);
  ctx.bytes_out = 4096;
  ctx.usage = {.present = true,
               .input_tokens = 10,
               .cached_tokens = 4,
               .output_tokens = 6,
               .reasoning_tokens = 2};
  ctx.usage_expected = true;
  ctx.records = &sink;

  record_once(ctx);
  record_once(ctx);  // settle after an early write: still one record
  ASSERT_EQ(queue.got.size(), 1u);
  ASSERT_EQ(observed.size(), 1u);
  const auto& r = queue.got[0];
  EXPECT_EQ(r, observed[0]);
  EXPECT_EQ(r.request_id, "req_1");
  EXPECT_EQ(r.start_ms, 1'800'000'000'000);
  EXPECT_EQ(r.node, "node-1");
  EXPECT_EQ(r.region, "eu");
  EXPECT_EQ(r.tenant, "team-a");
  EXPECT_EQ(r.key_id, "key_abc");
  EXPECT_EQ(r.account, "acct-1");
  EXPECT_EQ(r.egress, "eg-1");
  EXPECT_EQ(r.model, "gpt-5.5");
  EXPECT_EQ(r.endpoint, "/v1/responses");
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.ttfb_ms, 15);
  EXPECT_GE(r.duration_ms, 0);
  EXPECT_EQ(r.bytes_in, 120);
  EXPECT_EQ(r.bytes_out, 4096);
  EXPECT_EQ(r.input_tokens, 10);
  EXPECT_EQ(r.cached_tokens, 4);
  EXPECT_EQ(r.output_tokens, 6);
  EXPECT_EQ(r.reasoning_tokens, 2);
  EXPECT_FALSE(r.usage_incomplete);
  EXPECT_EQ(r.client_family, "codex_exec");
}

TEST(Record, IncompleteOnlyWhenUsageWasExpectedAndMissing) {
  RequestContext ctx;
  ctx.usage_expected = true;
  EXPECT_TRUE(make_record(ctx, "n", "", std::chrono::steady_clock::now()).usage_incomplete);
  ctx.usage_expected = false;  // e.g. GET /v1/models
  EXPECT_FALSE(make_record(ctx, "n", "", std::chrono::steady_clock::now()).usage_incomplete);
  EXPECT_EQ(make_record(ctx, "n", "", std::chrono::steady_clock::now()).ttfb_ms, -1);
}

TEST(Record, NoSinkNoRecord) {
  RequestContext ctx;  // local routes (health checks) have no sink
  record_once(ctx);
  EXPECT_FALSE(ctx.recorded);
}

}  // namespace
}  // namespace relay
