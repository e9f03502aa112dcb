// The cluster's record path against a real Redis and PostgreSQL (docs/records.md, "Cluster: Redis
// Streams"): JournalQueue -> RedisStreamSink -> the stream -> StreamConsumer -> PgUsageStore.
// Delivery into the stream and out of it is at-least-once; the store makes it count once.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "postgres_test_support.hpp"
#include "records/journal_queue.hpp"
#include "records/redis_stream_sink.hpp"
#include "records/stream_consumer.hpp"
#include "redis/blocking_client.hpp"
#include "redis_test_support.hpp"
#include "store/postgres/pg_usage_store.hpp"
#include "test_support.hpp"

namespace relay::records {
namespace {

using namespace std::chrono_literals;
using redis::Reply;

constexpr std::int64_t kDay27 = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

std::vector<UsageRecord> records(const std::string& prefix, int n) {
  std::vector<UsageRecord> out;
  for (int i = 0; i < n; ++i) {
    UsageRecord r;
    r.request_id = prefix + std::to_string(i);
    r.start_ms = kDay27 + std::int64_t{i % 3} * 86'400'000 + i;  // three days
    r.tenant = i % 2 == 0 ? "team-a" : "team-b";
    r.model = "gpt-5.5";
    r.endpoint = "/v1/responses";
    r.status = i % 5 == 0 ? 503 : 200;
    r.attempts = 1;
    r.input_tokens = 100 + i;
    r.output_tokens = i;
    out.push_back(r);
  }
  return out;
}

// requests and input tokens per tenant, as the daily aggregates must sum them.
std::map<std::string, std::pair<std::int64_t, std::int64_t>> expected(
    const std::vector<UsageRecord>& rs) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& r : rs) {
    out[r.tenant].first += 1;
    out[r.tenant].second += r.input_tokens;
  }
  return out;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A loopback port nothing listens on (bound, then closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

redis::ConnectionOptions redis_opts() {
  redis::ConnectionOptions o;
  o.call_timeout = 2s;
  o.connect_timeout = 300ms;
  o.name = "redis-test";
  return o;
}

class RedisStreamQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::test_redis_url().empty() || test::test_postgres_url().empty())
      GTEST_SKIP() << "no test redis/postgres (run through ctest)";
    endpoint_ = *redis::parse_url(test::test_redis_url()).endpoint;
    std::random_device rd;
    prefix_ = "test:usage:" + std::to_string(::getpid()) + ":" + std::to_string(rd()) + ":";
    stream_ = RedisStreamSink::stream_key(prefix_);
    schema_ = std::make_unique<test::PgTestSchema>(test::test_postgres_url());
    reader_ = std::make_unique<store::PgUsageStore>(schema_->url());  // creates the tables
    admin_ = std::make_unique<redis::BlockingClient>(endpoint_, redis_opts());
  }
  void TearDown() override {
    if (!admin_) return;
    for (const Reply& k : admin_->command({"KEYS", prefix_ + "*"}).elements)
      admin_->command({"DEL", k.str});
  }

  std::unique_ptr<RedisStreamSink> sink(redis::Endpoint ep) {
    return std::make_unique<RedisStreamSink>(std::move(ep), prefix_, "node-a", redis_opts());
  }
  std::unique_ptr<StreamConsumer> consumer(const std::string& name,
                                           StreamConsumerOptions opts = fast()) {
    const std::string url = schema_->url();
    return std::make_unique<StreamConsumer>(
        endpoint_, prefix_, name, [url] { return std::make_unique<store::PgUsageStore>(url); },
        opts);
  }
  static StreamConsumerOptions fast() {
    StreamConsumerOptions o;
    o.idle_sleep = 10ms;
    o.redis = redis_opts();
    return o;
  }
  static JournalOptions journal_opts() {
    JournalOptions o;
    o.sync_interval = 5ms;
    o.consume_interval = 5ms;
    return o;
  }
  std::int64_t stored() { return schema_->count("SELECT COUNT(*) FROM usage_records"); }
  std::int64_t xlen() { return admin_->command({"XLEN", stream_}).integer; }
  std::int64_t pending() {
    const Reply r = admin_->command({"XPENDING", stream_, StreamConsumer::kGroup});
    return r.elements.empty() ? -1 : r.elements[0].integer;
  }
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> totals() {
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& t : reader_->totals({}, store::UsageGroup::kTenant))
      out[t.group] = {t.requests, t.input_tokens};
    return out;
  }

  redis::Endpoint endpoint_;
  std::string prefix_, stream_;
  std::unique_ptr<test::PgTestSchema> schema_;
  std::unique_ptr<store::PgUsageStore> reader_;
  std::unique_ptr<redis::BlockingClient> admin_;
  test::TempDir dir_;
};

