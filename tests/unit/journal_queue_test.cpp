#include "records/journal_queue.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/config_store.hpp"
#include "store/sqlite/sqlite_usage_store.hpp"
#include "test_support.hpp"

namespace relay::records {
namespace {

using namespace std::chrono_literals;

// An in-memory UsageStore that can be told to fail, and remembers its batch sizes.
class FakeUsageStore final : public store::UsageStore {
 public:
  void append(const std::vector<UsageRecord>& rs, std::string_view journal,
              std::int64_t offset) override {
    std::lock_guard lk(mu_);
    if (fail) throw store::StoreError(store::StoreError::Kind::kIo, "injected");
    records_.insert(records_.end(), rs.begin(), rs.end());
    offsets_[std::string(journal)] = offset;
    max_batch_ = std::max(max_batch_, rs.size());
  }
  std::int64_t journal_offset(std::string_view journal) override {
    std::lock_guard lk(mu_);
    if (fail_offset) throw store::StoreError(store::StoreError::Kind::kIo, "injected");
    auto it = offsets_.find(std::string(journal));
    return it == offsets_.end() ? 0 : it->second;
  }
  std::vector<UsageRecord> query(const store::UsageFilter&) override { return records(); }
  std::int64_t delete_older_than(std::int64_t) override { return 0; }
  std::vector<store::UsageTotals> totals(const store::TotalsFilter&, store::UsageGroup) override {
    return {};
  }
  std::int64_t delete_aggregates_before(std::string_view) override { return 0; }

  std::vector<UsageRecord> records() {
    std::lock_guard lk(mu_);
    return records_;
  }
  std::size_t max_batch() {
    std::lock_guard lk(mu_);
    return max_batch_;
  }
  void preset(std::vector<UsageRecord> rs, std::int64_t offset) {
    std::lock_guard lk(mu_);
    records_ = std::move(rs);
    offsets_["usage"] = offset;
  }

  std::atomic<bool> fail{false};
  std::atomic<bool> fail_offset{false};  // journal_offset() fails too (a sink that is down)