TEST_F(RedisStreamQueueTest, EveryPushedRecordIsStoredExactlyOnce) {
  const auto rs = records("q", 1200);
  auto c = consumer("node-a");
  {
    auto s = sink(endpoint_);
    JournalQueue q(dir_.path(), *s, journal_opts());
    for (const auto& r : rs) q.push(r);
    q.stop();
    EXPECT_EQ(q.stats().delivered, rs.size());
  }
  ASSERT_TRUE(wait_until([&] { return stored() == 1200 && xlen() == 0; }))
      << stored() << " stored, " << xlen() << " in the stream";
  c->stop();
  EXPECT_EQ(totals(), expected(rs));
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(c->stats().consumed, rs.size());
  EXPECT_EQ(c->stats().failures, 0u);
  // The offset moved with the entries: a new queue on the same journal forwards nothing again.
  auto s = sink(endpoint_);
  EXPECT_GT(s->journal_offset("usage"), 0);
  JournalQueue again(dir_.path(), *s, journal_opts());
  again.stop();
  EXPECT_EQ(again.stats().delivered, 0u);
  EXPECT_EQ(xlen(), 0);
}

TEST_F(RedisStreamQueueTest, EntriesADeadConsumerReadAreClaimedAndStoredOnce) {
  const auto rs = records("d", 40);
  sink(endpoint_)->append(rs, "usage", 1);
  admin_->command({"XGROUP", "CREATE", stream_, StreamConsumer::kGroup, "0", "MKSTREAM"});
  // "dead" reads everything and never acknowledges: only a claim can get it stored.
  const Reply read = admin_->command({"XREADGROUP", "GROUP", StreamConsumer::kGroup, "dead",
                                      "COUNT", "100", "STREAMS", stream_, ">"});
  ASSERT_EQ(read.elements.at(0).elements.at(1).elements.size(), rs.size());
  ASSERT_EQ(pending(), 40);

  StreamConsumerOptions o = fast();
  o.claim_idle = 200ms;
  o.batch_size = 15;  // a claim over several rounds
  auto c = consumer("alive", o);
  ASSERT_TRUE(wait_until([&] { return stored() == 40 && xlen() == 0; }))
      << stored() << " stored, " << xlen() << " in the stream";
  c->stop();
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(totals(), expected(rs));
}

TEST_F(RedisStreamQueueTest, TheSameRecordForwardedTwiceIsStoredOnce) {
  const auto rs = records("t", 5);
  auto s = sink(endpoint_);
  s->append(rs, "usage", 100);
  auto c = consumer("node-a");
  ASSERT_TRUE(wait_until([&] { return stored() == 5 && xlen() == 0; }));
  // The offset was lost (Redis restarted without it): the journal forwards the lines again.
  s->append(rs, "usage", 100);
  s->append({rs[2]}, "usage", 100);
  ASSERT_TRUE(wait_until([&] { return c->stats().consumed == 11 && xlen() == 0; }));
  c->stop();
  EXPECT_EQ(stored(), 5);
  EXPECT_EQ(totals(), expected(rs));
}

TEST_F(RedisStreamQueueTest, RecordsWaitInTheJournalWhileRedisIsDown) {
  const auto rs = records("w", 50);
  redis::Endpoint down = endpoint_;
  down.port = closed_port();
  {
    auto s = sink(down);
    JournalQueue q(dir_.path(), *s, journal_opts());
    auto slowest = 0ms;
    for (const auto& r : rs) {
      const auto t0 = std::chrono::steady_clock::now();
      q.push(r);
      slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - t0));
    }
    EXPECT_LT(slowest, 100ms);  // the connect timeout is 300 ms: push never waited on it
    q.stop();
    EXPECT_EQ(q.stats().delivered, 0u);
    EXPECT_GT(q.stats().pending_bytes, 0);
  }
  EXPECT_EQ(xlen(), 0);
  // Redis is back (here: the real one): the next start forwards what the journal kept.
  auto c = consumer("node-a");
  auto s = sink(endpoint_);
  JournalQueue q(dir_.path(), *s, journal_opts());
  ASSERT_TRUE(wait_until([&] { return stored() == 50; })) << stored() << " stored";
  q.stop();
  c->stop();
  EXPECT_EQ(q.stats().delivered, rs.size());
  EXPECT_EQ(totals(), expected(rs));
}

TEST_F(RedisStreamQueueTest, AnEntryThatDoesNotDecodeIsSkippedAndAcknowledged) {
  const auto rs = records("g", 3);
  admin_->command({"XADD", stream_, "*", "r", "{not a record"});
  sink(endpoint_)->append(rs, "usage", 1);
  admin_->command({"XADD", stream_, "*", "other", "field"});
  auto c = consumer("node-a");
  ASSERT_TRUE(wait_until([&] { return stored() == 3 && xlen() == 0; }))
      << stored() << " stored, " << xlen() << " in the stream";
  c->stop();
  EXPECT_EQ(c->stats().skipped, 2u);
  EXPECT_EQ(c->stats().consumed, 3u);
  EXPECT_EQ(pending(), 0);
}

TEST_F(RedisStreamQueueTest, AFailingStoreKeepsEntriesPendingUntilItRecovers) {
  const auto rs = records("f", 20);
  schema_->exec(
      "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RAISE EXCEPTION 'injected'; END $$; "
      "CREATE TRIGGER fail_insert BEFORE INSERT ON usage_records FOR EACH ROW WHEN "
      "(NEW.request_id = 'f7') EXECUTE FUNCTION fail();");
  sink(endpoint_)->append(rs, "usage", 1);
  auto c = consumer("node-a");
  ASSERT_TRUE(wait_until([&] { return c->stats().failures >= 2; }));
  EXPECT_EQ(stored(), 0);
  EXPECT_EQ(pending(), 20);  // read, not acknowledged, not lost
  schema_->exec("DROP TRIGGER fail_insert ON usage_records");
  ASSERT_TRUE(wait_until([&] { return stored() == 20 && xlen() == 0; }));
  c->stop();
  EXPECT_EQ(totals(), expected(rs));
  EXPECT_EQ(pending(), 0);
}

TEST_F(RedisStreamQueueTest, ABatchLargerThanOneTransactionMovesTheOffsetLast) {
  const auto rs = records("b", static_cast<int>(RedisStreamSink::kMaxPerTransaction) + 7);
  auto s = sink(endpoint_);
  s->append(rs, "usage", 4242);
  EXPECT_EQ(xlen(), static_cast<std::int64_t>(rs.size()));
  EXPECT_EQ(s->journal_offset("usage"), 4242);
  EXPECT_EQ(s->journal_offset("usage-2"), 0);
  s->append({}, "usage", 5000);  // lines that did not decode still move the offset
  EXPECT_EQ(s->journal_offset("usage"), 5000);
}

TEST_F(RedisStreamQueueTest, AnUnreachableSinkThrows) {
  redis::Endpoint down = endpoint_;
  down.port = closed_port();
  auto s = sink(down);
  EXPECT_THROW(s->journal_offset("usage"), redis::Unavailable);
  EXPECT_THROW(s->append(records("x", 1), "usage", 1), redis::Unavailable);
}

TEST_F(RedisStreamQueueTest, AConsumerWithoutRedisRetriesAndStopsPromptly) {
  StreamConsumerOptions o = fast();
  o.redis.connect_timeout = 100ms;
  redis::Endpoint down = endpoint_;
  down.port = closed_port();
  StreamConsumer c(
      down, prefix_, "node-a", [] { return std::unique_ptr<store::UsageStore>(); }, o);
  ASSERT_TRUE(wait_until([&] { return c.stats().failures >= 2; }));
  const auto t0 = std::chrono::steady_clock::now();
  c.stop();
  c.stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

}  // namespace
}  // namespace relay::records