 private:
  std::mutex mu_;
  std::vector<UsageRecord> records_;
  std::map<std::string, std::int64_t> offsets_;
  std::size_t max_batch_ = 0;
};

UsageRecord rec(const std::string& id, std::int64_t n = 0) {
  UsageRecord r;
  r.request_id = id;
  r.start_ms = 1'764'200'000'000 + n;
  r.tenant = "team-a";
  r.model = "gpt-5.5";
  r.endpoint = "/v1/responses";
  r.status = 200;
  r.attempts = 1;
  r.input_tokens = n;
  r.cached_tokens = n / 2;
  r.client_family = "codex_cli";
  return r;
}

std::vector<std::string> ids(const std::vector<UsageRecord>& rs) {
  std::vector<std::string> out;
  out.reserve(rs.size());
  for (const auto& r : rs) out.push_back(r.request_id);
  return out;
}

std::vector<std::string> names(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

std::int64_t line_bytes(const UsageRecord& r) {
  return static_cast<std::int64_t>(encode(r).size()) + 1;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

void append_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

class JournalQueueTest : public ::testing::Test {
 protected:
  JournalOptions fast() const {
    JournalOptions o;
    o.sync_interval = 5ms;
    o.consume_interval = 5ms;
    return o;
  }
  std::string journal() const { return JournalQueue::path_in(dir_.path()); }

  test::TempDir dir_;
  FakeUsageStore store_;
};

TEST_F(JournalQueueTest, EveryPushedRecordIsInTheStoreAfterStop) {
  store::SqliteUsageStore db(dir_ / "relay.db");
  JournalQueue q(dir_.path(), db, fast());
  for (int i = 0; i < 1200; ++i) q.push(rec("r" + std::to_string(i), i));
  q.stop();
  auto got = db.query({.limit = 5000});
  ASSERT_EQ(got.size(), 1200u);
  std::int64_t bytes = 0;
  for (int i = 0; i < 1200; ++i) {
    EXPECT_EQ(got[i], rec("r" + std::to_string(i), i));
    bytes += line_bytes(got[i]);
  }
  EXPECT_EQ(db.journal_offset("usage"), bytes);  // logical: header excluded
  const JournalStats s = q.stats();
  EXPECT_EQ(s.pushed, 1200u);
  EXPECT_EQ(s.delivered, 1200u);
  EXPECT_EQ(s.skipped, 0u);
  EXPECT_EQ(s.read_back, 0u);  // every record came to the consumer from memory
  EXPECT_EQ(s.pending_bytes, 0);
}

// From memory, a record must reach the store as a replay of its line would: cut, with invalid
// UTF-8 replaced, the endpoint without its query, numbers in range.
TEST_F(JournalQueueTest, RecordsFromMemoryEqualWhatTheFileWouldGive) {
  std::vector<UsageRecord> pushed;
  UsageRecord odd = rec("odd", 1);
  odd.model = std::string(300, 'm');
  odd.client_family = "bad\xff\xfeutf8";
  odd.endpoint = "/v1/responses?api-version=1&x=\xff";
  odd.status = 12345;
  odd.ttfb_ms = -7;
  odd.output_tokens = -3;
  pushed.push_back(odd);
  pushed.push_back(rec("plain", 2));
  JournalQueue q(dir_.path(), store_, fast());
  for (const auto& r : pushed) q.push(r);
  q.stop();
  const auto got = store_.records();
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto replayed = decode(encode(pushed[i]));
    ASSERT_TRUE(replayed);
    EXPECT_EQ(got[i], *replayed) << i;
  }
  EXPECT_EQ(got[0].model.size(), kMaxString);
  EXPECT_EQ(got[0].endpoint, "/v1/responses");
  EXPECT_EQ(got[0].status, 0);
  EXPECT_EQ(q.stats().read_back, 0u);
}

TEST_F(JournalQueueTest, DeliversWhileRunningInBatchesOfAtMost500) {
  JournalQueue q(dir_.path(), store_, fast());
  for (int i = 0; i < 1700; ++i) q.push(rec("r" + std::to_string(i), i));
  EXPECT_TRUE(wait_until([&] { return store_.records().size() == 1700; }));
  EXPECT_LE(store_.max_batch(), 500u);
  EXPECT_EQ(ids(store_.records()), names("r", 0, 1700));
}

TEST_F(JournalQueueTest, OneQueuePerJournal) {
  JournalQueue q(dir_.path(), store_, fast());
  try {
    JournalQueue second(dir_.path(), store_, fast());
    FAIL() << "two queues consume one journal";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  q.push(rec("still-works"));
  q.stop();
  EXPECT_EQ(ids(store_.records()), (std::vector<std::string>{"still-works"}));
}

TEST_F(JournalQueueTest, JournalIsPrivate) {
  JournalQueue q(dir_.path(), store_, fast());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "journal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(journal().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// A previous run stored the first 4 records and the offset after them, then died with 6 more
// in the journal and a seventh half written. Restarting delivers exactly the 6.
TEST_F(JournalQueueTest, ReplaysExactlyWhatThePreviousRunLeft) {
  std::vector<UsageRecord> all;
  all.reserve(10);
  for (int i = 0; i < 10; ++i) all.push_back(rec("r" + std::to_string(i), i));
  {
    store_.fail = true;  // the previous run consumed nothing itself
    JournalQueue q(dir_.path(), store_, fast());
    for (const auto& r : all) q.push(r);
  }
  std::int64_t offset = 0;
  for (int i = 0; i < 4; ++i) offset += line_bytes(all[i]);
  store_.preset({all.begin(), all.begin() + 4}, offset);
  store_.fail = false;
  append_raw(journal(), encode(rec("torn", 99)).substr(0, 40));  // cut by the crash

  {
    JournalQueue q(dir_.path(), store_, fast());
    q.stop();
    EXPECT_EQ(ids(store_.records()), names("r", 0, 10));
    EXPECT_EQ(q.stats().delivered, 6u);
    EXPECT_EQ(q.stats().skipped, 1u);  // the torn line
  }

  // And a third run finds nothing left to replay; its own record lands on a line of its own.
  JournalQueue again(dir_.path(), store_, fast());
  again.push(rec("r10", 10));
  again.stop();
  EXPECT_EQ(ids(store_.records()), names("r", 0, 11));
  EXPECT_EQ(again.stats().skipped, 0u);
}

TEST_F(JournalQueueTest, LinesThatDoNotDecodeAreSkippedAndCounted) {
  {
    JournalQueue q(dir_.path(), store_, fast());
    q.push(rec("a"));
  }
  append_raw(journal(), "not json\n" + encode(rec("b")) + "\n{\"v\":1}\n\n" +
                            std::string(3 << 20, 'x') + "\n" + encode(rec("c")) + "\n");
  JournalQueue q(dir_.path(), store_, fast());
  q.stop();
  EXPECT_EQ(ids(store_.records()), (std::vector<std::string>{"a", "b", "c"}));
  // "not json", {"v":1}, the empty line and the 3 MiB line (longer than one read).
  EXPECT_EQ(q.stats().skipped, 4u);
  EXPECT_EQ(q.stats().pending_bytes, 0);
}

TEST_F(JournalQueueTest, AJournalWithoutItsHeaderIsMovedAsideNotRead) {
  std::filesystem::create_directories(dir_ / "journal");
  test::write_file(journal(), encode(rec("foreign")) + "\n");
  JournalQueue q(dir_.path(), store_, fast());
  q.push(rec("mine"));
  q.stop();
  EXPECT_EQ(ids(store_.records()), (std::vector<std::string>{"mine"}));
  int aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "journal"))
    if (e.path().filename().string().starts_with("usage.journal.bad-")) {
      ++aside;
      EXPECT_EQ(test::read_file(e.path()), encode(rec("foreign")) + "\n");
    }
  EXPECT_EQ(aside, 1);
}

TEST_F(JournalQueueTest, AFailingStoreDelaysButLosesNothing) {
  store_.fail = true;
  JournalQueue q(dir_.path(), store_, fast());
  for (int i = 0; i < 5; ++i) q.push(rec("r" + std::to_string(i), i));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(store_.records().empty());
  EXPECT_GT(q.stats().pending_bytes, 0);
  store_.fail = false;
  EXPECT_TRUE(wait_until([&] { return store_.records().size() == 5; }));
  q.stop();
  EXPECT_EQ(ids(store_.records()), names("r", 0, 5));
}

// Memory holds at most held_records; the rest, and a batch whose delivery failed, are read back
// from the file, in order and once. Once caught up, the consumer takes from memory again.
TEST_F(JournalQueueTest, PastTheHeldLimitTheFileFillsTheGapInOrder) {
  JournalOptions o = fast();
  o.held_records = 3;
  store_.fail = true;
  JournalQueue q(dir_.path(), store_, o);
  for (int i = 0; i < 10; ++i) q.push(rec("r" + std::to_string(i), i));
  std::this_thread::sleep_for(30ms);  // a few failed deliveries
  store_.fail = false;
  // The queue's count, not the store's: the store has the records a moment before the queue
  // has counted them.
  ASSERT_TRUE(wait_until([&] { return q.stats().delivered == 10; }));
  EXPECT_EQ(ids(store_.records()), names("r", 0, 10));
  const std::uint64_t read_back = q.stats().read_back;
  EXPECT_GE(read_back, 7u);  // at most 3 were ever held
  EXPECT_LE(read_back, 10u);

  for (int i = 10; i < 13; ++i) q.push(rec("r" + std::to_string(i), i));
  q.stop();
  EXPECT_EQ(ids(store_.records()), names("r", 0, 13));
  EXPECT_EQ(q.stats().read_back, read_back);  // the last three from memory
  EXPECT_EQ(q.stats().delivered, 13u);
}

TEST_F(JournalQueueTest, RotationKeepsExactlyOnce) {
  JournalOptions o = fast();
  o.rotate_bytes = 4096;
  {
    JournalQueue q(dir_.path(), store_, o);
    for (int wave = 0; wave < 3; ++wave) {
      for (int i = 0; i < 300; ++i) q.push(rec("w" + std::to_string(wave * 300 + i)));
      EXPECT_TRUE(wait_until([&] { return q.stats().rotations > std::uint64_t(wave); }));
    }
    for (int i = 900; i < 1000; ++i) q.push(rec("w" + std::to_string(i)));
    q.stop();
    EXPECT_EQ(q.stats().delivered, 1000u);
  }
  EXPECT_EQ(ids(store_.records()), names("w", 0, 1000));
  // The current file starts where the rotated ones ended, and is small.
  const std::string text = test::read_file(journal());
  EXPECT_TRUE(text.starts_with(R"({"usage_journal":1,"base":)")) << text.substr(0, 80);
  EXPECT_LT(text.size(), 300u * 200);
  // A restart replays nothing.
  JournalQueue q(dir_.path(), store_, o);
  q.stop();
  EXPECT_EQ(store_.records().size(), 1000u);
  EXPECT_EQ(q.stats().delivered, 0u);
}

// A power loss took the journal's unsynced tail after its lines had been consumed: the store's
// offset is past the end of the file. New records must not be swallowed by that gap.
TEST_F(JournalQueueTest, AJournalBehindTheStoreStartsAfresh) {
  {
    JournalQueue q(dir_.path(), store_, fast());
    for (int i = 0; i < 3; ++i) q.push(rec("r" + std::to_string(i), i));
  }
  const auto size = std::filesystem::file_size(journal());
  std::filesystem::resize_file(journal(),
                               size - static_cast<std::uintmax_t>(line_bytes(rec("r2", 2))));
  JournalQueue q(dir_.path(), store_, fast());
  q.push(rec("r3", 3));
  q.stop();
  EXPECT_EQ(ids(store_.records()), names("r", 0, 4));
}

// The sink cannot be read at start (Redis down in a cluster): the queue opens anyway, and once
// the sink answers it delivers what was appended since, even past a power loss's gap.
TEST_F(JournalQueueTest, ASinkDownAtStartDelaysButLosesNothing) {
  {
    JournalQueue q(dir_.path(), store_, fast());
    for (int i = 0; i < 3; ++i) q.push(rec("r" + std::to_string(i), i));
  }
  const auto size = std::filesystem::file_size(journal());
  std::filesystem::resize_file(journal(),
                               size - static_cast<std::uintmax_t>(line_bytes(rec("r2", 2))));
  store_.fail_offset = true;
  store_.fail = true;
  {
    JournalQueue q(dir_.path(), store_, fast());
    for (int i = 3; i < 5; ++i) q.push(rec("r" + std::to_string(i), i));
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(store_.records().size(), 3u);
    store_.fail_offset = false;
    store_.fail = false;
    EXPECT_TRUE(wait_until([&] { return store_.records().size() == 5; }));
    q.stop();
    EXPECT_EQ(q.stats().delivered, 2u);
  }
  EXPECT_EQ(ids(store_.records()), names("r", 0, 5));
  // The sink's offset now describes this file: a restart replays nothing.
  JournalQueue q(dir_.path(), store_, fast());
  q.push(rec("r5", 5));
  q.stop();
  EXPECT_EQ(ids(store_.records()), names("r", 0, 6));
}

TEST_F(JournalQueueTest, FourThreadsPushingAtOnceLoseAndMixNothing) {
  JournalQueue q(dir_.path(), store_, fast());
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&q, t] {
      for (int i = 0; i < 2500; ++i)
        q.push(rec("t" + std::to_string(t) + "-" + std::to_string(i), i));
    });
  for (auto& th : threads) th.join();
  q.stop();
  auto got = store_.records();
  ASSERT_EQ(got.size(), 10'000u);
  EXPECT_EQ(q.stats().skipped, 0u);  // no two lines interleaved
  std::set<std::string> seen;
  for (const auto& r : got) {
    seen.insert(r.request_id);
    const std::string n = r.request_id.substr(r.request_id.find('-') + 1);
    EXPECT_EQ(r, rec(r.request_id, std::stoll(n)));
  }
  EXPECT_EQ(seen.size(), 10'000u);
}

// The real thing: a process pushes, is killed with SIGKILL at once (no stop, no flush), and the
// next start delivers every record it pushed, each once, into SQLite.
TEST_F(JournalQueueTest, KillNineLosesNoPushedRecord) {
  const std::string db = dir_ / "relay.db";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    store::SqliteUsageStore s(db);
    JournalQueue q(dir_.path(), s, fast());
    for (int i = 0; i < 3000; ++i) q.push(rec("k" + std::to_string(i), i));
    ::kill(::getpid(), SIGKILL);
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  store::SqliteUsageStore s(db);
  JournalQueue q(dir_.path(), s, fast());
  q.stop();
  EXPECT_EQ(ids(s.query({.limit = 10'000})), names("k", 0, 3000));
}

}  // namespace
}  // namespace relay::records

namespace relay::records {
namespace {

// Two processes on one data dir each write their own journal; the store keeps one offset per
// journal, and a second queue on a name in use is refused with JournalBusy.
TEST(JournalQueueNames, TwoJournalsShareOneStoreAndANameInUseIsBusy) {
  test::TempDir dir;
  store::SqliteUsageStore db(dir / "relay.db");
  JournalOptions a;
  a.name = "usage";
  a.sync_interval = a.consume_interval = std::chrono::milliseconds(5);
  JournalOptions b = a;
  b.name = "usage-2";
  JournalQueue qa(dir.path(), db, a);
  EXPECT_THROW(JournalQueue(dir.path(), db, a), JournalBusy);
  {
    store::SqliteUsageStore db2(dir / "relay.db");
    JournalQueue qb(dir.path(), db2, b);
    qb.push(rec("from-b", 2));
    qb.stop();
  }
  qa.push(rec("from-a", 1));
  qa.push(rec("from-a2", 3));
  qa.stop();
  auto got = db.query({.limit = 10});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].request_id, "from-a");
  EXPECT_EQ(got[1].request_id, "from-b");
  EXPECT_EQ(db.journal_offset("usage"), line_bytes(got[0]) + line_bytes(got[2]));
  EXPECT_EQ(db.journal_offset("usage-2"), line_bytes(got[1]));
}

}  // namespace
}  // namespace relay::records
